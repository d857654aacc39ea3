"""Registry operations: the rules of 004 §三 as plain functions that views, API, CLI and jobs call."""
from datetime import date, datetime, time, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import and_, bindparam, func, insert, or_, select, text, update
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from govmedia import audit
from govmedia.auth import (check_password_policy, end_all_sessions, hash_password,
                           require_roles, require_unit_access, scope_query)
from govmedia.errors import Invalid, NotFound, RuleConflict
from govmedia.extensions import db
from govmedia.holidays import due_date, forget_calendar, load_calendar
from govmedia.models import User
from govmedia.types import SHANGHAI, shanghai_date, today_shanghai

from .models import (COUNTED_STATUSES, Account, AccountCredential, AccountEvent, AccountStat,
                     Filing, PlatformException, Post, Unit)

# Which events each status allows; the target status of each event.
TRANSITIONS = {
    "change": ({"active", "closed"}, None),
    "close": ({"active"}, "closed"),
    "reopen": ({"closed"}, "active"),
    "deregister": ({"active", "closed"}, "deregistering"),
}
DORMANT_AFTER_DAYS = 10
WARNING_FROM_DAYS = 7


# --- units ---------------------------------------------------------------------------------

def validate_credit_code(code: str | None) -> str | None:
    """统一社会信用代码: 18 characters with a GB 32100-2015 check character."""
    if not code:
        return None
    try:
        return uscc.validate(code)
    except StdnumError as exc:
        raise Invalid(f"统一社会信用代码无效：{exc} (code: invalid unified social credit code)",
                      fields={"code": "invalid unified social credit code: " + str(exc)}) from None


def unit_snapshot(unit: Unit) -> dict:
    return {"name": unit.name, "code": unit.code, "parent_id": unit.parent_id,
            "leader": unit.leader, "deputy_leader": unit.deputy_leader, "office": unit.office,
            "contacts": unit.contacts or []}


def _check_parent(unit_id: int | None, parent_id: int | None) -> None:
    if parent_id is None:
        return
    parent = db.session.get(Unit, parent_id)
    if parent is None:
        raise Invalid("上级单位不存在 (parent unit not found)", fields={"parent_id": "not found"})
    seen = set()
    while parent is not None:
        if unit_id is not None and parent.id == unit_id:
            raise Invalid("上级单位不能是本单位或其下级 (parent would form a cycle)",
                          fields={"parent_id": "would form a cycle"})
        if parent.id in seen:
            break
        seen.add(parent.id)
        parent = parent.parent


def save_unit(actor: User, data, unit: Unit | None = None) -> Unit:
    """Create a unit, or update one; admins and supervisors only."""
    require_roles(actor, "supervisor")
    code = validate_credit_code(data.code)
    if code:
        clash = db.session.scalar(select(Unit).where(Unit.code == code))
        if clash is not None and clash is not unit:
            raise RuleConflict(f"该统一社会信用代码已登记为“{clash.name}” (code already registered)",
                               code="code_taken", extra={"conflicting_unit_id": clash.id})
    _check_parent(unit.id if unit else None, data.parent_id)
    before = unit_snapshot(unit) if unit else None
    if unit is None:
        unit = Unit()
        db.session.add(unit)
    unit.name = data.name
    unit.code = code
    unit.parent_id = data.parent_id
    unit.leader = data.leader or None
    unit.deputy_leader = data.deputy_leader or None
    unit.office = data.office or None
    unit.contacts = [c.model_dump() for c in data.contacts]
    db.session.flush()
    audit.record("unit.update" if before else "unit.create", "unit", unit.id, before=before,
                 after=unit_snapshot(unit), unit_id=unit.id, user=actor)
    return unit


def get_unit(actor: User, unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在 (unit not found)")
    require_unit_access(actor, unit.id)
    return unit


def add_platform_exception(actor: User, unit: Unit, platform: str, reason: str):
    require_roles(actor, "supervisor")
    existing = db.session.scalar(select(PlatformException).where(
        PlatformException.unit_id == unit.id, PlatformException.platform == platform))
    before = {"reason": existing.reason} if existing else None
    if existing is None:
        existing = PlatformException(unit_id=unit.id, platform=platform)
        db.session.add(existing)
    existing.reason = reason
    existing.created_by_id = actor.id
    db.session.flush()
    audit.record("unit.platform_exception", "unit", unit.id, before=before,
                 after={"platform": platform, "reason": reason}, unit_id=unit.id, user=actor)
    return existing


# --- users ---------------------------------------------------------------------------------

NEEDS_UNIT = {"sponsor", "editor", "reviewer", "signer", "source"}


def user_snapshot(user: User) -> dict:
    return {"username": user.username, "roles": list(user.roles or []), "unit_id": user.unit_id,
            "active": user.active, "display_name": user.display_name}


def _check_roles_unit(roles: list[str], unit_id: int | None) -> None:
    if unit_id is not None and db.session.get(Unit, unit_id) is None:
        raise Invalid("单位不存在 (unit not found)", fields={"unit_id": "not found"})
    if unit_id is None and NEEDS_UNIT.intersection(roles):
        raise Invalid("该角色须归属于一个单位 (these roles are scoped to a unit)",
                      fields={"unit_id": "required for roles " + ", ".join(
                          sorted(NEEDS_UNIT.intersection(roles)))})


def create_user(actor: User, data) -> User:
    require_roles(actor)  # admin only
    if db.session.scalar(select(User).where(User.username == data.username)):
        raise RuleConflict("用户名已存在 (username taken)", code="username_taken",
                           fields={"username": "already taken"})
    check_password_policy(data.password)
    roles = sorted(set(data.roles))
    _check_roles_unit(roles, data.unit_id)
    user = User(username=data.username, password_hash=hash_password(data.password), roles=roles,
                unit_id=data.unit_id, display_name=data.display_name, active=True,
                session_version=1)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, after=user_snapshot(user), unit_id=user.unit_id,
                 user=actor)
    return user


def update_user(actor: User, user: User, data) -> User:
    require_roles(actor)
    before = user_snapshot(user)
    fields = data.model_fields_set
    roles = sorted(set(data.roles)) if data.roles is not None else list(user.roles or [])
    unit_id = data.unit_id if "unit_id" in fields else user.unit_id
    _check_roles_unit(roles, unit_id)
    if user.id == actor.id and (("active" in fields and data.active is False)
                                or "admin" not in roles):
        raise Invalid("不能停用自己或取消自己的管理员角色 (you cannot lock yourself out)",
                      fields={"active" if "active" in fields else "roles": "would lock you out"})
    user.roles = roles
    user.unit_id = unit_id
    if "display_name" in fields:
        user.display_name = data.display_name
    ends_sessions = False
    if data.password is not None:
        check_password_policy(data.password)
        user.password_hash = hash_password(data.password)
        ends_sessions = True
    if "active" in fields and data.active is not None:
        if user.active and not data.active:
            ends_sessions = True
        user.active = data.active
    if before["roles"] != roles or before["unit_id"] != unit_id:
        # A changed role or unit takes effect on the next request anyway (permissions are read
        # per request); tokens of a moved user are ended so nothing acts for the old unit.
        ends_sessions = ends_sessions or before["unit_id"] != unit_id
    if ends_sessions:
        end_all_sessions(user)
    db.session.flush()
    after = user_snapshot(user)
    if data.password is not None:
        after["password"] = "reset"
    audit.record("user.update", "user", user.id, before=before, after=after,
                 unit_id=user.unit_id, user=actor)
    return user


# --- accounts ------------------------------------------------------------------------------

def account_snapshot(account: Account) -> dict:
    return {"unit_id": account.unit_id, "platform": account.platform, "name": account.name,
            "handle": account.handle, "status": account.status, "opened_on": account.opened_on,
            "reopened_on": account.reopened_on, "verified_subject": account.verified_subject,
            "verification_expires_on": account.verification_expires_on,
            "office": account.office, "staff": account.staff or []}


def units_query(actor: User):
    """The units this user may see (everything for admins and supervisors)."""
    return scope_query(select(Unit), Unit.id, actor)


def accounts_query(actor: User, *, unit_id=None, platform=None, status=None):
    """Accounts this user may see, filtered; asking for another unit's is 403."""
    query = scope_query(select(Account), Account.unit_id, actor, unit_id)
    if platform:
        query = query.where(Account.platform == platform)
    if status:
        query = query.where(Account.status == status)
    return query


def get_account(actor: User, account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFound("账号不存在 (account not found)")
    require_unit_access(actor, account.unit_id)
    return account


def _lock_unit(unit_id: int) -> Unit | None:
    # Serialise registrations per unit on PostgreSQL so two requests cannot both pass the
    # one-per-platform check (SQLite already serialises writers).
    return db.session.get(Unit, unit_id, with_for_update=True)


def _lock_handle(platform: str, handle: str) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                           {"k": f"handle:{platform}:{handle}"})


def check_one_per_platform(unit_id: int, platform: str, exclude_id: int | None = None) -> None:
    """Rule 3: at most one counted account per unit and platform, unless excepted."""
    if platform == "other":
        return
    query = select(Account.id).where(Account.unit_id == unit_id, Account.platform == platform,
                                     Account.status.in_(COUNTED_STATUSES))
    if exclude_id is not None:
        query = query.where(Account.id != exclude_id)
    existing = db.session.scalar(query.order_by(Account.id).limit(1))
    if existing is None:
        return
    excepted = db.session.scalar(select(PlatformException.id).where(
        PlatformException.unit_id == unit_id, PlatformException.platform == platform))
    if excepted is None:
        raise RuleConflict(
            f"该单位在此平台已有账号（编号 {existing}），一个单位在同一平台原则上只能开设一个账号 "
            f"(the unit already has account {existing} on this platform)",
            code="one_account_per_platform", extra={"conflicting_account_id": existing})


def check_handle_free(platform: str, handle: str, exclude_id: int | None = None) -> None:
    query = select(Account.id).where(Account.platform == platform, Account.handle == handle,
                                     Account.status != "deregistered")
    if exclude_id is not None:
        query = query.where(Account.id != exclude_id)
    existing = db.session.scalar(query.limit(1))
    if existing is not None:
        raise RuleConflict(f"该平台账号ID“{handle}”已登记（账号编号 {existing}） "
                           f"(handle already registered)", code="handle_taken",
                           extra={"conflicting_account_id": existing})


def naming_warnings(unit: Unit, platform: str, name: str, verified_subject: str | None,
                    handle: str, exclude_id: int | None = None) -> list[dict]:
    """Rule 2 warnings, and handles that do not look like the platform's permanent id."""
    warnings = []
    if verified_subject and verified_subject.strip() != unit.name.strip():
        warnings.append({"code": "verified_subject_mismatch",
                         "message": f"认证主体“{verified_subject}”与主办单位名称“{unit.name}”不一致"})
    others = db.session.execute(select(Account.platform, Account.name).where(
        Account.unit_id == unit.id, Account.status.in_(COUNTED_STATUSES),
        Account.platform != platform, Account.id != (exclude_id or 0))).all()
    differing = sorted({n for _p, n in others if n != name})
    if differing:
        warnings.append({"code": "name_differs_across_platforms",
                         "message": "同一单位在不同平台的账号名称原则上应一致：" + "、".join(differing)})
    if platform == "wechat" and not handle.startswith("gh_"):
        warnings.append({"code": "handle_format",
                         "message": "微信账号ID应为原始ID（gh_ 开头），而非微信号"})
    if platform == "weibo" and not handle.isdigit():
        warnings.append({"code": "handle_format", "message": "微博账号ID应为数字 UID"})
    return warnings


def prerequisite_warnings(account: Account) -> list[dict]:
    messages = {"missing_office": "未登记管理科室（开设条件：有管理机构）",
                "missing_staff": "未登记管理人员（开设条件：有专职人员）"}
    return [{"code": flag, "message": messages[flag]} for flag in account.flags]


def register_account(actor: User, data) -> tuple[Account, list[dict]]:
    """Register an account and its opening filing; refuse a second account on a platform."""
    require_roles(actor, "sponsor")
    require_unit_access(actor, data.unit_id)
    unit = _lock_unit(data.unit_id)
    if unit is None:
        raise Invalid("单位不存在 (unit not found)", fields={"unit_id": "not found"})
    _lock_handle(data.platform, data.handle)
    check_handle_free(data.platform, data.handle)
    check_one_per_platform(unit.id, data.platform)
    if data.filing_reference and not data.filed_on:
        raise Invalid("填写备案编号时须同时填写备案日期", fields={"filed_on": "required with filing_reference"})
    if data.filed_on and data.filed_on < data.opened_on:
        raise Invalid("备案日期不能早于开设日期", fields={"filed_on": "before opened_on"})
    warnings = naming_warnings(unit, data.platform, data.name, data.verified_subject, data.handle)
    account = Account(unit_id=unit.id, platform=data.platform, name=data.name, handle=data.handle,
                      status="active", opened_on=data.opened_on,
                      verified_subject=data.verified_subject,
                      verification_expires_on=data.verification_expires_on,
                      office=data.office or None, staff=[s.model_dump() for s in data.staff])
    db.session.add(account)
    db.session.flush()
    warnings += prerequisite_warnings(account)
    event = AccountEvent(account_id=account.id, kind="open", event_date=data.opened_on,
                         reason="", created_by_id=actor.id)
    db.session.add(event)
    db.session.flush()
    filing = _create_filing(account, event)
    if data.filed_on:
        filing.filed_on = data.filed_on
        filing.reference = data.filing_reference
        filing.completed_by_id = actor.id
    db.session.flush()
    audit.record("account.open", "account", account.id, after=account_snapshot(account),
                 unit_id=account.unit_id, user=actor)
    return account, warnings


def _create_filing(account: Account, event: AccountEvent) -> Filing:
    due, provisional = due_date(event.event_date)
    filing = Filing(account_id=account.id, event_id=event.id, unit_id=account.unit_id,
                    event=event.kind, event_date=event.event_date, due_on=due,
                    provisional=provisional)
    db.session.add(filing)
    return filing


def record_event(actor: User, account: Account, data):
    """change / close / reopen / deregister: each one filed within 5 working days (rule 4)."""
    from notices.services import open_notice

    require_roles(actor, "sponsor")
    require_unit_access(actor, account.unit_id)
    allowed, target = TRANSITIONS[data.kind]
    if account.status not in allowed:
        raise RuleConflict(f"账号当前状态为“{account.status}”，不能进行此操作 "
                           f"({data.kind} is not allowed while the account is {account.status})",
                           code="invalid_transition")
    if data.event_date < account.opened_on:
        raise Invalid("事件日期不能早于开设日期 (event_date is before the account opened)",
                      fields={"event_date": "before opened_on " + account.opened_on.isoformat()})
    before = account_snapshot(account)
    changes = {}
    if data.kind == "change":
        requested = data.changes.model_dump(exclude_none=True) if data.changes else {}
        requested = {k: v for k, v in requested.items() if v != getattr(account, k)}
        if not requested:
            raise Invalid("变更须至少修改名称、账号ID或主办单位之一 (a change needs name, handle or unit_id)",
                          fields={"changes": "name, handle or unit_id must differ"})
        if "unit_id" in requested:
            receiving = _lock_unit(requested["unit_id"])
            if receiving is None:
                raise Invalid("接收单位不存在", fields={"changes.unit_id": "not found"})
            # A transfer moves the account out of the sender's hands: the sender's sponsor
            # records it, and the receiving unit's one-per-platform rule applies.
            check_one_per_platform(receiving.id, account.platform, exclude_id=account.id)
        if "handle" in requested:
            _lock_handle(account.platform, requested["handle"])
            check_handle_free(account.platform, requested["handle"], exclude_id=account.id)
        for key, value in requested.items():
            changes[key] = [getattr(account, key), value]
            setattr(account, key, value)
    if target:
        account.status = target
    if data.kind == "reopen":
        account.reopened_on = data.event_date
    event = AccountEvent(account_id=account.id, kind=data.kind, event_date=data.event_date,
                         reason=data.reason or "", changes=changes or None,
                         created_by_id=actor.id)
    db.session.add(event)
    db.session.flush()
    filing = _create_filing(account, event)
    notice = None
    if (data.kind == "deregister" or (data.kind == "change" and changes)
            or (data.kind == "close" and getattr(data, "publish_notice", True))):
        notice = open_notice(account, event, before, details=data, actor=actor)
    db.session.flush()
    audit.record(f"account.{data.kind}", "account", account.id, before=before,
                 after=account_snapshot(account) | {"event_date": data.event_date,
                                                    "reason": data.reason},
                 unit_id=account.unit_id, user=actor)
    return event, filing, notice


def complete_filing(actor: User, filing: Filing, filed_on: date, reference: str) -> Filing:
    require_roles(actor, "sponsor")
    require_unit_access(actor, filing.unit_id)
    if filed_on < filing.event_date:
        raise Invalid("备案日期不能早于事件日期 (filed_on is before the event date)",
                      fields={"filed_on": "before event_date " + filing.event_date.isoformat()})
    before = {"filed_on": filing.filed_on, "reference": filing.reference}
    filing.filed_on = filed_on
    filing.reference = reference
    filing.completed_by_id = actor.id
    db.session.flush()
    audit.record("filing.complete", "filing", filing.id, before=before,
                 after={"filed_on": filed_on, "reference": reference},
                 unit_id=filing.unit_id, user=actor)
    return filing


def get_filing(actor: User, filing_id: int) -> Filing:
    filing = db.session.get(Filing, filing_id)
    if filing is None:
        raise NotFound("备案记录不存在 (filing not found)")
    require_unit_access(actor, filing.unit_id)
    return filing


def filing_status_clause(status: str, as_of: date):
    """The SQL form of Filing.status_on, so lists filter and page in the database."""
    not_filed = or_(Filing.filed_on.is_(None), Filing.filed_on > as_of)
    filed = Filing.filed_on <= as_of
    return {
        "pending": and_(not_filed, Filing.due_on >= as_of),
        "overdue": and_(not_filed, Filing.due_on < as_of),
        "filed": and_(filed, Filing.filed_on <= Filing.due_on),
        "late": and_(filed, Filing.filed_on > Filing.due_on),
    }[status]


def filings_query(actor: User, *, status=None, unit_id=None, account_id=None, as_of: date):
    query = scope_query(select(Filing), Filing.unit_id, actor, unit_id)
    if account_id is not None:
        query = query.where(Filing.account_id == account_id)
    if status:
        query = query.where(filing_status_clause(status, as_of))
    return query


def recompute_deadlines(year: int) -> int:
    """After an admin enters a year's schedule, recompute every deadline it can touch."""
    from notices.models import Notice

    forget_calendar()
    calendar = load_calendar()
    # Five working days never span more than a month, even across Spring Festival.
    start, end = date(year - 1, 12, 1), date(year, 12, 31)
    changed = 0
    for filing in db.session.scalars(select(Filing).where(Filing.event_date >= start,
                                                          Filing.event_date <= end)):
        due, provisional = calendar.add_workdays(filing.event_date, 5)
        if (due, provisional) != (filing.due_on, filing.provisional):
            filing.due_on, filing.provisional = due, provisional
            changed += 1
    for notice in db.session.scalars(select(Notice).where(Notice.starts_on >= date(year - 1, 11, 1),
                                                          Notice.starts_on <= end)):
        ends, provisional = calendar.add_workdays(notice.starts_on, 15)
        if (ends, provisional) != (notice.ends_on, notice.provisional):
            notice.ends_on, notice.provisional = ends, provisional
            changed += 1
    db.session.flush()
    current_app.logger.info("holiday schedule for %s entered: %s deadlines recomputed", year,
                            changed)
    return changed


# --- updates, audience, credentials -----------------------------------------------------

def record_post(actor: User, account: Account, published_at: datetime, title: str,
                url: str | None, source: str = "api") -> Post:
    require_roles(actor, "sponsor", "editor")
    require_unit_access(actor, account.unit_id)
    return add_post(account, published_at, title, url, source, created_by_id=actor.id)


def add_post(account: Account, published_at: datetime, title: str, url: str | None,
             source: str = "api", created_by_id: int | None = None) -> Post:
    """Record an update of the account (rule 5) and its derived figures at once, without a
    permission check (the delivery job records its posts with record_delivered_post)."""
    if db.session.get_bind().dialect.name == "postgresql":
        # Writers of the shared daily counters (supervision_unit_days, _day_totals) take their
        # rows in different orders; serialised with the batch applier's lock, taken before the
        # post's row locks the account, they cannot deadlock (tests/test_load.py found them).
        from .supervision.services import _APPLY_LOCK

        db.session.execute(select(func.pg_advisory_xact_lock(_APPLY_LOCK)))
    post = Post(account_id=account.id, published_at=published_at, title=title, url=url,
                source=source, created_by_id=created_by_id)
    db.session.add(post)
    db.session.flush()
    from .supervision.services import posts_recorded

    posts_recorded(account, [published_at])  # derived update gaps and daily counts (rule 5)
    # Last: the account row is what concurrent posts to one account wait for, so its lock is
    # taken as late as possible. A conditional UPDATE, not read-modify-write: a concurrent
    # writer (a delivery job) may have recorded a later post since this row was loaded.
    db.session.execute(_delivered_post_statements()[1],
                       {"account_id": account.id, "at": published_at})
    db.session.expire(account, ["last_post_at", "updated_at"])
    return post


@cache
def _delivered_post_statements():
    posts, accounts = Post.__table__, Account.__table__
    add = insert(posts).values(account_id=bindparam("account_id"), published_at=bindparam("at"),
                               title=bindparam("title"), url=bindparam("url"),
                               source="publisher", counted=False, created_at=bindparam("at"))
    latest = (update(accounts).where(accounts.c.id == bindparam("account_id"),
                                     or_(accounts.c.last_post_at.is_(None),
                                         accounts.c.last_post_at < bindparam("at")))
              .values(last_post_at=bindparam("at")))
    return add, latest


def record_delivered_post(connection, account_id: int, published_at: datetime, title: str,
                          url: str | None) -> None:
    """The delivery job's update of an account (rule 5), in the caller's transaction: the post
    and the account's last update, two prebuilt statements. The post is recorded uncounted;
    supervision's derived figures take it in a batch (registry.supervision.services
    .apply_new_posts), which every reader of those figures runs first."""
    add, latest = _delivered_post_statements()
    values = {"account_id": account_id, "at": published_at, "title": (title or "")[:500],
              "url": url}
    connection.execute(add, values)
    connection.execute(latest, values)


def record_stats(actor: User, account: Account, as_of: date, followers: int, reads):
    require_roles(actor, "sponsor")
    require_unit_access(actor, account.unit_id)
    stat = db.session.scalar(select(AccountStat).where(AccountStat.account_id == account.id,
                                                       AccountStat.as_of == as_of))
    if stat is None:
        stat = AccountStat(account_id=account.id, as_of=as_of)
        db.session.add(stat)
    stat.followers, stat.reads = followers, reads
    if account.stats_on is None or as_of >= account.stats_on:  # latest figures, for rule 3
        account.followers, account.reads, account.stats_on = followers, reads, as_of
    db.session.flush()
    return stat


def set_credentials(actor: User, account: Account, payload: dict) -> None:
    from govmedia.secrets import encrypt

    require_roles(actor, "sponsor")
    require_unit_access(actor, account.unit_id)
    row = db.session.get(AccountCredential, account.id)
    if row is None:
        row = AccountCredential(account_id=account.id)
        db.session.add(row)
    row.ciphertext = encrypt(payload)
    row.token_expired = False
    db.session.flush()
    audit.record("account.credentials", "account", account.id, after={"fields": sorted(payload)},
                 unit_id=account.unit_id, user=actor)


def last_update_on(account: Account, as_of: date) -> date:
    """Rule 5: the last post on or before as_of (Shanghai days), else opening or reopening."""
    end = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=SHANGHAI)
    if account.last_post_at is not None and account.last_post_at < end:
        last_post = account.last_post_at
    else:
        last_post = db.session.scalar(select(func.max(Post.published_at)).where(
            Post.account_id == account.id, Post.published_at < end))
        if last_post is not None and last_post.tzinfo is None:
            from datetime import timezone

            last_post = last_post.replace(tzinfo=timezone.utc)
    candidates = [d for d in (account.opened_on, account.reopened_on) if d and d <= as_of]
    if last_post is not None:
        candidates.append(shanghai_date(last_post))
    return max(candidates) if candidates else account.opened_on


def dormancy(account: Account, as_of: date | None = None) -> dict:
    as_of = as_of or today_shanghai()
    last = last_update_on(account, as_of)
    days = (as_of - last).days
    band = None
    if account.status == "active":
        if days > DORMANT_AFTER_DAYS:
            band = "dormant"
        elif days >= WARNING_FROM_DAYS:
            band = "warning"
    return {"last_update_on": last, "days_since_update": days, "band": band,
            "dormant": band == "dormant"}
