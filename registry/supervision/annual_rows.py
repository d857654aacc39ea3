"""The annual report's figures in SQL (issue 16): the per-account row of a year as one
statement, so the database sums the unit and platform totals (one GROUP BY GROUPING SETS)
and a page of rows is built for its accounts only. A province's report has a hundred thousand
accounts; building all their rows in Python to show fifty took seconds (docs/SUPERVISION.md).

The definitions are annual.py's: an account is in the report when it was opened by the
report's day and its last deregistration decided by then (if it is being deregistered) is not
before the year; closed_on is its last closing or deregistration in the year up to the day;
posts are the yearly counts the outbox applier keeps, less the year's posts dated after the
day; messages only where the platform has an inbox.
"""
from datetime import date, datetime, time, timedelta

from sqlalchemy import ARRAY, Integer, and_, case, cast, func, or_, select, tuple_

from govmedia.auth import in_units
from govmedia.extensions import db
from govmedia.types import SHANGHAI
from interaction.models import Message
from interaction.services import REPLY_MAX_CHARS

from ..models import Account, AccountEvent, Post, Unit
from .figures import ORIGINAL
from .models import AccountYear, UnitDay

INBOX_PLATFORMS = tuple(sorted(REPLY_MAX_CHARS))   # the platforms whose messages come in
ENDING = ("close", "deregister")
GONE = ("deregistering", "deregistered")


def instant(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


class Period:
    """The report's year up to its day, and the accounts it may hold: those of `units` (None:
    every unit) or, for a page, the accounts `ids`."""

    def __init__(self, year: int, as_of: date, units: list[int] | None):
        self.year, self.as_of, self.units = year, as_of, units
        self.start, self.end = date(year, 1, 1), date(year, 12, 31)
        self.lo, self.hi = instant(self.start), instant(as_of + timedelta(days=1))

    def accounts(self):
        """The report's accounts (ids) before the deregistration test: opened by the day."""
        return select(Account.id).where(Account.opened_on <= self.as_of,
                                        in_units(Account.unit_id, self.units))


def _events(period: Period, ids):
    """account -> its last deregistration up to the day, and its last closing or
    deregistration in the year up to the day."""
    return (select(AccountEvent.account_id,
                   func.max(AccountEvent.event_date).filter(
                       AccountEvent.kind == "deregister").label("deregistered"),
                   func.max(AccountEvent.event_date).filter(
                       AccountEvent.event_date >= period.start).label("closed_on"))
            .where(AccountEvent.account_id.in_(ids), AccountEvent.event_date <= period.as_of,
                   AccountEvent.kind.in_(ENDING))
            .group_by(AccountEvent.account_id).subquery("ended"))


def _later_posts(period: Period, ids):
    """account -> its posts (and original ones) of the year dated after the day, looked for
    only in the units with such posts in the daily counts."""
    later_units = select(UnitDay.unit_id).where(UnitDay.day > period.as_of,
                                                UnitDay.day <= period.end,
                                                UnitDay.posts > 0).distinct()
    return (select(Post.account_id, func.count().label("posts"),
                   func.count().filter(Post.origin == ORIGINAL).label("original"))
            .join(Account, Account.id == Post.account_id)
            .where(Account.unit_id.in_(later_units), Post.account_id.in_(ids),
                   Post.published_at >= period.hi,
                   Post.published_at < instant(period.end + timedelta(days=1)))
            .group_by(Post.account_id).subquery("later"))


def _messages(period: Period, ids):
    return (select(Message.account_id, func.count().label("received"),
                   func.count().filter(and_(Message.replied_at.is_not(None),
                                            Message.replied_at < period.hi)).label("answered"))
            .where(Message.account_id.in_(ids), Message.received_at >= period.lo,
                   Message.received_at < period.hi)
            .group_by(Message.account_id).subquery("messages"))


def figures(period: Period, ids=None):
    """SELECT one row per account of the report (of `ids` only, when given: a page's), with
    its unit's name and sort key, in no order."""
    ids = period.accounts() if ids is None else ids
    ended, later = _events(period, ids), _later_posts(period, ids)
    messages = _messages(period, ids)
    inbox = Account.platform.in_(INBOX_PLATFORMS)

    def inbox_count(column):
        return case((inbox, func.coalesce(column, 0)), else_=None)

    return (select(Account.id.label("account_id"), Account.unit_id, Account.name,
                   Account.platform, Account.status, Account.opened_on,
                   Unit.name.label("unit_name"), Unit.name_sort.label("unit_sort"),
                   ended.c.closed_on,
                   (func.coalesce(AccountYear.posts, 0)
                    - func.coalesce(later.c.posts, 0)).label("posts"),
                   (func.coalesce(AccountYear.original, 0)
                    - func.coalesce(later.c.original, 0)).label("original"),
                   inbox_count(messages.c.received).label("messages_received"),
                   inbox_count(messages.c.answered).label("messages_answered"))
            .join(Unit, Unit.id == Account.unit_id)
            .outerjoin(ended, ended.c.account_id == Account.id)
            .outerjoin(AccountYear, and_(AccountYear.account_id == Account.id,
                                         AccountYear.year == period.year))
            .outerjoin(later, later.c.account_id == Account.id)
            .outerjoin(messages, messages.c.account_id == Account.id)
            .where(Account.id.in_(ids), or_(Account.status.not_in(GONE),
                                            ended.c.deregistered.is_(None),
                                            ended.c.deregistered >= period.start)))


def ordered(query, unit_sort, unit_id, platform, account_id):
    """The report's order: by sponsor unit (natural name order), platform, account."""
    return query.order_by(unit_sort, unit_id, platform, account_id)


def page_ids(period: Period, limit: int, offset: int) -> list[int]:
    """The ids of one page of the report's accounts, in the report's order: the
    deregistration test as two EXISTS, no figure computed."""
    def deregistered(*when):
        return (select(AccountEvent.id).where(AccountEvent.account_id == Account.id,
                                              AccountEvent.kind == "deregister", *when)
                .exists())

    gone = and_(Account.status.in_(GONE), deregistered(AccountEvent.event_date <= period.as_of),
                ~deregistered(AccountEvent.event_date >= period.start,
                              AccountEvent.event_date <= period.as_of))
    query = (select(Account.id).join(Unit, Unit.id == Account.unit_id)
             .where(Account.opened_on <= period.as_of, in_units(Account.unit_id, period.units),
                    ~gone))
    query = ordered(query, Unit.name_sort, Unit.id, Account.platform, Account.id)
    return list(db.session.scalars(query.limit(limit).offset(offset)))


def page_rows(period: Period, ids: list[int]):
    """The figures of the accounts `ids`, in the report's order."""
    rows = figures(period, select(func.unnest(cast(ids, ARRAY(Integer))))).subquery()
    return db.session.execute(select(rows).order_by(rows.c.unit_sort, rows.c.unit_id,
                                                    rows.c.platform, rows.c.account_id)).all()


def all_rows(period: Period):
    """Every account's figures, in the report's order (the XLSX, the issued report)."""
    rows = figures(period).subquery()
    return db.session.execute(select(rows).order_by(rows.c.unit_sort, rows.c.unit_id,
                                                    rows.c.platform, rows.c.account_id)).all()


def totals(period: Period) -> tuple[list, list, object]:
    """(per unit in the report's unit order, per platform by code, the grand total): each a
    row of accounts, opened, closed, posts, original, messages received and answered, summed
    by the database over every account of the report."""
    rows = figures(period).subquery()
    grouping = func.grouping(rows.c.unit_id, rows.c.platform)
    sums = (select(grouping.label("level"), rows.c.unit_id, rows.c.unit_name, rows.c.unit_sort,
                   rows.c.platform, func.count().label("accounts"),
                   func.count().filter(rows.c.opened_on >= period.start).label("opened"),
                   func.count(rows.c.closed_on).label("closed"),
                   *[func.coalesce(func.sum(rows.c[name]), 0).label(name) for name in
                     ("posts", "original", "messages_received", "messages_answered")])
            .group_by(func.grouping_sets(tuple_(rows.c.unit_id, rows.c.unit_name,
                                                rows.c.unit_sort),
                                         tuple_(rows.c.platform), tuple_())))
    by_unit, by_platform, grand = [], [], None
    for row in db.session.execute(sums):
        if row.level == 3:
            grand = row
        elif row.level == 1:
            by_unit.append(row)
        else:
            by_platform.append(row)
    by_unit.sort(key=lambda r: (r.unit_sort, r.unit_id))
    by_platform.sort(key=lambda r: r.platform)
    return by_unit, by_platform, grand
