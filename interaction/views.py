"""The inbox page: messages of the user's units, filters, and the reply form."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import joinedload

from govmedia.errors import DomainError, Invalid
from govmedia.extensions import db
from govmedia.pagination import paginate
from govmedia.types import ascii_int, today_shanghai, utcnow
from registry.picker import account_matches
from registry.services import UNIT_CHOICES_MAX, reaches_several_units, unit_choices
from registry.views.common import actor, arg_choice, arg_date, arg_int

from . import answers, services
from .assign import assign_message, assignable_users
from .models import MESSAGE_STATUSES, Message

bp = Blueprint("interaction", __name__)


def _filters() -> dict:
    as_of, as_of_error = arg_date("as_of")
    return {"as_of": as_of or today_shanghai(), "as_of_error": as_of_error,
            "status": arg_choice("status", MESSAGE_STATUSES), "unit_id": arg_int("unit_id"),
            "account_id": arg_int("account_id"), "mine": request.args.get("mine") == "1"}


@bp.get("/inbox")
@login_required
def inbox():
    filters = _filters()
    query = services.messages_query(actor(), as_of=filters["as_of"], status=filters["status"],
                                    unit_id=filters["unit_id"], account_id=filters["account_id"],
                                    assignee_id=actor().id if filters["mine"] else None)
    page = paginate(query.options(joinedload(Message.account), joinedload(Message.replies)))
    account_q = (request.args.get("account_q") or "").strip()
    windows = {m.id: services.window_closes_at(m) for m in page.items}
    may_reply = actor().has_role("admin", "sponsor", "editor")
    suggested = {m.id: answers.suggestions(m, limit=3) for m in page.items
                 if may_reply and m.replied_at is None}
    may_assign = actor().has_role("admin", "sponsor")
    repliers = {u: assignable_users(u) for u in {m.unit_id for m in page.items}} \
        if may_assign else {}
    names = {u.id: u.display_name or u.username for users in repliers.values() for u in users}
    return render_template("interaction/inbox.html", messages=page.items, **page.nav,
                           filters=filters, account_q=account_q,
                           accounts=account_matches(actor(), account_q,
                                                    include_id=filters["account_id"]),
                           unit_choices=unit_choices(actor(), UNIT_CHOICES_MAX),
                           several_units=reaches_several_units(actor()),
                           windows=windows, now=utcnow(),
                           status_of=services.message_status, may_reply=may_reply,
                           suggested=suggested, may_assign=may_assign, repliers=repliers,
                           names=names)


@bp.post("/inbox/<int:message_id>/reply")
@login_required
def reply(message_id):
    message = services.get_message(actor(), message_id)
    answer_id = ascii_int(request.form.get("answer_id", ""))
    try:
        services.reply_to_message(actor(), message, request.form.get("text", ""))
        if answer_id is not None:
            answers.count_use(actor(), answer_id, message)
    except DomainError as err:
        if err.status in (403, 404):
            raise
        db.session.rollback()
        flash(err.message, "error")
    else:
        db.session.commit()
        flash(_("The reply is on its way to the sender."), "success")
    back = url_for("interaction.inbox", **request.args.to_dict())
    return redirect(f"{back}#message-{message_id}")


@bp.post("/inbox/<int:message_id>/answer")
@login_required
def save_answer(message_id):
    """Save the reply to this message as a reference answer under a topic."""
    message = services.get_message(actor(), message_id)
    topic = (request.form.get("topic") or "").strip()[:200]
    try:
        if not topic:
            raise Invalid(_("Give the reference answer a topic"), fields={"topic": "required"})
        answers.save_answer(actor(), topic=topic, answer="", message=message)
    except DomainError as err:
        if err.status in (403, 404):
            raise
        db.session.rollback()
        flash(err.message, "error")
    else:
        db.session.commit()
        flash(_("Saved as a reference answer."), "success")
    back = url_for("interaction.inbox", **request.args.to_dict())
    return redirect(f"{back}#message-{message_id}")


@bp.post("/inbox/<int:message_id>/assign")
@login_required
def assign(message_id):
    message = services.get_message(actor(), message_id)
    raw = (request.form.get("assignee_id") or "").strip()
    try:
        assign_message(actor(), message, ascii_int(raw) if raw else None)
        db.session.commit()
        flash(_("Assigned"), "success")
    except DomainError as err:
        if err.status in (403, 404):
            raise
        db.session.rollback()
        flash(err.message, "error")
    return redirect(url_for("interaction.inbox", **request.args.to_dict()))
