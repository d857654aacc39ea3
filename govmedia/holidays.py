"""The working-day calendar as the app uses it: the library, the fallback and what admins entered."""
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from . import audit
from .auth import require_roles
from .context import scoped_cache
from .errors import Invalid
from .extensions import db
from .models import HolidayOverride, HolidayYear
from .workdays import WorkCalendar

_RECOMPUTE = "govmedia_deadline_recompute"


def load_calendar() -> WorkCalendar:
    """One calendar per request or job; admin entries are few, so they are read whole."""
    cache = scoped_cache()
    if "work_calendar" not in cache:
        overrides = db.session.execute(select(HolidayOverride.day, HolidayOverride.workday)).all()
        years = db.session.scalars(select(HolidayYear.year)).all()
        cache["work_calendar"] = WorkCalendar(overrides=[(d, w) for d, w in overrides],
                                              confirmed_years=years)
    return cache["work_calendar"]


def forget_calendar() -> None:
    scoped_cache().pop("work_calendar", None)


def year_overrides(year: int) -> list[HolidayOverride]:
    return db.session.scalars(select(HolidayOverride).where(
        HolidayOverride.day >= date(year, 1, 1), HolidayOverride.day <= date(year, 12, 31))
        .order_by(HolidayOverride.day)).all()


def confirmed_year(year: int) -> HolidayYear | None:
    return db.session.get(HolidayYear, year)


def years_with_entries() -> set[int]:
    """Years an admin confirmed or entered days for."""
    return (set(db.session.scalars(select(HolidayYear.year)).all())
            | {d.year for d in db.session.scalars(select(HolidayOverride.day))})


def register_deadline_recompute(app, fn) -> None:
    """`fn(year, calendar) -> changed count` runs when an admin enters a year's schedule: each
    package whose deadlines count working days registers its own in its `init_app`."""
    app.extensions.setdefault(_RECOMPUTE, []).append(fn)


def enter_schedule(actor, year: int, entries: list[tuple[date, bool, str]], *, confirm: bool,
                   replace: bool = True) -> dict:
    """Store a year's official schedule and recompute every deadline that depends on it."""
    require_roles(actor)  # admins only
    for day, _workday, _name in entries:
        if day.year != year:
            raise Invalid(_("%(day)s is not in %(year)s", day=day.isoformat(), year=year),
                          fields={"entries": f"{day.isoformat()} is not in {year}"})
    before = [(o.day.isoformat(), o.workday, o.name) for o in year_overrides(year)]
    if replace:
        db.session.execute(delete(HolidayOverride).where(HolidayOverride.day >= date(year, 1, 1),
                                                         HolidayOverride.day <= date(year, 12, 31)))
    else:
        db.session.execute(delete(HolidayOverride).where(
            HolidayOverride.day.in_([d for d, _, _ in entries])))
    db.session.flush()
    for day, workday, name in entries:
        db.session.add(HolidayOverride(day=day, workday=workday, name=name or "",
                                       entered_by_id=getattr(actor, "id", None)))
    confirmed = db.session.get(HolidayYear, year)
    if confirm and confirmed is None:
        db.session.add(HolidayYear(year=year, confirmed_by_id=getattr(actor, "id", None)))
    elif not confirm and confirmed is not None:
        db.session.delete(confirmed)
    db.session.flush()
    forget_calendar()
    calendar = load_calendar()
    changed = sum(recompute(year, calendar)
                  for recompute in current_app.extensions.get(_RECOMPUTE, []))
    db.session.flush()
    current_app.logger.info("holiday schedule for %s entered: %s deadlines recomputed", year,
                            changed)
    audit.record("holidays.enter", "holiday_year", year, before={"entries": before},
                 after={"entries": [(d.isoformat(), w, n) for d, w, n in entries],
                        "confirmed": confirm, "deadlines_changed": changed}, user=actor)
    return {"year": year, "entries": len(entries), "confirmed": confirm,
            "deadlines_changed": changed}
