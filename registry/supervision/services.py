"""Supervision rules as set-based queries: dormancy (rule 5), duplicates (rule 3), filing summary.

Rule 5 is defined once, in registry.services.last_update_on / dormancy (one account). The
set-based form here answers the same question for every account at once from figures derived
from posts and kept current as posts arrive (UpdateGap, Account.first_post_on, UnitDay); the
test suite checks the two agree on random data.
"""
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from flask import current_app, g, has_request_context
from sqlalchemy import (Date, and_, case, delete, event, func, literal, or_, select, type_coerce,
                        update)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.base import NEVER_SET, NO_VALUE

from govmedia import audit
from govmedia.auth import require_roles, require_unit_access, unit_scope
from govmedia.errors import Invalid, NotFound
from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.types import shanghai_date, today_shanghai

from ..models import COUNTED_STATUSES, STATUSES, Account, Filing, PlatformException, Post, Unit
from ..services import DORMANT_AFTER_DAYS, WARNING_FROM_DAYS, filing_status_clause
from .models import DayTotal, NameKey, NamePair, Rectification, UnitDay, UpdateGap

# A stretch between two updates reaches the warning band only if it lasts this many days.
GAP_KEPT_FROM = WARNING_FROM_DAYS + 1
DEFAULTS = {
    "SUPERVISION_LOW_FOLLOWERS": 500,      # clean-up candidates: fewer followers than this
    "SUPERVISION_LOW_READS": 1000,         # ... and fewer reads than this (or none recorded)
    "SUPERVISION_NAME_SIMILARITY": 90,     # rapidfuzz ratio (0-100) of normalised names
    "SUPERVISION_RECTIFICATION_WORKDAYS": 5,
    "SUPERVISION_TREND_WEEKS": 12,
    "SUPERVISION_VERIFICATION_NOTICE_DAYS": 30,
}


def setting(name: str):
    return current_app.config.get(name, DEFAULTS[name])


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _upsert(model):
    if _dialect() == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


# --- derived figures, kept current as posts arrive -------------------------------------------

def gaps_from_days(days) -> list[tuple[date, date | None]]:
    """(start, end) stretches between sorted distinct update days worth keeping, plus the open one."""
    days = sorted(set(days))
    rows = [(a, b) for a, b in zip(days, days[1:]) if (b - a).days >= GAP_KEPT_FROM]
    if days:
        rows.append((days[-1], None))
    return rows


def band_marks(stretches, first_post, opened, reopened) -> Counter:
    """Rule 5 for one account as a difference array: {day: (band, dormant)} entries and exits.

    The update days as of T are the post days, the opening and the reopening day; `last` is the
    latest on or before T, and the account is in the band from last + 7 (dormant from last + 11)
    until the next update day. `stretches` are the kept gaps (start, end|None) — every stretch
    of 8 days or more between post days, plus the open one — and `first_post` the first post
    day: splitting them at the opening/reopening days gives every stretch that can reach the
    band. Status is not looked at (the reader subtracts accounts that are not active)."""
    extra = sorted({d for d in (opened, reopened) if d is not None})
    pieces = []
    for start, end in stretches:
        cuts = [d for d in extra if d > start and (end is None or d < end)]
        points = [start, *cuts]
        pieces += list(zip(points, points[1:] + [end]))
    before = [d for d in extra if first_post is None or d < first_post]
    if before:
        pieces += list(zip(before, before[1:] + [first_post]))
    marks = Counter()
    for start, end in pieces:
        for offset, key in ((WARNING_FROM_DAYS, 0), (DORMANT_AFTER_DAYS + 1, 1)):
            enter = start + timedelta(days=offset)
            if end is None or enter < end:
                marks[(enter, key)] += 1
                if end is not None:
                    marks[(end, key)] -= 1
    return marks


def _apply_marks(delta: Counter, connection=None) -> None:
    """Add a difference of marks to supervision_day_totals (an upsert: concurrent writers add up)."""
    per_day = defaultdict(lambda: [0, 0])
    for (day, key), n in delta.items():
        if n:
            per_day[day][key] += n
    conn = connection if connection is not None else db.session
    dialect = conn.get_bind().dialect.name if connection is None else conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for day in sorted(per_day):
        band, dormant = per_day[day]
        if not band and not dormant:
            continue
        stmt = insert(DayTotal).values(day=day, band=band, dormant=dormant, posts=0)
        conn.execute(stmt.on_conflict_do_update(index_elements=["day"], set_={
            "band": DayTotal.band + band, "dormant": DayTotal.dormant + dormant}))


def _account_marks(ids, connection=None) -> Counter:
    """The marks of these accounts from their current gaps, first post, opening and reopening
    (none for an account that is not active now: it never counts)."""
    conn = connection if connection is not None else db.session
    stretches = defaultdict(list)
    for account_id, start, end in conn.execute(
            select(UpdateGap.account_id, UpdateGap.start_day, UpdateGap.end_day)
            .where(UpdateGap.account_id.in_(ids))):
        stretches[account_id].append((start, end))
    total = Counter()
    for account_id, first, opened, reopened in conn.execute(
            select(Account.id, Account.first_post_on, Account.opened_on, Account.reopened_on)
            .where(Account.id.in_(ids), Account.status == "active")):
        total.update(band_marks(stretches.get(account_id, ()), first, opened, reopened))
    return total


# A new account adds its marks, and an account that becomes active (reopened, restored) or
# stops being active (closed, deregistering, ...) adds or removes them: every ORM insert and
# every ORM change of Account.status, whoever makes it (registry, notices), is seen here and
# applied in the same flush. Core inserts (the inventory import) call accounts_created.
_STATUS_KEY = "supervision_status_changes"


def _original(field):
    def remember(target, _value, oldvalue, _initiator):
        session = object_session(target)
        if session is None or target.id is None or oldvalue in (NO_VALUE, NEVER_SET):
            return
        session.info.setdefault(_STATUS_KEY, {}).setdefault(target.id, {}).setdefault(
            field, oldvalue)
    return remember


event.listen(Account.status, "set", _original("status"), active_history=True)
event.listen(Account.reopened_on, "set", _original("reopened_on"), active_history=True)
_NEW_KEY = "supervision_new_accounts"


@event.listens_for(Account, "after_insert")
def _account_inserted(_mapper, _connection, target):
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_NEW_KEY, set()).add(target.id)


@event.listens_for(Session, "after_flush")
def _accounts_flushed(session, _context):
    new = session.info.pop(_NEW_KEY, None)
    if new:   # a new account counts from its opening day (Core inserts call accounts_created)
        _apply_marks(_account_marks(sorted(new), session.connection()), session.connection())
    changes = session.info.pop(_STATUS_KEY, None)
    if not changes:
        return
    conn = session.connection()
    delta = Counter()
    for account_id, before in changes.items():
        stretches = [(a, b) for a, b in conn.execute(
            select(UpdateGap.start_day, UpdateGap.end_day)
            .where(UpdateGap.account_id == account_id))]
        row = conn.execute(select(Account.status, Account.first_post_on, Account.opened_on,
                                  Account.reopened_on).where(Account.id == account_id)).first()
        if row is None:
            continue
        status, first, opened, reopened = row
        if before.get("status", status) == "active":
            delta.subtract(band_marks(stretches, first, opened,
                                      before.get("reopened_on", reopened)))
        if status == "active":
            delta.update(band_marks(stretches, first, opened, reopened))
    _apply_marks(delta, conn)


@event.listens_for(Session, "after_soft_rollback")
def _status_rolled_back(session, _previous):
    for key in (_STATUS_KEY, _NAMES_KEY, _NEW_KEY):
        session.info.pop(key, None)


def accounts_created(account_ids) -> None:
    """Core inserts of accounts (the inventory import's bulk path): add their marks."""
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), 500):
        _apply_marks(_account_marks(ids[start:start + 500]))


def refresh_accounts(account_ids) -> None:
    """Recompute the update gaps and first update day of these accounts from their posts, and
    their share of supervision_day_totals."""
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        if _dialect() == "postgresql":
            # Two writers of one account's posts must not rebuild its gaps at the same time.
            db.session.execute(select(Account.id).where(Account.id.in_(chunk))
                               .order_by(Account.id).with_for_update())
        db.session.flush()
        delta = Counter()
        delta.subtract(_account_marks(chunk))
        days = defaultdict(set)
        for account_id, published_at in db.session.execute(
                select(Post.account_id, Post.published_at).where(Post.account_id.in_(chunk))):
            days[account_id].add(shanghai_date(published_at))
        db.session.execute(delete(UpdateGap).where(UpdateGap.account_id.in_(chunk)))
        rows = [{"account_id": a, "start_day": s, "end_day": e}
                for a in chunk for s, e in gaps_from_days(days.get(a, ()))]
        if rows:
            db.session.execute(UpdateGap.__table__.insert(), rows)
        for account_id in chunk:
            first = min(days[account_id]) if days.get(account_id) else None
            db.session.execute(Account.__table__.update().where(Account.id == account_id)
                               .values(first_post_on=first))
        delta.update(_account_marks(chunk))
        _apply_marks(delta)


def rebuild_day_totals_with(connection) -> None:
    """Recompute supervision_day_totals from the gaps, the accounts and the daily unit counts
    (the migration, `flask supervision rebuild`)."""
    connection.execute(delete(DayTotal))
    ids = [i for (i,) in connection.execute(select(Account.id).order_by(Account.id))]
    total = Counter()
    for start in range(0, len(ids), 5000):
        total.update(_account_marks(ids[start:start + 5000], connection))
    _apply_marks(total, connection)
    for day, n in connection.execute(select(UnitDay.day, func.sum(UnitDay.posts))
                                     .group_by(UnitDay.day)).all():
        connection.execute(DayTotal.__table__.update().where(DayTotal.day == day)
                           .values(posts=int(n)))
        connection.execute(DayTotal.__table__.insert().from_select(
            ["day", "band", "dormant", "posts"],
            select(literal(day, Date), literal(0), literal(0), literal(int(n))).where(
                ~select(DayTotal.day).where(DayTotal.day == day).exists())))


def count_posts(unit_id: int, published: list[datetime]) -> None:
    """Add posts to the per-unit daily counts (an upsert: concurrent writers add up)."""
    per_day = defaultdict(int)
    for instant in published:
        per_day[shanghai_date(instant)] += 1
    if _dialect() == "postgresql":
        # One round trip for both shared counters (the day's total is one row for everybody,
        # so the fewer statements between its lock and the commit, the better).
        for day, n in per_day.items():
            db.session.execute(db.text(
                "WITH u AS (INSERT INTO supervision_unit_days (unit_id, day, posts) "
                "VALUES (:unit_id, :day, :n) ON CONFLICT (unit_id, day) DO UPDATE "
                "SET posts = supervision_unit_days.posts + :n RETURNING 1) "
                "INSERT INTO supervision_day_totals (day, band, dormant, posts) "
                "SELECT :day, 0, 0, :n FROM u ON CONFLICT (day) DO UPDATE "
                "SET posts = supervision_day_totals.posts + :n"),
                {"unit_id": unit_id, "day": day, "n": n})
        return
    for day, n in per_day.items():
        stmt = _upsert(UnitDay).values(unit_id=unit_id, day=day, posts=n)
        stmt = stmt.on_conflict_do_update(index_elements=["unit_id", "day"],
                                          set_={"posts": UnitDay.posts + n})
        db.session.execute(stmt)
        stmt = _upsert(DayTotal).values(day=day, band=0, dormant=0, posts=n)
        db.session.execute(stmt.on_conflict_do_update(index_elements=["day"], set_={
            "posts": DayTotal.posts + n}))


def _days_already_posted(account_id: int, published: list[datetime]) -> bool:
    """True when every Shanghai day of these (flushed) posts already had another post of the
    account: the set of update days is unchanged, so are its gaps, first update day and
    day-total marks. A committed post never leaves its day, so this holds under concurrency
    (a post committed by another writer brought its own derived figures with it)."""
    from govmedia.types import SHANGHAI

    per_day = Counter(shanghai_date(p) for p in published)
    for day, n in per_day.items():
        start = datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI)
        found = db.session.execute(
            select(Post.id).where(Post.account_id == account_id, Post.published_at >= start,
                                  Post.published_at < start + timedelta(days=1))
            .limit(n + 1)).all()
        if len(found) <= n:
            return False
    return True


def posts_recorded(account: Account, published: list[datetime]) -> None:
    """Called by registry.services.record_post and the post-log import after adding posts."""
    db.session.flush()
    known = _days_already_posted(account.id, published)  # a read, before the shared rows
    count_posts(account.unit_id, published)
    if known:
        return  # a second post on a day that had one: only the daily counts move
    refresh_accounts([account.id])
    db.session.expire(account, ["first_post_on"])


# --- posts recorded uncounted (the delivery job), counted in batches ------------------------

# Appliers take this lock (PostgreSQL) so two of them never count the same posts.
_APPLY_LOCK = 7260002


def apply_new_posts(limit: int = 5000) -> int:
    """Count posts recorded with counted = false into the derived figures (daily counts, update
    gaps, first update day, day totals), in the caller's transaction. The delivery job records
    its posts that way: one batch of many posts costs a few statements, where a figure update
    per post cost a dozen inside every delivery and made every delivery of a unit wait for the
    same daily rows. Returns how many posts were counted."""
    if _dialect() == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(_APPLY_LOCK)))
    rows = db.session.execute(
        select(Post.id, Post.account_id, Post.published_at, Account.unit_id)
        .join(Account, Account.id == Post.account_id)
        .where(Post.counted.is_(False)).order_by(Post.id).limit(limit)).all()
    if not rows:
        return 0
    per_unit = defaultdict(list)
    new_days = defaultdict(set)
    for row in rows:
        per_unit[row.unit_id].append(row.published_at)
        new_days[row.account_id].add(shanghai_date(row.published_at))
    for unit_id, instants in sorted(per_unit.items()):
        count_posts(unit_id, instants)
    # Only accounts with a day no counted post of theirs had need their gaps rebuilt: every
    # counted post's day is already in its account's gaps (it was rebuilt when that post was
    # counted, or the day was known then), and the gaps depend on the set of days alone.
    # Rebuilding reads every post of the account, so a busy account would pay for its whole
    # history at every batch.
    first, last = min(min(d) for d in new_days.values()), max(max(d) for d in new_days.values())
    from govmedia.types import SHANGHAI

    known = defaultdict(set)
    for account_id, published_at in db.session.execute(
            select(Post.account_id, Post.published_at).where(
                Post.account_id.in_(sorted(new_days)), Post.counted.is_(True),
                Post.published_at >= datetime.combine(first, datetime.min.time(), SHANGHAI),
                Post.published_at < datetime.combine(last + timedelta(days=1),
                                                     datetime.min.time(), SHANGHAI))):
        known[account_id].add(shanghai_date(published_at))
    # The gaps are rebuilt from every post of these accounts, so a post counted here or not
    # yet counted by a concurrent writer gives the same gaps (refresh_accounts locks the rows).
    refresh_accounts([a for a, days in new_days.items() if days - known[a]])
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 1000):
        db.session.execute(update(Post).where(Post.id.in_(ids[start:start + 1000]))
                           .values(counted=True))
    return len(rows)


def figures_current() -> None:
    """Before reading the derived figures: count the posts still waiting (usually none: one
    indexed look). The work joins the caller's transaction; the periodic job commits it.
    Called where the figures are read (_band_subquery, band_totals, _weekly_bands, trend),
    so every public function that reaches them goes through it."""
    if db.session.execute(select(Post.id).where(Post.counted.is_(False)).limit(1)).first():
        for _ in range(1000):  # bounded: 5,000 posts a batch
            if apply_new_posts() == 0:
                break
        db.session.flush()


def rebuild_all() -> int:
    """Recompute every derived figure from the posts (after a bulk load; also `flask supervision rebuild`)."""
    db.session.execute(update(Post).where(Post.counted.is_(False)).values(counted=True))
    if _dialect() == "postgresql":
        db.session.execute(delete(UpdateGap))
        db.session.execute(delete(UnitDay))
        db.session.execute(db.text("""
            WITH d AS (SELECT DISTINCT account_id, (published_at AT TIME ZONE 'Asia/Shanghai')::date AS day
                       FROM posts),
                 n AS (SELECT account_id, day, lead(day) OVER (PARTITION BY account_id ORDER BY day) AS nxt
                       FROM d)
            INSERT INTO supervision_gaps (account_id, start_day, end_day)
            SELECT account_id, day, nxt FROM n WHERE nxt IS NULL OR nxt - day >= :kept"""),
            {"kept": GAP_KEPT_FROM})
        db.session.execute(db.text("""
            UPDATE accounts a SET first_post_on = f.first FROM (
              SELECT account_id, min((published_at AT TIME ZONE 'Asia/Shanghai')::date) AS first
              FROM posts GROUP BY account_id) f WHERE f.account_id = a.id"""))
        db.session.execute(db.text("""
            INSERT INTO supervision_unit_days (unit_id, day, posts)
            SELECT a.unit_id, (p.published_at AT TIME ZONE 'Asia/Shanghai')::date, count(*)
            FROM posts p JOIN accounts a ON a.id = p.account_id GROUP BY 1, 2"""))
        rebuild_day_totals_with(db.session.connection())
        return db.session.scalar(select(func.count()).select_from(UpdateGap))
    ids = db.session.scalars(select(Account.id)).all()
    db.session.execute(delete(UnitDay))
    refresh_accounts(ids)
    for unit_id, published_at in db.session.execute(
            select(Account.unit_id, Post.published_at).join(Account, Account.id == Post.account_id)):
        count_posts(unit_id, [published_at])
    rebuild_day_totals_with(db.session.connection())
    return len(ids)


# --- rule 5, set-based ---------------------------------------------------------------------

def _later(a, b):
    """The later of two dates in SQL; b may be NULL (then a)."""
    return type_coerce(case((b > a, b), else_=a), Date)


def band_rows(t, t7):
    """SELECT (account_id, unit_id, last) for active accounts whose last update as of t is on
    or before t7 (= t - 7 days): the same rule as registry.services.last_update_on."""
    reopened = case((Account.reopened_on <= t, Account.reopened_on), else_=None)
    opened = case((Account.opened_on <= t, Account.opened_on), else_=None)
    with_posts = (
        select(Account.id.label("account_id"), Account.unit_id.label("unit_id"),
               _later(_later(UpdateGap.start_day, opened), reopened).label("last"))
        .join(UpdateGap, UpdateGap.account_id == Account.id)
        .where(Account.status == "active", UpdateGap.start_day <= t7,
               or_(UpdateGap.end_day.is_(None), UpdateGap.end_day > t)))
    without_posts = (
        select(Account.id.label("account_id"), Account.unit_id.label("unit_id"),
               _later(Account.opened_on, reopened).label("last"))
        .where(Account.status == "active", Account.opened_on <= t7,
               or_(Account.first_post_on.is_(None), Account.first_post_on > t)))
    return with_posts.union_all(without_posts)


def _band_subquery(as_of: date, units):
    figures_current()
    rows = band_rows(literal(as_of, Date), literal(as_of - timedelta(days=WARNING_FROM_DAYS),
                                                    Date)).subquery("banded")
    query = select(rows).where(rows.c.last <= as_of - timedelta(days=WARNING_FROM_DAYS))
    if units is not None:
        query = query.where(rows.c.unit_id.in_(units))
    return query.subquery("band")


def dormant_list(actor, as_of: date, *, include_warning: bool = False, unit_id=None,
                 limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Rule 5 as of a day: active accounts over 10 days without an update (and 7-10 days with
    include_warning), longest first."""
    units = unit_scope(actor, unit_id)
    band = _band_subquery(as_of, units)
    cutoff = as_of - timedelta(days=DORMANT_AFTER_DAYS + (0 if include_warning else 1))
    if include_warning:
        cutoff = as_of - timedelta(days=WARNING_FROM_DAYS)
    where = band.c.last <= cutoff
    # One pass: the page and the total together (a window count), not two executions.
    rows = db.session.execute(
        select(band.c.account_id, band.c.unit_id, band.c.last, Account.platform, Account.name,
               func.count().over().label("total"))
        .join(Account, Account.id == band.c.account_id).where(where)
        .order_by(band.c.last, band.c.account_id).limit(limit).offset(offset)).all()
    total = rows[0].total if rows else db.session.scalar(
        select(func.count()).select_from(band).where(where))
    items = []
    for account_id, unit, last, platform, name, _total in rows:
        days = (as_of - last).days
        items.append({"account_id": account_id, "unit_id": unit, "platform": platform,
                      "name": name, "last_update_on": last.isoformat(),
                      "days_since_update": days,
                      "band": "dormant" if days > DORMANT_AFTER_DAYS else "warning"})
    return items, total


def band_counts(as_of: date, units) -> dict[int, dict]:
    """{unit_id: {"dormant": n, "warning": n}} as of a day."""
    band = _band_subquery(as_of, units)
    dormant_cut = as_of - timedelta(days=DORMANT_AFTER_DAYS + 1)
    rows = db.session.execute(select(
        band.c.unit_id, func.sum(case((band.c.last <= dormant_cut, 1), else_=0)), func.count())
        .group_by(band.c.unit_id)).all()
    return {u: {"dormant": int(d), "warning": int(n) - int(d)} for u, d, n in rows}


# --- summary and dashboard ---------------------------------------------------------------------

def _rate(done: int, due: int):
    return round(done / due, 4) if due else None


FILING_STATUSES = ("pending", "overdue", "filed", "late")


def _filing_status(due_on: date, filed_on: date | None, as_of: date) -> str:
    """Filing.status_on / filing_status_clause, for one (due_on, filed_on) pair."""
    if filed_on is None or filed_on > as_of:
        return "pending" if due_on >= as_of else "overdue"
    return "filed" if filed_on <= due_on else "late"


def _filing_counts(days: list[date], units) -> list[dict]:
    """Filings by status as of each day: one grouping by (due_on, filed_on) — a few thousand
    distinct pairs — classified in Python, instead of a CASE per status and day over every row."""
    memo = g.setdefault("supervision_filing_pairs", {}) if has_request_context() else {}
    key = None if units is None else tuple(units)
    pairs = memo.get(key)
    if pairs is None:   # one grouping per request (the dashboard asks twice)
        q = select(Filing.due_on, Filing.filed_on, func.count()).group_by(Filing.due_on,
                                                                          Filing.filed_on)
        if units is not None:
            q = q.where(Filing.unit_id.in_(units))
        pairs = memo[key] = db.session.execute(q).all()
    out = []
    for t in days:
        counts = dict.fromkeys(FILING_STATUSES, 0)
        for due_on, filed_on, n in pairs:
            counts[_filing_status(due_on, filed_on, t)] += n
        out.append(counts)
    return out


def band_totals(days: list[date]) -> list[tuple[int, int]]:
    """(dormant, dormant + warning) over all units as of each day: prefix sums of
    supervision_day_totals (a few hundred rows)."""
    figures_current()
    last = max(days)
    events = [(day, band, dormant) for day, band, dormant in db.session.execute(
        select(DayTotal.day, DayTotal.band, DayTotal.dormant).where(DayTotal.day <= last))]
    events.sort(key=lambda e: e[0])
    out = {}
    band = dormant = i = 0
    for t in sorted(set(days)):
        while i < len(events) and events[i][0] <= t:
            band += events[i][1]
            dormant += events[i][2]
            i += 1
        out[t] = (dormant, band)
    return [out[t] for t in days]


def _unit_rows(ids: list[int], as_of: date) -> dict[int, dict]:
    """Every per-unit figure for these units (a page of them)."""
    per_unit = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for uid, name in db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(chunk))):
            per_unit[uid] = {"unit_id": uid, "unit_name": name,
                             "accounts": {s: 0 for s in STATUSES},
                             "filings": dict.fromkeys(FILING_STATUSES, 0),
                             "dormant": 0, "warning": 0, "overdue_rectifications": 0}
        for uid, status, n in db.session.execute(
                select(Account.unit_id, Account.status, func.count())
                .where(Account.unit_id.in_(chunk)).group_by(Account.unit_id, Account.status)):
            per_unit[uid]["accounts"][status] = n
        for uid, due_on, filed_on, n in db.session.execute(
                select(Filing.unit_id, Filing.due_on, Filing.filed_on, func.count())
                .where(Filing.unit_id.in_(chunk))
                .group_by(Filing.unit_id, Filing.due_on, Filing.filed_on)):
            if uid in per_unit:
                per_unit[uid]["filings"][_filing_status(due_on, filed_on, as_of)] += n
        for uid, counts in band_counts(as_of, chunk).items():
            if uid in per_unit:
                per_unit[uid].update(counts)
        for uid, n in db.session.execute(
                select(Rectification.unit_id, func.count())
                .where(Rectification.unit_id.in_(chunk), Rectification.status != "closed",
                       Rectification.deadline < as_of).group_by(Rectification.unit_id)):
            if uid in per_unit:
                per_unit[uid]["overdue_rectifications"] = n
    for row in per_unit.values():
        f = row["filings"]
        row["filing_rate"] = _rate(f["filed"] + f["late"], f["filed"] + f["late"] + f["overdue"])
        row["on_time_rate"] = _rate(f["filed"], f["filed"] + f["late"] + f["overdue"])
    return per_unit


def _worst_first(as_of: date, units, limit: int, offset: int) -> list[int]:
    """One page of unit ids, worst first (dormant + overdue filings + overdue orders, then
    warning, then id), ranked in the database: only the page comes back."""
    band = _band_subquery(as_of, units)
    dormant_cut = as_of - timedelta(days=DORMANT_AFTER_DAYS + 1)
    b = (select(band.c.unit_id, func.sum(case((band.c.last <= dormant_cut, 1), else_=0))
                .label("dormant"), func.count().label("banded"))
         .group_by(band.c.unit_id).subquery("b"))
    f = (select(Filing.unit_id, func.count().label("n"))
         .where(filing_status_clause("overdue", as_of)).group_by(Filing.unit_id).subquery("f"))
    r = (select(Rectification.unit_id, func.count().label("n"))
         .where(Rectification.status != "closed", Rectification.deadline < as_of)
         .group_by(Rectification.unit_id).subquery("r"))
    dormant = func.coalesce(b.c.dormant, 0)
    bad = dormant + func.coalesce(f.c.n, 0) + func.coalesce(r.c.n, 0)
    q = (select(Unit.id).outerjoin(b, b.c.unit_id == Unit.id)
         .outerjoin(f, f.c.unit_id == Unit.id).outerjoin(r, r.c.unit_id == Unit.id)
         .order_by(bad.desc(), (func.coalesce(b.c.banded, 0) - dormant).desc(), Unit.id)
         .limit(limit).offset(offset))
    if units is not None:
        q = q.where(Unit.id.in_(units))
    return list(db.session.scalars(q))


def summary(actor, as_of: date, unit_id: int | None = None, *, limit: int = 50,
            offset: int = 0, worst_first: bool = False) -> dict:
    """Counts of accounts by status, filings by status, the filing rate, dormant and warning
    accounts and overdue rectification orders: totals over every unit in sight, and per unit
    one page of units (`units_total` of them; by unit id, or worst first)."""
    units = unit_scope(actor, unit_id)
    totals = {"accounts": {s: 0 for s in STATUSES}}
    q = select(Account.status, func.count()).group_by(Account.status)
    if units is not None:
        q = q.where(Account.unit_id.in_(units))
    for status, n in db.session.execute(q):
        totals["accounts"][status] = n
    totals["filings"] = _filing_counts([as_of], units)[0]
    if units is None:
        dormant, banded = band_totals([as_of])[0]
    else:
        counts = band_counts(as_of, units).values()
        dormant = sum(c["dormant"] for c in counts)
        banded = dormant + sum(c["warning"] for c in counts)
    totals["dormant"], totals["warning"] = dormant, banded - dormant
    q = select(func.count()).select_from(Rectification).where(
        Rectification.status != "closed", Rectification.deadline < as_of)
    if units is not None:
        q = q.where(Rectification.unit_id.in_(units))
    totals["overdue_rectifications"] = db.session.scalar(q)

    q = select(Unit.id)
    if units is not None:
        q = q.where(Unit.id.in_(units))
    units_total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    if worst_first:
        page = _worst_first(as_of, units, limit, offset)
    else:
        page = db.session.scalars(q.order_by(Unit.id).limit(limit).offset(offset)).all()
    rows = _unit_rows(list(page), as_of)
    f = totals["filings"]
    return {"as_of": as_of.isoformat(), **totals,
            "filing_rate": _rate(f["filed"] + f["late"], f["filed"] + f["late"] + f["overdue"]),
            "on_time_rate": _rate(f["filed"], f["filed"] + f["late"] + f["overdue"]),
            "filing_target": 1.0, "units_total": units_total, "limit": limit, "offset": offset,
            "units": [rows[u] for u in page if u in rows]}


def _days_since(day_col, origin: date):
    """Whole days from origin to a date column, in SQL."""
    if _dialect() == "postgresql":
        return day_col - literal(origin, Date)
    return func.cast(func.julianday(day_col) - func.julianday(literal(origin.isoformat())),
                     db.Integer)


def _weekly_bands(ends: list[date], units) -> list[tuple[int, int]]:
    """(dormant, dormant + warning) as of each week-end in `ends` (7 days apart), in one pass.

    Each stretch between update days puts an account in the band for a run of consecutive
    week-ends; the database returns how many stretches start and stop their run at each week
    (a difference array), so the cost is one scan of the stretches overlapping the window, not
    one query per week. Stretches that an opening or reopening day splits, and accounts without
    a post yet, are few and are evaluated one by one with the same rule.
    """
    figures_current()
    t0, weeks = ends[0], len(ends)
    last_t7 = ends[-1] - timedelta(days=WARNING_FROM_DAYS)
    s, e = UpdateGap.start_day, UpdateGap.end_day

    def inside(day_col):
        return and_(day_col > s, or_(e.is_(None), day_col < e))

    base = (select().select_from(UpdateGap).join(Account, Account.id == UpdateGap.account_id)
            .where(Account.status == "active", or_(e.is_(None), e > t0), s <= last_t7))
    if units is not None:
        base = base.where(Account.unit_id.in_(units))
    since = _days_since(s, t0)
    k_band = case((s <= t0 - timedelta(days=WARNING_FROM_DAYS), 0),
                  else_=(since + WARNING_FROM_DAYS + 6) / 7)
    k_dormant = case((s <= t0 - timedelta(days=DORMANT_AFTER_DAYS + 1), 0),
                     else_=(since + DORMANT_AFTER_DAYS + 1 + 6) / 7)
    k_end = case((e.is_(None), weeks), else_=(_days_since(e, t0) + 6) / 7)
    simple = base.add_columns(k_band, k_dormant, k_end, func.count()).where(
        ~inside(Account.opened_on), or_(Account.reopened_on.is_(None),
                                        ~inside(Account.reopened_on))).group_by(
        k_band, k_dormant, k_end)
    band_diff, dormant_diff = [0] * (weeks + 1), [0] * (weeks + 1)
    for kb, kd, ke, n in db.session.execute(simple):
        ke = min(int(ke), weeks)
        for k0, diff in ((int(kb), band_diff), (int(kd), dormant_diff)):
            if k0 < ke:
                diff[k0] += n
                diff[ke] -= n
    out, band, dormant = [], 0, 0
    for k in range(weeks):
        band += band_diff[k]
        dormant += dormant_diff[k]
        out.append([dormant, band])

    def add(k, last, t):
        days = (t - last).days
        if days >= WARNING_FROM_DAYS:
            out[k][1] += 1
            if days > DORMANT_AFTER_DAYS:
                out[k][0] += 1

    split = base.add_columns(s, e, Account.opened_on, Account.reopened_on).where(
        or_(inside(Account.opened_on), inside(Account.reopened_on)))
    for start, end, opened, reopened in db.session.execute(split):
        for k, t in enumerate(ends):
            if start <= t and (end is None or end > t):
                add(k, max(d for d in (start, opened, reopened) if d and d <= t), t)
    q = select(Account.opened_on, Account.reopened_on, Account.first_post_on).where(
        Account.status == "active", Account.opened_on <= last_t7,
        or_(Account.first_post_on.is_(None), Account.first_post_on > t0))
    if units is not None:
        q = q.where(Account.unit_id.in_(units))
    for opened, reopened, first in db.session.execute(q):
        for k, t in enumerate(ends):
            if first is None or first > t:
                add(k, max(d for d in (opened, reopened) if d and d <= t) if opened <= t
                    else opened, t)
    return [tuple(x) for x in out]


def trend(actor, as_of: date, weeks: int | None = None, unit_id: int | None = None) -> list[dict]:
    """Week by week back from as_of: dormant and warning accounts, the filing rate, posts."""
    figures_current()
    units = unit_scope(actor, unit_id)
    weeks = weeks or setting("SUPERVISION_TREND_WEEKS")
    ends = [as_of - timedelta(days=7 * k) for k in range(weeks - 1, -1, -1)]
    counted = band_totals(ends) if units is None else _weekly_bands(ends, units)
    filings = _filing_counts(ends, units)

    if units is None:   # the same sums, kept per day over all units
        q = select(DayTotal.day, DayTotal.posts).where(
            DayTotal.day > ends[0] - timedelta(days=7), DayTotal.day <= as_of)
    else:
        q = select(UnitDay.day, func.sum(UnitDay.posts)).where(
            UnitDay.day > ends[0] - timedelta(days=7), UnitDay.day <= as_of,
            UnitDay.unit_id.in_(units)).group_by(UnitDay.day)
    posts_by_day = {day if isinstance(day, date) else date.fromisoformat(day): int(n)
                    for day, n in db.session.execute(q)}
    out = []
    for i, t in enumerate(ends):
        dormant, banded = counted[i]
        f = filings[i]
        done, on_time, overdue = f["filed"] + f["late"], f["filed"], f["overdue"]
        out.append({"week_end": t.isoformat(), "dormant": dormant, "warning": banded - dormant,
                    "filing_rate": _rate(done, done + overdue),
                    "on_time_rate": _rate(on_time, done + overdue),
                    "posts": sum(n for day, n in posts_by_day.items()
                                 if t - timedelta(days=7) < day <= t)})
    return out


# --- rule 3: duplicates ------------------------------------------------------------------------

NAME_SUFFIXES = ("微发布", "发布", "在线", "微讯", "官方", "官微", "政务", "微博", "公众号", "服务号",
                 "订阅号", "头条号", "抖音号", "快手号", "视频号", "融媒", "资讯", "之声", "微信",
                 "头条", "抖音", "快手", "号")
_SUFFIX = re.compile("(?:" + "|".join(sorted(NAME_SUFFIXES, key=len, reverse=True)) + ")+$")


def name_key(name: str) -> str:
    """A name for comparison: full-width forms folded (NFKC), case folded, spaces and
    punctuation dropped, trailing common suffixes (发布, 在线, 微讯 …) removed."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")
    stripped = _SUFFIX.sub("", text)
    return stripped if len(stripped) >= 2 else text


def refresh_name_index(ids=None, conn=None) -> int:
    """Bring the normalised-name index and the near-same pairs up to date with account names:
    for these accounts, or (ids=None) for every account whose name or platform differs from
    its index row or that has none yet (one anti-join: after a bulk load)."""
    from rapidfuzz import fuzz, process

    conn = conn if conn is not None else db.session
    if ids is None:
        stale = conn.execute(
            select(Account.id, Account.platform, Account.name)
            .outerjoin(NameKey, NameKey.account_id == Account.id)
            .where(or_(NameKey.account_id.is_(None), NameKey.name != Account.name,
                       NameKey.platform != Account.platform))).all()
    else:
        ids = sorted(set(ids))
        stale = []
        for start in range(0, len(ids), 900):
            stale += conn.execute(select(Account.id, Account.platform, Account.name)
                                  .where(Account.id.in_(ids[start:start + 900]))).all()
    if not stale:
        return 0
    threshold = setting("SUPERVISION_NAME_SIMILARITY")
    ids = [row[0] for row in stale]
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        conn.execute(delete(NamePair).where(or_(NamePair.low_id.in_(chunk),
                                                NamePair.high_id.in_(chunk))))
    rows = [{"account_id": i, "platform": p, "name": n, "key": name_key(n)} for i, p, n in stale]
    dialect = conn.get_bind().dialect.name if conn is db.session else conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for start in range(0, len(rows), 1000):
        stmt = insert(NameKey).values(rows[start:start + 1000])
        stmt = stmt.on_conflict_do_update(index_elements=["account_id"], set_={
            "platform": stmt.excluded.platform, "name": stmt.excluded.name,
            "key": stmt.excluded.key})
        conn.execute(stmt)
    by_platform = defaultdict(list)
    for row in rows:
        by_platform[row["platform"]].append(row)
    pairs = {}
    for platform, changed in by_platform.items():
        if platform == "other":
            continue
        every = conn.execute(select(NameKey.account_id, NameKey.key)
                             .where(NameKey.platform == platform)).all()
        all_ids = [a for a, _k in every]
        all_keys = [k for _a, k in every]
        for row in changed:
            for _key, score, j in process.extract(row["key"], all_keys, scorer=fuzz.ratio,
                                                  score_cutoff=threshold, limit=None):
                a, b = row["account_id"], all_ids[j]
                if a != b:
                    pairs[(min(a, b), max(a, b))] = float(score)
    items = [{"low_id": a, "high_id": b, "score": s} for (a, b), s in pairs.items()]
    for start in range(0, len(items), 1000):
        stmt = insert(NamePair).values(items[start:start + 1000])
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["low_id", "high_id"]))
    return len(stale)


# Names kept current as they change: every ORM insert of an account or change of its name or
# platform (registration, events, any edit) re-indexes it in the same flush. Accounts written
# with Core inserts (the inventory import) have no index row yet: the read compares the two
# row counts (accounts are never deleted) and indexes the missing ones then.
_NAMES_KEY = "supervision_name_changes"


@event.listens_for(Account, "after_insert")
@event.listens_for(Account, "after_update")
def _name_written(_mapper, connection, target):
    state = sa_inspect(target)
    if state.attrs.name.history.has_changes() or state.attrs.platform.history.has_changes():
        session = object_session(target)
        if session is not None:
            session.info.setdefault(_NAMES_KEY, set()).add(target.id)


@event.listens_for(Session, "after_flush")
def _names_flushed(session, _context):
    ids = session.info.pop(_NAMES_KEY, None)
    if ids:
        refresh_name_index(ids, session.connection())


def _names_current() -> None:
    """Index the accounts that have no index row yet (Core bulk inserts), if any."""
    accounts = db.session.scalar(select(func.count()).select_from(Account))
    keys = db.session.scalar(select(func.count()).select_from(NameKey))
    if accounts != keys:
        refresh_name_index()


def duplicates(actor, unit_id: int | None = None) -> dict:
    """Rule 3: units holding more than one counted account on a platform, and likely
    duplicates: near-same names, one verified subject, low-use clean-up candidates."""
    units = unit_scope(actor, unit_id)
    _names_current()
    counted = Account.status.in_(COUNTED_STATUSES)

    q = (select(Account.unit_id, Account.platform,
                func.count().label("n"))
         .where(counted, Account.platform != "other")
         .group_by(Account.unit_id, Account.platform).having(func.count() > 1))
    if units is not None:
        q = q.where(Account.unit_id.in_(units))
    groups = db.session.execute(q).all()
    items = []
    if groups:
        keys = {(u, p) for u, p, _n in groups}
        unit_ids = sorted({u for u, _p in keys})
        members = defaultdict(list)
        excepted = {}
        for start in range(0, len(unit_ids), 900):
            chunk = unit_ids[start:start + 900]
            for aid, u, p in db.session.execute(
                    select(Account.id, Account.unit_id, Account.platform)
                    .where(counted, Account.unit_id.in_(chunk)).order_by(Account.id)):
                if (u, p) in keys:
                    members[(u, p)].append(aid)
            for u, p, reason in db.session.execute(
                    select(PlatformException.unit_id, PlatformException.platform,
                           PlatformException.reason).where(PlatformException.unit_id.in_(chunk))):
                excepted[(u, p)] = reason
        for key in sorted(keys):
            items.append({"unit_id": key[0], "platform": key[1], "account_ids": members[key],
                          "exception": key in excepted,
                          "exception_reason": excepted.get(key)})

    similar = []
    low, high = Account.__table__.alias("low"), Account.__table__.alias("high")
    q = (select(NamePair.low_id, NamePair.high_id, NamePair.score, low.c.platform)
         .join(low, low.c.id == NamePair.low_id).join(high, high.c.id == NamePair.high_id)
         .where(low.c.status.in_(COUNTED_STATUSES), high.c.status.in_(COUNTED_STATUSES),
                low.c.unit_id != high.c.unit_id, low.c.platform == high.c.platform)
         .order_by(NamePair.low_id, NamePair.high_id))
    if units is not None:
        q = q.where(or_(low.c.unit_id.in_(units), high.c.unit_id.in_(units)))
    for a, b, score, platform in db.session.execute(q):
        similar.append({"account_ids": [a, b], "reason": "similar_name", "platform": platform,
                        "score": round(score, 1)})

    subject = func.trim(Account.verified_subject)
    # "more than one unit" as min <> max: a hash aggregate, where count(DISTINCT) sorts.
    q = (select(Account.platform, subject, func.count())
         .where(counted, Account.platform != "other", Account.verified_subject.is_not(None),
                subject != "")
         .group_by(Account.platform, subject)
         .having(func.min(Account.unit_id) != func.max(Account.unit_id)))
    subject_groups = db.session.execute(q).all()
    for platform, name, _n in subject_groups:
        ids = db.session.execute(select(Account.id, Account.unit_id).where(
            counted, Account.platform == platform, func.trim(Account.verified_subject) == name)
            .order_by(Account.id)).all()
        if units is not None and not any(u in units for _i, u in ids):
            continue
        similar.append({"account_ids": [i for i, _u in ids], "reason": "same_verified_subject",
                        "platform": platform, "verified_subject": name})

    low_followers = setting("SUPERVISION_LOW_FOLLOWERS")
    low_reads = setting("SUPERVISION_LOW_READS")
    q = (select(Account.id, Account.unit_id, Account.platform)
         .where(counted, Account.followers.is_not(None), Account.followers < low_followers,
                or_(Account.reads.is_(None), Account.reads < low_reads)).order_by(Account.id))
    if units is not None:
        q = q.where(Account.unit_id.in_(units))
    low_use = defaultdict(list)
    for aid, u, p in db.session.execute(q):
        low_use[u].append((aid, p))
    if low_use:
        unit_ids = sorted(low_use)
        platforms = defaultdict(set)
        for start in range(0, len(unit_ids), 900):
            for u, p in db.session.execute(select(Account.unit_id, Account.platform).where(
                    counted, Account.unit_id.in_(unit_ids[start:start + 900]))):
                platforms[u].add(p)
        for u in unit_ids:
            if len(platforms[u]) > 1:
                similar.append({"account_ids": [a for a, _p in low_use[u]], "reason": "low_use",
                                "unit_id": u,
                                "platforms": sorted({p for _a, p in low_use[u]}),
                                "thresholds": {"followers": low_followers, "reads": low_reads}})
    return {"items": items, "total": len(items), "similar": similar,
            "thresholds": {"followers": low_followers, "reads": low_reads,
                           "name_similarity": setting("SUPERVISION_NAME_SIMILARITY")}}


# --- rectification (整改) -------------------------------------------------------------------------

RECTIFICATION_KINDS = ("dormant", "overdue_filing", "duplicate", "naming", "prerequisites",
                       "content", "other")


def _rectification_snapshot(order: Rectification) -> dict:
    return {"unit_id": order.unit_id, "account_id": order.account_id, "kind": order.kind,
            "finding": order.finding, "deadline": order.deadline, "status": order.status,
            "answer": order.answer, "note": order.note}


def create_rectification(actor, unit_id: int, kind: str, finding: str, *,
                         account_id: int | None = None, deadline: date | None = None,
                         issued_on: date | None = None) -> Rectification:
    require_roles(actor, "supervisor")
    if db.session.get(Unit, unit_id) is None:
        raise Invalid("单位不存在 (unit not found)", fields={"unit_id": "not found"})
    if kind not in RECTIFICATION_KINDS:
        raise Invalid("整改类型无效 (unknown kind)", fields={"kind": "one of " + ", ".join(
            RECTIFICATION_KINDS)})
    if not (finding or "").strip():
        raise Invalid("请填写问题描述 (finding: required)", fields={"finding": "required"})
    if account_id is not None:
        account = db.session.get(Account, account_id)
        if account is None or account.unit_id != unit_id:
            raise Invalid("账号不属于该单位 (account is not the unit's)",
                          fields={"account_id": "not an account of this unit"})
    issued_on = issued_on or today_shanghai()
    provisional = False
    if deadline is None:
        deadline, provisional = load_calendar().add_workdays(
            issued_on, setting("SUPERVISION_RECTIFICATION_WORKDAYS"))
    elif deadline < issued_on:
        raise Invalid("整改期限不能早于下达日期 (deadline before issue date)",
                      fields={"deadline": "before issued_on"})
    order = Rectification(unit_id=unit_id, account_id=account_id, kind=kind,
                          finding=finding.strip(), issued_on=issued_on, deadline=deadline,
                          provisional=provisional, status="open", created_by_id=actor.id)
    db.session.add(order)
    db.session.flush()
    audit.record("rectification.create", "rectification", order.id,
                 after=_rectification_snapshot(order), unit_id=unit_id, user=actor)
    return order


def get_rectification(actor, order_id: int) -> Rectification:
    order = db.session.get(Rectification, order_id)
    if order is None:
        raise NotFound("整改单不存在 (rectification order not found)")
    require_unit_access(actor, order.unit_id)
    return order


def rectifications_query(actor, *, unit_id=None, status=None, overdue_on: date | None = None):
    units = unit_scope(actor, unit_id)
    query = select(Rectification)
    if units is not None:
        query = query.where(Rectification.unit_id.in_(units))
    if status:
        query = query.where(Rectification.status == status)
    if overdue_on is not None:
        query = query.where(Rectification.status != "closed", Rectification.deadline < overdue_on)
    return query


def answer_rectification(actor, order: Rectification, answer: str) -> Rectification:
    from govmedia.errors import RuleConflict

    require_roles(actor, "sponsor")
    require_unit_access(actor, order.unit_id)
    if order.status == "closed":
        raise RuleConflict("整改单已关闭 (the order is closed)", code="invalid_transition")
    if not (answer or "").strip():
        raise Invalid("请填写整改情况 (answer: required)", fields={"answer": "required"})
    before = _rectification_snapshot(order)
    order.answer = answer.strip()
    order.answered_on = today_shanghai()
    order.answered_by_id = actor.id
    order.status = "answered"
    db.session.flush()
    audit.record("rectification.answer", "rectification", order.id, before=before,
                 after=_rectification_snapshot(order), unit_id=order.unit_id, user=actor)
    return order


def decide_rectification(actor, order: Rectification, close: bool, note: str = "",
                         deadline: date | None = None) -> Rectification:
    """A supervisor closes an order (fixed) or reopens it (not fixed), with a new deadline."""
    from govmedia.errors import RuleConflict

    require_roles(actor, "supervisor")
    before = _rectification_snapshot(order)
    if close:
        if order.status == "closed":
            raise RuleConflict("整改单已关闭 (already closed)", code="invalid_transition")
        order.status = "closed"
        order.closed_on = today_shanghai()
        order.closed_by_id = actor.id
    else:
        if order.status == "open":
            raise RuleConflict("整改单尚未答复或关闭，无需重新打开 (not answered or closed yet)",
                               code="invalid_transition")
        order.status = "open"
        order.closed_on = None
        order.closed_by_id = None
        if deadline is None:
            deadline, order.provisional = load_calendar().add_workdays(
                today_shanghai(), setting("SUPERVISION_RECTIFICATION_WORKDAYS"))
        order.deadline = deadline
    order.note = (note or "").strip() or None
    db.session.flush()
    audit.record("rectification.close" if close else "rectification.reopen", "rectification",
                 order.id, before=before, after=_rectification_snapshot(order),
                 unit_id=order.unit_id, user=actor)
    return order


def rectification_json(order: Rectification, as_of: date) -> dict:
    def iso(value):
        return value.isoformat() if value is not None else None

    return {"id": order.id, "unit_id": order.unit_id, "account_id": order.account_id,
            "kind": order.kind, "finding": order.finding, "issued_on": iso(order.issued_on),
            "deadline": iso(order.deadline), "provisional": order.provisional,
            "status": order.status, "overdue": order.overdue_on(as_of), "answer": order.answer,
            "answered_on": iso(order.answered_on), "closed_on": iso(order.closed_on),
            "note": order.note, "created_at": iso(order.created_at)}
