"""Rule 7: rectification orders (整改) handed to a unit with a deadline, answered, closed."""
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from govmedia import audit
from govmedia.auth import in_units, require_roles, require_unit_access, unit_scope
from govmedia.errors import Invalid, NotFound, RuleConflict
from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.notify import notify, unit_users
from govmedia.types import today_shanghai

from ..labels import GROUPS, N_
from ..models import Account, Unit
from .models import Rectification


# Display names of this package's codes, shown through registry.labels.label()
# (here, beside the codes, so every caller of label() finds them).
GROUPS["rectification"] = {"open": N_("Awaiting rectification"), "answered": N_("Answered"),
                           "closed": N_("Closed out")}
GROUPS["finding"] = {"dormant": N_("Not updated (rule 5)"),
                     "overdue_filing": N_("Filing overdue (rule 4)"),
                     "duplicate": N_("Duplicate accounts (rule 3)"),
                     "naming": N_("Naming (rule 2)"),
                     "prerequisites": N_("Opening prerequisites (rule 1)"),
                     "content": N_("Content"), "other": N_("Other")}


RECTIFICATION_KINDS = ("dormant", "overdue_filing", "duplicate", "naming", "prerequisites",
                       "content", "other")


# Who is told of an order for their unit (as the daily reminders: registry.supervision.jobs).
ORDER_RECIPIENTS = ("sponsor", "editor")


def _rectification_snapshot(order: Rectification) -> dict:
    return {"unit_id": order.unit_id, "account_id": order.account_id, "kind": order.kind,
            "finding": order.finding, "deadline": order.deadline, "status": order.status,
            "answer": order.answer, "note": order.note}


def create_rectification(actor, unit_id: int, kind: str, finding: str, *,
                         account_id: int | None = None, deadline: date | None = None,
                         issued_on: date | None = None) -> Rectification:
    require_roles(actor, "supervisor")
    if db.session.get(Unit, unit_id) is None:
        raise Invalid(_("Unit not found"), fields={"unit_id": "not found"})
    require_unit_access(actor, unit_id)
    if kind not in RECTIFICATION_KINDS:
        raise Invalid(_("Unknown kind of rectification"), fields={"kind": "one of " + ", ".join(
            RECTIFICATION_KINDS)})
    if not (finding or "").strip():
        raise Invalid(_("Describe the finding"), fields={"finding": "required"})
    if account_id is not None:
        account = db.session.get(Account, account_id)
        if account is None or account.unit_id != unit_id:
            raise Invalid(_("The account is not the unit's"),
                          fields={"account_id": "not an account of this unit"})
    issued_on = issued_on or today_shanghai()
    provisional = False
    if deadline is None:
        deadline, provisional = load_calendar().add_workdays(
            issued_on, current_app.config["SUPERVISION_RECTIFICATION_WORKDAYS"])
    elif deadline < issued_on:
        raise Invalid(_("The deadline is before the issue date"),
                      fields={"deadline": "before issued_on"})
    order = Rectification(unit_id=unit_id, account_id=account_id, kind=kind,
                          finding=finding.strip(), issued_on=issued_on, deadline=deadline,
                          provisional=provisional, status="open", created_by_id=actor.id)
    db.session.add(order)
    db.session.flush()
    audit.record("rectification.create", "rectification", order.id,
                 after=_rectification_snapshot(order), unit_id=unit_id, user=actor)
    notify(unit_users(unit_id, *ORDER_RECIPIENTS), "rectification_order",
           f"/supervision/rectifications/{order.id}",
           {"id": order.id, "deadline": deadline.isoformat(), "finding": order.finding[:60]},
           key=f"rectification_order:{order.id}", unit_id=unit_id)
    return order


def get_rectification(actor, order_id: int) -> Rectification:
    order = db.session.get(Rectification, order_id)
    if order is None:
        raise NotFound(_("Rectification order not found"))
    require_unit_access(actor, order.unit_id)
    return order


def rectifications_query(actor, *, unit_id=None, status=None, overdue_on: date | None = None):
    """The orders in the actor's sight, earliest deadline first."""
    units = unit_scope(actor, unit_id)
    query = select(Rectification)
    if units is not None:
        query = query.where(in_units(Rectification.unit_id, units))
    if status:
        query = query.where(Rectification.status == status)
    if overdue_on is not None:
        query = query.where(Rectification.status != "closed", Rectification.deadline < overdue_on)
    return query.order_by(Rectification.deadline, Rectification.id)


def answer_rectification(actor, order: Rectification, answer: str) -> Rectification:
    require_roles(actor, "sponsor")
    require_unit_access(actor, order.unit_id)
    if order.status == "closed":
        raise RuleConflict(_("The order is closed"), code="invalid_transition")
    if not (answer or "").strip():
        raise Invalid(_("Describe what was done"), fields={"answer": "required"})
    before = _rectification_snapshot(order)
    order.answer = answer.strip()
    order.answered_on = today_shanghai()
    order.answered_by_id = actor.id
    order.status = "answered"
    db.session.flush()
    audit.record("rectification.answer", "rectification", order.id, before=before,
                 after=_rectification_snapshot(order), unit_id=order.unit_id, user=actor)
    # The supervisor who issued it, and every supervisor of no unit (they see all units).
    notify({order.created_by_id, *unit_users(None, "supervisor")}, "rectification_answered",
           f"/supervision/rectifications/{order.id}",
           {"id": order.id, "answer": order.answer[:60]},
           key=f"rectification_answered:{order.id}:{order.answered_on.isoformat()}",
           unit_id=order.unit_id)
    return order


def decide_rectification(actor, order: Rectification, close: bool, note: str = "",
                         deadline: date | None = None) -> Rectification:
    """A supervisor closes an order (fixed) or reopens it (not fixed), with a new deadline."""
    require_roles(actor, "supervisor")
    require_unit_access(actor, order.unit_id)
    before = _rectification_snapshot(order)
    if close:
        if order.status == "closed":
            raise RuleConflict(_("The order is already closed"), code="invalid_transition")
        order.status = "closed"
        order.closed_on = today_shanghai()
        order.closed_by_id = actor.id
    else:
        if order.status == "open":
            raise RuleConflict(_("The order is neither answered nor closed: nothing to reopen"),
                               code="invalid_transition")
        order.status = "open"
        order.closed_on = None
        order.closed_by_id = None
        if deadline is None:
            deadline, order.provisional = load_calendar().add_workdays(
                today_shanghai(), current_app.config["SUPERVISION_RECTIFICATION_WORKDAYS"])
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
