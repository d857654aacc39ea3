"""Rule 5's derived figures: update gaps, first update day, posts per unit and day, day totals;
and the annual report's posts per account and year.

They are derived from posts and from each account's opening, reopening and status, and only
pending.apply_pending (and rebuild_all) writes them: callers never see them half updated.
"""
from collections import Counter, defaultdict
from datetime import date, timedelta

from sqlalchemy import Date, delete, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert

from govmedia.extensions import db
from govmedia.rules import DORMANT_AFTER_DAYS, SHORTEST_WARNING, WARNING_FROM_DAYS
from govmedia.types import shanghai_date

from ..models import Account, Post
from .models import AccountYear, DayTotal, UnitDay, UpdateGap

# A stretch between two updates reaches a warning band only if it lasts this many days: the
# shortest band a rule profile may set (its warning day, in days or working days) decides.
GAP_KEPT_FROM = SHORTEST_WARNING + 1


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
    band. Status is not looked at (the caller counts active accounts only)."""
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


def apply_marks(delta: Counter, connection=None) -> None:
    """Add a difference of marks to supervision_day_totals (an upsert: concurrent writers add up)."""
    per_day = defaultdict(lambda: [0, 0])
    for (day, key), n in delta.items():
        if n:
            per_day[day][key] += n
    conn = db.session if connection is None else connection
    for day in sorted(per_day):
        band, dormant = per_day[day]
        if not band and not dormant:
            continue
        stmt = insert(DayTotal).values(day=day, band=band, dormant=dormant, posts=0)
        conn.execute(stmt.on_conflict_do_update(index_elements=["day"], set_={
            "band": DayTotal.band + band, "dormant": DayTotal.dormant + dormant}))


def gaps_of(ids, connection=None) -> dict[int, list]:
    """The kept update gaps of these accounts, as they are now."""
    conn = db.session if connection is None else connection
    stretches = defaultdict(list)
    for account_id, start, end in conn.execute(
            select(UpdateGap.account_id, UpdateGap.start_day, UpdateGap.end_day)
            .where(UpdateGap.account_id.in_(ids))):
        stretches[account_id].append((start, end))
    return stretches


def account_marks(ids, connection=None) -> Counter:
    """The marks of these accounts from their current gaps, first post, opening and reopening
    (none for an account that is not active now: it never counts)."""
    conn = db.session if connection is None else connection
    stretches = gaps_of(ids, conn)
    total = Counter()
    for account_id, first, opened, reopened in conn.execute(
            select(Account.id, Account.first_post_on, Account.opened_on, Account.reopened_on)
            .where(Account.id.in_(ids), Account.status == "active")):
        total.update(band_marks(stretches.get(account_id, ()), first, opened, reopened))
    return total


def refresh_accounts(account_ids) -> None:
    """Recompute the update gaps and first update day of these accounts from all their posts,
    and their share of supervision_day_totals. The caller holds the accounts' row locks, so
    two writers never rebuild one account's gaps at the same time."""
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        delta = Counter()
        delta.subtract(account_marks(chunk))
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
            db.session.execute(update(Account.__table__).where(Account.id == account_id)
                               .values(first_post_on=first))
        delta.update(account_marks(chunk))
        apply_marks(delta)


# The annual report's origin of an original post: drafted and reviewed three times here.
ORIGINAL = "govmedia"
# The next `limit` posts not counted yet, counted in one statement: the per-unit daily counts,
# the day totals and the per-account yearly counts take them (upserts: they add up), and the
# posts are marked counted. Per account, how many it had and whether one of them falls on a
# day none of its counted posts had (all sub-statements read the snapshot from before the
# marking): only those accounts' update gaps can move. Run under the appliers' lock.
_COUNT_BATCH = text("""
    WITH batch AS (
      SELECT p.id, p.account_id, p.origin, a.unit_id,
             (p.published_at AT TIME ZONE 'Asia/Shanghai')::date AS day
      FROM posts p JOIN accounts a ON a.id = p.account_id
      WHERE NOT p.counted ORDER BY p.id LIMIT :limit),
    marked AS (
      UPDATE posts SET counted = true FROM batch WHERE posts.id = batch.id),
    unit_days AS (
      INSERT INTO supervision_unit_days (unit_id, day, posts)
      SELECT unit_id, day, count(*) FROM batch GROUP BY unit_id, day
      ON CONFLICT (unit_id, day) DO UPDATE
      SET posts = supervision_unit_days.posts + excluded.posts),
    day_totals AS (
      INSERT INTO supervision_day_totals (day, band, dormant, posts)
      SELECT day, 0, 0, count(*) FROM batch GROUP BY day
      ON CONFLICT (day) DO UPDATE SET posts = supervision_day_totals.posts + excluded.posts),
    years AS (
      INSERT INTO supervision_account_years (account_id, year, posts, original)
      SELECT account_id, extract(year FROM day)::int, count(*),
             count(*) FILTER (WHERE origin = :original)
      FROM batch GROUP BY 1, 2
      ON CONFLICT (account_id, year) DO UPDATE
      SET posts = supervision_account_years.posts + excluded.posts,
          original = supervision_account_years.original + excluded.original)
    SELECT b.account_id, count(*) AS posts,
           bool_or(NOT EXISTS (
             SELECT FROM posts q WHERE q.account_id = b.account_id AND q.counted
             AND q.published_at >= b.day::timestamp AT TIME ZONE 'Asia/Shanghai'
             AND q.published_at < (b.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'))
           AS new_day
    FROM batch b GROUP BY b.account_id""")


def count_batch(limit: int) -> list:
    """Count the next `limit` uncounted posts into the daily, day-total and yearly counts in
    one statement; rows (account_id, posts, new_day) per account of the batch."""
    return db.session.execute(_COUNT_BATCH, {"limit": limit, "original": ORIGINAL}).all()


def uncount_post(row) -> None:
    """Take one counted post (a row with unit_id, account_id, published_at, origin) out of the
    per-unit daily counts, the day totals and its account's yearly counts."""
    values = {"unit_id": row.unit_id, "day": shanghai_date(row.published_at),
              "account_id": row.account_id, "year": shanghai_date(row.published_at).year,
              "original": int(row.origin == ORIGINAL)}
    db.session.execute(text("UPDATE supervision_unit_days SET posts = posts - 1 "
                            "WHERE unit_id = :unit_id AND day = :day"), values)
    db.session.execute(text("UPDATE supervision_day_totals SET posts = posts - 1 "
                            "WHERE day = :day"), values)
    db.session.execute(text("UPDATE supervision_account_years SET posts = posts - 1, "
                            "original = original - CAST(:original AS integer) "
                            "WHERE account_id = :account_id AND year = :year"), values)
    # Rows left empty go, as a rebuild would never have written them.
    db.session.execute(text("DELETE FROM supervision_unit_days "
                            "WHERE unit_id = :unit_id AND day = :day AND posts = 0"), values)
    db.session.execute(text("DELETE FROM supervision_day_totals WHERE day = :day "
                            "AND posts = 0 AND band = 0 AND dormant = 0"), values)
    db.session.execute(text("DELETE FROM supervision_account_years "
                            "WHERE account_id = :account_id AND year = :year AND posts = 0"),
                       values)


def rebuild_day_totals_with(connection) -> None:
    """Recompute supervision_day_totals from the gaps, the accounts and the daily unit counts
    (a migration, rebuild_all)."""
    connection.execute(delete(DayTotal))
    ids = [i for (i,) in connection.execute(select(Account.id).order_by(Account.id))]
    total = Counter()
    for start in range(0, len(ids), 5000):
        total.update(account_marks(ids[start:start + 5000], connection))
    apply_marks(total, connection)
    for day, n in connection.execute(select(UnitDay.day, func.sum(UnitDay.posts))
                                     .group_by(UnitDay.day)).all():
        connection.execute(DayTotal.__table__.update().where(DayTotal.day == day)
                           .values(posts=int(n)))
        connection.execute(DayTotal.__table__.insert().from_select(
            ["day", "band", "dormant", "posts"],
            select(literal(day, Date), literal(0), literal(0), literal(int(n))).where(
                ~select(DayTotal.day).where(DayTotal.day == day).exists())))


def rebuild_posts_figures() -> int:
    """Recompute the gaps, first update days, daily counts and day totals from every post, set
    based; every post counts as counted afterwards. Returns the number of gap rows."""
    db.session.execute(update(Post).where(~Post.counted).values(counted=True))
    db.session.execute(delete(UpdateGap))
    db.session.execute(delete(UnitDay))
    db.session.execute(delete(AccountYear))
    db.session.execute(text("""
        INSERT INTO supervision_account_years (account_id, year, posts, original)
        SELECT account_id, extract(year FROM published_at AT TIME ZONE 'Asia/Shanghai')::int,
               count(*), count(*) FILTER (WHERE origin = :original)
        FROM posts GROUP BY 1, 2"""), {"original": ORIGINAL})
    db.session.execute(text("""
        WITH d AS (SELECT DISTINCT account_id, (published_at AT TIME ZONE 'Asia/Shanghai')::date AS day
                   FROM posts),
             n AS (SELECT account_id, day, lead(day) OVER (PARTITION BY account_id ORDER BY day) AS nxt
                   FROM d)
        INSERT INTO supervision_gaps (account_id, start_day, end_day)
        SELECT account_id, day, nxt FROM n WHERE nxt IS NULL OR nxt - day >= :kept"""),
        {"kept": GAP_KEPT_FROM})
    db.session.execute(text("""
        UPDATE accounts a SET first_post_on = f.first FROM (
          SELECT account_id, min((published_at AT TIME ZONE 'Asia/Shanghai')::date) AS first
          FROM posts GROUP BY account_id) f WHERE f.account_id = a.id"""))
    db.session.execute(text("""
        INSERT INTO supervision_unit_days (unit_id, day, posts)
        SELECT a.unit_id, (p.published_at AT TIME ZONE 'Asia/Shanghai')::date, count(*)
        FROM posts p JOIN accounts a ON a.id = p.account_id GROUP BY 1, 2"""))
    rebuild_day_totals_with(db.session.connection())
    return db.session.scalar(select(func.count()).select_from(UpdateGap))
