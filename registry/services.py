"""Registry operations: the rules of 004 §三 as plain functions that views, API, CLI and jobs call.

Units and accounts here; the rules over many rows in registry/checks.py, filings in
registry/filings.py, posts and dormancy in registry/posts.py, users in the core
(govmedia/users.py). Public notices sit above the registry: notices.services records a
lifecycle event with its notice.
"""
import logging
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import func, select, text, update

from govmedia import audit
from govmedia.auth import (forget_unit_reach, get_in_unit, reaches_all_units, reaches_unit,
                           require_roles, require_unit_access, scope_query, subtree_ids,
                           visible_unit_ids)
from govmedia.errors import Forbidden, Invalid, RuleConflict
from govmedia.extensions import db
from govmedia.listing import Sort, search, sorted_by
from govmedia.models import User
from govmedia.secrets import encrypt
from govmedia.types import today_shanghai, utcnow

from . import apps, wechat
from .changes import account_changed
from .checks import (check_handle_free, check_not_future, check_one_per_platform,
                     check_unit_name_free,
                     opening_filing_problems, validate_credit_code)
from .filings import create_filing
from .labels import N_, label
from .models import (COUNTED_STATUSES, STATUSES, Account, AccountCredential, AccountEvent,
                     Filing, PlatformException, Unit)
from .schemas import UnitIn
# The post and dormancy functions live in registry.posts; callers reach them here too.
from .posts import dormancy, last_update_on, record_post, record_post_as, record_stats  # noqa: F401

log = logging.getLogger(__name__)

# Which events each status allows; the target status of each event.
TRANSITIONS = {
    "change": ({"active", "closed"}, None),
    "close": ({"active"}, "closed"),
    "reopen": ({"closed"}, "active"),
    "deregister": ({"active", "closed"}, "deregistering"),
}


# --- units ---------------------------------------------------------------------------------

def unit_snapshot(unit: Unit) -> dict:
    return {"name": unit.name, "code": unit.code, "parent_id": unit.parent_id,
            "leader": unit.leader, "deputy_leader": unit.deputy_leader, "office": unit.office,
            "contacts": unit.contacts or []}


def _check_parent(actor: User, unit: Unit | None, parent_id: int | None) -> None:
    """A new or changed parent must be in the actor's reach (a unit at the top only for those
    who reach every unit) and must not lie in the unit's own subtree (a cycle)."""
    if unit is not None and parent_id == unit.parent_id:
        return
    if parent_id is None:
        if not reaches_all_units(actor):
            raise Forbidden(_("Only a supervisor of every unit may place a unit at the top"),
                            fields={"parent_id": "required: a unit within your reach"})
        return
    if db.session.get(Unit, parent_id) is None:
        raise Invalid(_("Parent unit not found"), fields={"parent_id": "not found"})
    # One change of parent at a time: two crossing moves could each pass the cycle check.
    db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('units:tree'))"))
    if not reaches_unit(actor, parent_id):
        raise Forbidden(_("The parent unit is outside your units"),
                        fields={"parent_id": "outside your units"})
    if unit is not None and parent_id in subtree_ids(unit.id):
        raise Invalid(_("The parent unit cannot be this unit or one below it"),
                      fields={"parent_id": "would form a cycle"})


def save_unit(actor: User, data, unit: Unit | None = None) -> Unit:
    """Create a unit, or update one (a new parent moves it, with its subtree, accounts and
    users); admins and supervisors only, within their reach."""
    require_roles(actor, "supervisor")
    if unit is not None:
        require_unit_access(actor, unit.id)
    code = validate_credit_code(data.code)
    if code:
        clash = db.session.scalar(select(Unit).where(Unit.code == code))
        if clash is not None and clash is not unit:
            raise RuleConflict(_("This credit code is already registered for %(name)s",
                                 name=clash.name),
                               code="code_taken", extra={"conflicting_unit_id": clash.id})
    _check_parent(actor, unit, data.parent_id)
    check_unit_name_free(data.name, data.parent_id, exclude_id=unit.id if unit else None)
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
    forget_unit_reach()
    moved = before is not None and before["parent_id"] != unit.parent_id
    action = "unit.move" if moved else "unit.update" if before else "unit.create"
    audit.record(action, "unit", unit.id, before=before, after=unit_snapshot(unit),
                 unit_id=unit.id, user=actor)
    return unit


def patch_unit(actor: User, unit: Unit, data) -> Unit:
    """Change only the fields given (PATCH): a parent_id alone re-parents the unit."""
    given = {k: v for k, v in data.model_dump(exclude_unset=True).items()
             if not (k == "contacts" and v is None)}
    current = UnitIn(**{**unit_snapshot(unit), **given})
    return save_unit(actor, current, unit)


def get_unit(actor: User, unit_id: int) -> Unit:
    return get_in_unit(actor, Unit, unit_id, _("Unit not found"), unit_of=lambda unit: unit.id)


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


UNIT_SORTS = {"name": Unit.name_sort, "code": Unit.code, "id": Unit.id}
ACCOUNT_SORTS = {"id": Account.id, "name": Account.name_sort, "platform": Account.platform,
                 "handle": Account.handle, "status": Account.status,
                 "opened_on": Account.opened_on, "unit": [Account.unit_id, Account.platform]}


def units_list_query(actor: User, q: str = "", sort: Sort | None = None):
    """The units list: searched by name, in natural order ("第9" before "第99") by default."""
    query = search(units_query(actor), q, Unit.name)
    return sorted_by(query, sort or Sort("name", False), UNIT_SORTS, Unit.id)


def unit_filter_choices(actor: User, limit: int) -> list[tuple[int, str]] | None:
    """(id, name) of the units in sight, by name, for a list's filter; None when there are
    more than `limit` (the page then asks for part of the unit's name instead)."""
    rows = db.session.execute(scope_query(select(Unit.id, Unit.name), Unit.id, actor)
                              .order_by(Unit.name_sort, Unit.id).limit(limit + 1)).all()
    return None if len(rows) > limit else [tuple(row) for row in rows]


def visible_units(actor: User) -> list[Unit]:
    return db.session.scalars(units_query(actor).order_by(Unit.name, Unit.id)).all()


def reaches_several_units(actor) -> bool:
    units = visible_unit_ids(actor)
    return units is None or len(units) > 1


# A drop-down of units up to this many; beyond it the unit id is typed (a province: 5,000).
UNIT_CHOICES_MAX = 300


def unit_choices(actor, limit: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of every unit in the actor's reach, by name, for a drop-down: only for those
    who reach more than their own unit, and none when there are more than `limit` (the unit id
    is typed instead)."""
    units = visible_unit_ids(actor)
    if units is not None and len(units) < 2:
        return []
    query = select(Unit.id, Unit.name).order_by(Unit.name)
    if units is not None:
        query = query.where(Unit.id.in_(units))
    if limit is not None:
        query = query.limit(limit + 1)
    rows = [tuple(row) for row in db.session.execute(query).all()]
    return [] if limit is not None and len(rows) > limit else rows


def all_units() -> list[Unit]:
    return db.session.scalars(select(Unit).order_by(Unit.name, Unit.id)).all()


def unit_names(unit_ids) -> dict[int, str]:
    unit_ids = set(unit_ids)
    if not unit_ids:
        return {}
    return dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).all())


def counted_accounts_by_unit(unit_ids=None) -> dict[int, int]:
    """Counted accounts per unit: every unit's, or only those of `unit_ids` (one page)."""
    query = select(Account.unit_id, func.count()).where(Account.status.in_(COUNTED_STATUSES))
    if unit_ids is not None:
        query = query.where(Account.unit_id.in_(list(unit_ids)))
    return dict(db.session.execute(query.group_by(Account.unit_id)).all())


def accounts_by_status(actor: User) -> dict[str, int]:
    """Every status with the number of accounts this user may see in it."""
    query = scope_query(select(Account.status, func.count()), Account.unit_id, actor)
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(dict(db.session.execute(query.group_by(Account.status)).all()))
    return counts


def unit_relations(unit: Unit) -> dict:
    """What a unit's page lists: its people, its platform exceptions, the units below it."""
    return {
        "people": db.session.scalars(select(User).where(User.unit_id == unit.id)
                                     .order_by(User.username)).all(),
        "exceptions": db.session.scalars(select(PlatformException)
                                         .where(PlatformException.unit_id == unit.id)
                                         .order_by(PlatformException.platform)).all(),
        "children": db.session.scalars(select(Unit).where(Unit.parent_id == unit.id)
                                       .order_by(Unit.name)).all(),
    }


def accounts_query(actor: User, *, unit_id=None, platform=None, status=None, q: str = "",
                   unit_q: str = ""):
    """Accounts this user may see, filtered (q: in the name or the handle; unit_q: in the
    unit's name); asking for another unit's is 403."""
    query = search(scope_query(select(Account), Account.unit_id, actor, unit_id), q,
                   Account.name, Account.handle)
    if (unit_q or "").strip():
        query = query.where(Account.unit_id.in_(search(select(Unit.id), unit_q, Unit.name)))
    if platform:
        query = query.where(Account.platform == platform)
    if status:
        query = query.where(Account.status == status)
    return query


def get_account(actor: User, account_id: int) -> Account:
    return get_in_unit(actor, Account, account_id, _("Account not found"))


def _lock_unit(unit_id: int) -> Unit | None:
    # Serialise registrations per unit so two requests cannot both pass the one-per-platform
    # check.
    return db.session.get(Unit, unit_id, with_for_update=True)


def _lock_handle(platform: str, handle: str) -> None:
    db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                       {"k": f"handle:{platform}:{handle}"})


def naming_warnings(unit: Unit, platform: str, name: str, verified_subject: str | None,
                    handle: str, exclude_id: int | None = None) -> list[dict]:
    """Rule 2 warnings, and handles that do not look like the platform's permanent id, each
    with its message in the reader's language (the API: Accept-Language)."""
    warnings = []
    if verified_subject and verified_subject.strip() != unit.name.strip():
        warnings.append({"code": "verified_subject_mismatch", "message": _(
            "The verified subject “%(subject)s” differs from the sponsor unit's name "
            "“%(unit)s”", subject=verified_subject, unit=unit.name)})
    others = db.session.execute(select(Account.platform, Account.name).where(
        Account.unit_id == unit.id, Account.status.in_(COUNTED_STATUSES),
        Account.platform != platform, Account.id != (exclude_id or 0))).all()
    differing = sorted({n for _p, n in others if n != name})
    if differing:
        warnings.append({"code": "name_differs_across_platforms", "message": _(
            "A unit's accounts on different platforms should in principle have one name: "
            "%(names)s", names=_("; ").join(differing)), "names": differing})
    if platform == "wechat" and not handle.startswith("gh_"):
        warnings.append({"code": "handle_format", "message": _(
            "A WeChat account's ID is its original ID (starting with gh_), not its WeChat "
            "name")})
    if platform == "weibo" and not handle.isdigit():
        warnings.append({"code": "handle_format",
                         "message": _("A Weibo account's ID is its numeric UID")})
    return warnings


def prerequisite_warnings(account: Account) -> list[dict]:
    messages = {"missing_office": N_("No managing office recorded (an opening condition: a "
                                     "managing body)"),
                "missing_staff": N_("No staff recorded (an opening condition: dedicated "
                                    "staff)"),
                "missing_app_filing": N_("The mobile client has no filing number with the "
                                         "cyberspace administration.")}
    return [{"code": flag, "message": _(messages[flag])} for flag in account.flags]


def register_account(actor: User, data) -> tuple[Account, list[dict]]:
    """Register an account and its opening filing; refuse a second account on a platform."""
    require_roles(actor, "sponsor")
    require_unit_access(actor, data.unit_id)
    unit = _lock_unit(data.unit_id)
    if unit is None:
        raise Invalid(_("Unit not found"), fields={"unit_id": "not found"})
    _lock_handle(data.platform, data.handle)
    check_handle_free(data.platform, data.handle)
    check_one_per_platform(unit.id, data.platform)
    today = today_shanghai()
    check_not_future(today, opened_on=data.opened_on, filed_on=data.filed_on)
    problems = opening_filing_problems(data.opened_on, data.filed_on, data.filing_reference,
                                       today)
    if problems.get("filed_on") == "required":
        raise Invalid(_("A filing reference needs its filing date"),
                      fields={"filed_on": "required with filing_reference"})
    if problems.get("filed_on") == "before_opened_on":
        raise Invalid(_("The filing date cannot be before the opening date"),
                      fields={"filed_on": "before opened_on"})
    warnings = naming_warnings(unit, data.platform, data.name, data.verified_subject, data.handle)
    account = Account(unit_id=unit.id, platform=data.platform, name=data.name, handle=data.handle,
                      status="active", opened_on=data.opened_on,
                      verified_subject=data.verified_subject,
                      verification_expires_on=data.verification_expires_on,
                      office=data.office or None, staff=[s.model_dump() for s in data.staff])
    apps.set_details(account, data.app_filing_number, data.app_version)
    wechat.set_options(account, data.wechat_mode, data.wechat_type)
    db.session.add(account)
    db.session.flush()
    account_changed(account, None)  # the outbox that supervision's figures follow
    warnings += prerequisite_warnings(account)
    event = AccountEvent(account_id=account.id, kind="open", event_date=data.opened_on,
                         reason="", created_by_id=actor.id)
    db.session.add(event)
    db.session.flush()
    filing = create_filing(account, event)
    if data.filed_on:
        filing.filed_on = data.filed_on
        filing.reference = data.filing_reference
        filing.completed_by_id = actor.id
    db.session.flush()
    audit.record("account.open", "account", account.id,
                 after=account_snapshot(account) | apps.snapshot(account)
                 | wechat.snapshot(account),
                 unit_id=account.unit_id, user=actor)
    return account, warnings


class RecordedEvent(NamedTuple):
    event: AccountEvent
    filing: Filing
    before: dict       # the account's snapshot before the event (its public notice needs it)
    changes: dict      # field -> [before, after] of a change


def record_account_event(actor: User, account: Account, data) -> RecordedEvent:
    """change / close / reopen / deregister and its filing (rule 4). Whether it also opens a
    public notice (rule 6) is the notices package's call: notices.services
    .record_event_with_notice, which the API and the pages use."""
    require_roles(actor, "sponsor")
    require_unit_access(actor, account.unit_id)
    allowed, target = TRANSITIONS[data.kind]
    if account.status not in allowed:
        raise RuleConflict(_("%(kind)s is not allowed while the account is %(status)s",
                             kind=label("event", data.kind),
                             status=label("status", account.status)), code="invalid_transition")
    if data.event_date < account.opened_on:
        raise Invalid(_("The event date is before the account opened"),
                      fields={"event_date": "before opened_on " + account.opened_on.isoformat()})
    check_not_future(today_shanghai(), event_date=data.event_date)
    if data.kind == "deregister" and not (data.reason or "").strip():
        # The public notice says why the account goes (rule 6): a blank reason is refused.
        raise Invalid(_("A deregistration needs its reason"), fields={"reason": "required"})
    before = account_snapshot(account)
    changes = {}
    if data.kind == "change":
        requested = data.changes.model_dump(exclude_none=True) if data.changes else {}
        requested = {k: v for k, v in requested.items() if v != getattr(account, k)}
        if not requested:
            raise Invalid(_("A change needs a new name, handle or unit"),
                          fields={"changes": "name, handle or unit_id must differ"})
        if "unit_id" in requested:
            receiving = _lock_unit(requested["unit_id"])
            if receiving is None:
                raise Invalid(_("The receiving unit does not exist"),
                              fields={"changes.unit_id": "not found"})
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
    account_changed(account, before)  # the outbox that supervision's figures follow
    event = AccountEvent(account_id=account.id, kind=data.kind, event_date=data.event_date,
                         reason=data.reason or "", changes=changes or None,
                         created_by_id=actor.id)
    db.session.add(event)
    db.session.flush()
    filing = create_filing(account, event)
    db.session.flush()
    audit.record(f"account.{data.kind}", "account", account.id, before=before,
                 after=account_snapshot(account) | {"event_date": data.event_date,
                                                    "reason": data.reason},
                 unit_id=account.unit_id, user=actor)
    return RecordedEvent(event, filing, before, changes)


# --- credentials -------------------------------------------------------------------------

def credentials_saver(account_id: int, connect):
    """An adapter's `save_credentials`: the tokens it refreshed, stored encrypted at once on a
    connection of their own from `connect()` (a context manager that commits), so they survive
    whatever the caller does next: a refresh token may be single-use."""
    def save(credentials: dict) -> None:
        with connect() as conn:
            conn.execute(update(AccountCredential)
                         .where(AccountCredential.account_id == account_id)
                         .values(ciphertext=encrypt(credentials), updated_at=utcnow()))
        log.info("account %s: platform token refreshed", account_id)

    return save


def set_credentials(actor: User, account: Account, payload: dict) -> None:
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
