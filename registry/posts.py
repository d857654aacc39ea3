"""An account's updates and audience (rules 3 and 5): the one way to record a post, and dormancy."""
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm.util import identity_key

from govmedia.auth import require_roles, require_unit_access
from govmedia.extensions import db
from govmedia.models import User
from govmedia.holidays import load_calendar
from govmedia.profiles import profile_for
from govmedia.types import SHANGHAI, UTCDateTime, shanghai_date, today_shanghai, utcnow

from .models import POST_ORIGINS, Account, AccountStat, Post


# The post and the account's last update in one statement (one round trip, and atomic on the
# delivery job's autocommit connection). The platform's id makes a post idempotent per
# account: the publisher's post and the sync finding it again, or a sync run repeated after it
# stopped half-way, meet at ON CONFLICT. The last update is a conditional UPDATE, not
# read-modify-write: a concurrent writer may have recorded a later post since the caller
# loaded the account; the account row is what concurrent posts to one account wait for.
_ONE = text("""
    WITH new AS (
      INSERT INTO posts (account_id, published_at, title, url, source, origin,
                         platform_post_id, created_by_id, counted, created_at)
      VALUES (:account_id, :at, :title, :url, :source, :origin, :platform_post_id,
              :created_by_id, false, :now)
      ON CONFLICT (account_id, platform_post_id) DO NOTHING
      RETURNING id, account_id, published_at),
    moved AS (
      UPDATE accounts AS a SET last_post_at = new.published_at, updated_at = :now FROM new
      WHERE a.id = new.account_id
        AND (a.last_post_at IS NULL OR a.last_post_at < new.published_at))
    SELECT id FROM new""").bindparams(bindparam("at", type_=UTCDateTime),
                                      bindparam("now", type_=UTCDateTime))


def origin_of(source: str) -> str:
    """The origin a post gets when its writer names none: the publisher's are govmedia's."""
    return "govmedia" if source == "publisher" else "manual"


def record_post(account_id: int, published_at: datetime, title: str, url: str | None,
                source: str, *, created_by_id: int | None = None, connection=None,
                platform_post_id: str | None = None, origin: str | None = None) -> int | None:
    """Record an update of an account (rule 5), with no permission check; returns the post's
    id, or None when the account already has a post with this `platform_post_id`.

    One statement in the caller's transaction (the session's, or `connection`'s: the delivery
    job's autocommit connection): the post, and the account's last update if it is later. The
    post is written uncounted — the posts table is the posts' outbox — and supervision's
    derived figures take it in registry.supervision.pending.apply_pending, which every reader
    of those figures runs first."""
    origin = origin or origin_of(source)
    if origin not in POST_ORIGINS:
        raise ValueError(f"unknown post origin {origin}")
    values = {"account_id": account_id, "at": published_at, "title": (title or "")[:500],
              "url": url, "source": source, "created_by_id": created_by_id, "now": utcnow(),
              "origin": origin,
              "platform_post_id": str(platform_post_id)[:200] if platform_post_id else None}
    conn = db.session if connection is None else connection
    post_id = conn.execute(_ONE, values).scalar_one_or_none()
    if post_id is None:
        return None  # already recorded: the account's last update has it too
    if connection is None:
        loaded = db.session.identity_map.get(identity_key(Account, account_id))
        if loaded is not None:
            db.session.expire(loaded, ["last_post_at", "updated_at"])
    return post_id


# Many posts of many accounts in one statement of fixed text (compiled once, whatever the
# number of posts): the posts from arrays, skipping platform ids their account has, and each
# account's last update moved to the latest of those recorded if later (as record_post).
_MANY = text("""
    WITH new AS (
      INSERT INTO posts (account_id, published_at, title, url, source, origin,
                         platform_post_id, created_by_id, counted, created_at)
      SELECT p.account_id, p.published_at, p.title, p.url, :source, :origin,
             p.platform_post_id, :created_by_id, false, :now
      FROM unnest(CAST(:accounts AS integer[]), CAST(:published AS timestamptz[]),
                  CAST(:titles AS varchar[]), CAST(:urls AS varchar[]),
                  CAST(:platform_ids AS varchar[]))
           AS p(account_id, published_at, title, url, platform_post_id)
      ON CONFLICT (account_id, platform_post_id) DO NOTHING
      RETURNING id, account_id, published_at),
    moved AS (
      UPDATE accounts AS a SET last_post_at = m.latest, updated_at = :now
      FROM (SELECT account_id, max(published_at) AS latest FROM new GROUP BY account_id) AS m
      WHERE a.id = m.account_id AND (a.last_post_at IS NULL OR a.last_post_at < m.latest))
    SELECT account_id, id FROM new""")
MANY_ROWS = 2000   # rows per statement


def record_posts(posts_by_account: dict[int, list[dict]], source: str, *, origin: str,
                 created_by_id: int | None = None) -> dict[int, list[int]]:
    """record_post for many posts of many accounts at once (the activity sync writes a batch
    of accounts in one transaction), in the session's transaction: one statement per 2,000
    posts, which also moves each account's last update. Each post: {published_at, title, url,
    platform_post_id}. Returns, per account, the ids of the posts recorded now (not those the
    account already had by platform id)."""
    if origin not in POST_ORIGINS:
        raise ValueError(f"unknown post origin {origin}")
    rows = []
    for account_id, posts in posts_by_account.items():
        # One row per platform id: a listing may show a post twice (pages shifting under it).
        unique = {p.get("platform_post_id") or id(p): p for p in posts}
        rows += [(account_id, p) for p in unique.values()]
    made: dict[int, list[int]] = {}
    for start in range(0, len(rows), MANY_ROWS):
        chunk = rows[start:start + MANY_ROWS]
        for account_id, post_id in db.session.execute(_MANY, {
                "source": source, "origin": origin, "created_by_id": created_by_id,
                "now": utcnow(), "accounts": [a for a, _p in chunk],
                "published": [p["published_at"] for _a, p in chunk],
                "titles": [(p.get("title") or "")[:500] for _a, p in chunk],
                "urls": [(p.get("url") or None) for _a, p in chunk],
                "platform_ids": [str(p["platform_post_id"])[:200] if p.get("platform_post_id")
                                 else None for _a, p in chunk]}):
            made.setdefault(account_id, []).append(post_id)
    for account_id in made:
        loaded = db.session.identity_map.get(identity_key(Account, account_id))
        if loaded is not None:
            db.session.expire(loaded, ["last_post_at", "updated_at"])
    return made


def record_post_as(actor: User, account: Account, published_at: datetime, title: str,
                   url: str | None, source: str = "api") -> Post:
    """record_post for a sponsor or editor of the account's unit (the API, the pages)."""
    require_roles(actor, "sponsor", "editor")
    require_unit_access(actor, account.unit_id)
    post_id = record_post(account.id, published_at, title, url, source, created_by_id=actor.id)
    # What was recorded, as given (the caller echoes it): not loaded back from the database.
    return Post(id=post_id, account_id=account.id, published_at=published_at,
                title=(title or "")[:500], url=url, source=source, created_by_id=actor.id,
                counted=False, origin="manual")


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


def last_update_on(account: Account, as_of: date) -> date:
    """Rule 5: the last post on or before as_of (Shanghai days), else opening or reopening."""
    end = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=SHANGHAI)
    if account.last_post_at is not None and account.last_post_at < end:
        last_post = account.last_post_at
    else:
        last_post = db.session.scalar(select(func.max(Post.published_at)).where(
            Post.account_id == account.id, Post.published_at < end))
    candidates = [d for d in (account.opened_on, account.reopened_on) if d and d <= as_of]
    if last_post is not None:
        candidates.append(shanghai_date(last_post))
    return max(candidates) if candidates else account.opened_on


def dormancy(account: Account, as_of: date | None = None) -> dict:
    """Rule 5 for one account as of a day: days since its last update, and its band under
    the rule profile in force for its unit that day."""
    as_of = as_of or today_shanghai()
    last = last_update_on(account, as_of)
    days = (as_of - last).days
    band = None
    if account.status == "active":
        profile = profile_for(account.unit_id, as_of)
        band = profile.band(last, as_of, load_calendar() if profile.window_unit == "workdays"
                            else None)
    return {"last_update_on": last, "days_since_update": days, "band": band,
            "dormant": band == "dormant"}
