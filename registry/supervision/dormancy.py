"""Rule 5, set-based: which accounts are in the warning band or dormant as of a day, for all.

Rule 5 is defined once, for one account, in registry.posts.last_update_on / dormancy. The
set-based forms here answer the same question for every account at once from the derived
figures (figures.py), brought up to date first; the tests check the two agree on random data.
Each unit's numbers are those of the rule profile in force for it that day (govmedia.profiles):
a profile's window becomes two cut-off dates per day, joined to the units it holds for.
"""
from datetime import date, timedelta

from sqlalchemy import (Date, Integer, and_, case, column, func, literal, or_, select, true,
                        type_coerce)
from sqlalchemy import values as values_table

from govmedia.auth import in_units, unit_scope
from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.profiles import differs_somewhere, unit_profiles
from govmedia.rules import DORMANT_AFTER_DAYS, WARNING_FROM_DAYS

from ..models import Account
from .figure_cache import cached_figure
from .models import DayTotal, UpdateGap
from .pending import apply_pending


def _later(a, b):
    """The later of two dates in SQL; b may be NULL (then a)."""
    return type_coerce(case((b > a, b), else_=a), Date)


def band_rows(t, t7):
    """SELECT (account_id, unit_id, last) for active accounts whose last update as of t is on
    or before t7 (= t - 7 days): the same rule as registry.posts.last_update_on."""
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


def window_cutoffs(as_of: date, units):
    """The root's (warning_cut, dormant_cut) on as_of, and {unit_id: cuts} for the units whose
    profile that day draws another window."""
    root, mapping = unit_profiles(as_of, units)
    others = {u: p for u, p in mapping.items() if not p.same_window(root)}
    needs_calendar = root.window_unit == "workdays" or any(
        p.window_unit == "workdays" for p in others.values())
    calendar = load_calendar() if needs_calendar else None
    per_profile = {}
    for profile in {root, *others.values()}:
        per_profile[profile] = profile.cutoffs(as_of, calendar)
    return per_profile[root], {u: per_profile[p] for u, p in others.items()}


def band_subquery(as_of: date, units):
    """(account_id, unit_id, last, dormant) of the accounts in the band as of a day, in these
    units; `dormant` is true past the window, false in the warning band."""
    apply_pending()
    (warn, dormant), cuts = window_cutoffs(as_of, units)
    loosest = max([warn, *(w for w, _d in cuts.values())])
    rows = band_rows(literal(as_of, Date), literal(loosest, Date)).subquery("banded")
    if cuts:
        unit_cuts = values_table(column("unit_id", Integer), column("warning_cut", Date),
                                 column("dormant_cut", Date), name="unit_cuts").data(
            [(u, w, d) for u, (w, d) in sorted(cuts.items())])
        warn_col = func.coalesce(unit_cuts.c.warning_cut, literal(warn, Date))
        dormant_col = func.coalesce(unit_cuts.c.dormant_cut, literal(dormant, Date))
        query = (select(rows.c.account_id, rows.c.unit_id, rows.c.last,
                        (rows.c.last <= dormant_col).label("dormant"))
                 .select_from(rows.outerjoin(unit_cuts, unit_cuts.c.unit_id == rows.c.unit_id))
                 .where(rows.c.last <= warn_col))
    else:
        query = select(rows, (rows.c.last <= literal(dormant, Date)).label("dormant")).where(
            rows.c.last <= literal(warn, Date))
    if units is not None:
        query = query.where(in_units(rows.c.unit_id, units))
    return query.subquery("band")


@cached_figure
def dormant_list(actor, as_of: date, *, include_warning: bool = False, unit_id=None,
                 limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Rule 5 as of a day: active accounts past their window without an update (and those in
    the warning band with include_warning), longest first."""
    units = unit_scope(actor, unit_id)
    band = band_subquery(as_of, units)
    where = true() if include_warning else band.c.dormant
    # One pass: the page and the total together (a window count), not two executions.
    rows = db.session.execute(
        select(band.c.account_id, band.c.unit_id, band.c.last, band.c.dormant, Account.platform,
               Account.name, func.count().over().label("total"))
        .join(Account, Account.id == band.c.account_id).where(where)
        .order_by(band.c.last, band.c.account_id).limit(limit).offset(offset)).all()
    total = rows[0].total if rows else db.session.scalar(
        select(func.count()).select_from(band).where(where))
    items = []
    for account_id, unit, last, dormant, platform, name, _total in rows:
        items.append({"account_id": account_id, "unit_id": unit, "platform": platform,
                      "name": name, "last_update_on": last.isoformat(),
                      "days_since_update": (as_of - last).days,
                      "band": "dormant" if dormant else "warning"})
    return items, total


def band_counts(as_of: date, units) -> dict[int, dict]:
    """{unit_id: {"dormant": n, "warning": n}} as of a day."""
    band = band_subquery(as_of, units)
    rows = db.session.execute(select(
        band.c.unit_id, func.sum(case((band.c.dormant, 1), else_=0)), func.count())
        .group_by(band.c.unit_id)).all()
    return {u: {"dormant": int(d), "warning": int(n) - int(d)} for u, d, n in rows}


def _summed_per_day(days, units) -> list[tuple[int, int]]:
    """(dormant, dormant + warning) as of each day, one band query a day: the form that
    honours every unit's profile, for when some window differs from the seeds'."""
    out = []
    for day in days:
        counts = band_counts(day, units).values()
        dormant = sum(c["dormant"] for c in counts)
        out.append((dormant, dormant + sum(c["warning"] for c in counts)))
    return out


def band_totals(days: list[date]) -> list[tuple[int, int]]:
    """(dormant, dormant + warning) over all units as of each day: prefix sums of
    supervision_day_totals (a few hundred rows), which count the seeds' window."""
    apply_pending()
    if differs_somewhere(days):
        return _summed_per_day(days, None)
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


def _days_since(day_col, origin: date):
    """Whole days from origin to a date column, in SQL."""
    return day_col - literal(origin, Date)


def weekly_bands(ends: list[date], units) -> list[tuple[int, int]]:
    """(dormant, dormant + warning) as of each week-end in `ends` (7 days apart), in one pass.

    Each stretch between update days puts an account in the band for a run of consecutive
    week-ends; the database returns how many stretches start and stop their run at each week
    (a difference array), so the cost is one scan of the stretches overlapping the window, not
    one query per week. Stretches that an opening or reopening day splits, and accounts without
    a post yet, are few and are evaluated one by one with the same rule.
    """
    apply_pending()
    if differs_somewhere(ends):
        return _summed_per_day(ends, units)
    t0, weeks = ends[0], len(ends)
    last_t7 = ends[-1] - timedelta(days=WARNING_FROM_DAYS)
    s, e = UpdateGap.start_day, UpdateGap.end_day

    def inside(day_col):
        return and_(day_col > s, or_(e.is_(None), day_col < e))

    base = (select().select_from(UpdateGap).join(Account, Account.id == UpdateGap.account_id)
            .where(Account.status == "active", or_(e.is_(None), e > t0), s <= last_t7))
    if units is not None:
        base = base.where(in_units(Account.unit_id, units))
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
        q = q.where(in_units(Account.unit_id, units))
    for opened, reopened, first in db.session.execute(q):
        for k, t in enumerate(ends):
            if first is None or first > t:
                add(k, max(d for d in (opened, reopened) if d and d <= t) if opened <= t
                    else opened, t)
    return [tuple(x) for x in out]
