"""Filings (rule 4): each lifecycle event is filed by the 5th working day after it."""
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from govmedia import audit
from govmedia.auth import get_in_unit, require_roles, require_unit_access, scope_query
from govmedia.errors import Forbidden, Invalid
from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.models import User
from govmedia.profiles import profile_for
from govmedia.types import today_shanghai
from govmedia.workdays import WorkCalendar

from .checks import check_not_future
from .models import Filing


def filing_values(events: list[dict]) -> list[dict]:
    """Rule 4 for many events at once: each {account_id, event_id, unit_id, event, event_date}
    with its due date and whether that date is provisional (a year the calendar does not
    know yet), ready to insert."""
    calendar = load_calendar()
    dues, values = {}, []
    for e in events:
        # The filing period of the rule profile in force for the unit on the event's day.
        key = (e["event_date"], profile_for(e["unit_id"], e["event_date"]).filing_workdays)
        if key not in dues:
            dues[key] = calendar.add_workdays(*key)
        values.append(e | {"due_on": dues[key][0], "provisional": dues[key][1]})
    provisional = [v for v in values if v["provisional"]]
    if provisional:
        current_app.logger.warning(
            "%s provisional deadlines (first: event %s due %s): they rest on a year the holiday "
            "calendar does not know yet (statutory fallback plus admin entries)",
            len(provisional), provisional[0]["event_date"].isoformat(),
            provisional[0]["due_on"].isoformat())
    return values


def create_filing(account, event) -> Filing:
    """The filing of one event, added to the session."""
    [values] = filing_values([{"account_id": account.id, "event_id": event.id,
                               "unit_id": account.unit_id, "event": event.kind,
                               "event_date": event.event_date}])
    filing = Filing(**values)
    db.session.add(filing)
    return filing


def require_filing_role(actor: User, filing: Filing) -> None:
    """Who may record a filing (the unit's sponsor) or correct a recorded one (the unit's
    sponsor or a supervisor): Forbidden otherwise."""
    if filing.filed_on is None:
        require_roles(actor, "sponsor")
    else:
        require_roles(actor, "sponsor", "supervisor")
    require_unit_access(actor, filing.unit_id)


def may_record(actor: User, filing: Filing) -> bool:
    """Whether the account page offers this actor the filing's form."""
    try:
        require_filing_role(actor, filing)
    except Forbidden:
        return False
    return True


def complete_filing(actor: User, filing: Filing, filed_on: date, reference: str) -> Filing:
    """Record that a filing was made (the unit's sponsor), or correct a filing recorded
    wrongly (the unit's sponsor or a supervisor): audited as `filing.correct`."""
    correcting = filing.filed_on is not None
    require_filing_role(actor, filing)
    if filed_on < filing.event_date:
        raise Invalid(_("The filing date is before the event date"),
                      fields={"filed_on": "before event_date " + filing.event_date.isoformat()})
    check_not_future(today_shanghai(), filed_on=filed_on)
    before = {"filed_on": filing.filed_on, "reference": filing.reference}
    filing.filed_on = filed_on
    filing.reference = reference
    filing.completed_by_id = actor.id
    db.session.flush()
    audit.record("filing.correct" if correcting else "filing.complete", "filing", filing.id,
                 before=before, after={"filed_on": filed_on, "reference": reference},
                 unit_id=filing.unit_id, user=actor)
    return filing


def get_filing(actor: User, filing_id: int) -> Filing:
    return get_in_unit(actor, Filing, filing_id, _("Filing not found"))


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


def count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def provisional_unfiled(actor: User, as_of: date) -> int:
    """Unfiled filings whose due date may still move (the home and holiday pages say so)."""
    return count(filings_query(actor, as_of=as_of).where(Filing.provisional.is_(True),
                                                         Filing.filed_on.is_(None)))


def recompute_filing_deadlines(year: int, calendar: WorkCalendar) -> int:
    """After an admin enters a year's schedule: the due dates it can move. Registered with
    govmedia.holidays in registry.init_app."""
    # Five working days never span more than a month, even across Spring Festival.
    start, end = date(year - 1, 12, 1), date(year, 12, 31)
    changed = 0
    for filing in db.session.scalars(select(Filing).where(Filing.event_date >= start,
                                                          Filing.event_date <= end)):
        due, provisional = calendar.add_workdays(
            filing.event_date, profile_for(filing.unit_id, filing.event_date).filing_workdays)
        if (due, provisional) != (filing.due_on, filing.provisional):
            filing.due_on, filing.provisional = due, provisional
            changed += 1
    return changed
