"""Notices pages for sponsors and supervisors: recording a lifecycle event from an account's
page (its notice opens with it), every notice with its days remaining, amending, withdrawing
and the take-down checklist. Thin: parse the form, call notices.services, render."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from govmedia.auth import require_roles
from govmedia.errors import DomainError, NotFound
from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.pagination import paginate
from govmedia.types import today_shanghai
from registry import forms
from registry.labels import label
from registry.schemas import EventIn
from registry.services import get_account
from registry.views.accounts import account_page
from registry.views.common import sees_account

from . import services, takedown
from .models import CHECKLIST_PLATFORMS, Notice
from .schemas import AmendmentIn, TakedownDoneIn, TakedownIn, WithdrawIn

bp = Blueprint("notices", __name__, url_prefix="/notices/manage")
# The event form sits on the registry's account page, under the account's URL.
events = Blueprint("notices_events", __name__)


def _actor():
    return current_user._get_current_object()


def _refusal(err: DomainError) -> DomainError:
    if err.status in (401, 403, 404):
        raise err
    db.session.rollback()
    return err


@bp.get("")
@login_required
def index():
    today, calendar = today_shanghai(), load_calendar()
    show = request.args.get("show", "running")
    query = services.notices_query(_actor())
    if show == "running":
        query = query.where(Notice.withdrawn_at.is_(None), Notice.ends_on >= today)
    page = paginate(query.order_by(Notice.ends_on, Notice.id))
    rows = [(n, services.days_remaining(n, today, calendar), services.completion_warning(n),
             takedown.completion_blocked(n) if n.kind == "deregister" and n.completed_at is None
             else None) for n in page.items]
    return render_template("notices/manage.html", rows=rows, today=today, show=show,
                           state=services.notice_state, **page.nav)


def _detail(notice: Notice, *, errors=None, refusal=None, values=None, status=200):
    user = _actor()
    today = today_shanghai()
    account = notice.account
    # The page is only for those who reach the account's unit.
    can_amend = user.has_role("admin", "sponsor")
    return render_template(
        "notices/detail.html", notice=notice, account=account, today=today,
        state=services.notice_state(notice, today),
        remaining=services.days_remaining(notice, today),
        warning=services.completion_warning(notice),
        blocked=takedown.completion_blocked(notice) if notice.kind == "deregister" else None,
        items=takedown.checklist(account.id) if account.platform in CHECKLIST_PLATFORMS else None,
        can_amend=can_amend, can_withdraw=user.has_role("admin", "supervisor"),
        completes_on=services.completes_on(notice), errors=errors or {}, refusal=refusal,
        values=values or {}), status


@bp.get("/<int:notice_id>")
@login_required
def detail(notice_id):
    return _detail(services.get_notice(_actor(), notice_id))


def _act(notice, model, data, call, done_message):
    parsed, errors = forms.validate(model, data)
    refusal = None
    if parsed is not None:
        try:
            call(parsed)
        except DomainError as err:
            refusal = _refusal(err)
            errors = forms.domain_field_errors(err)
        else:
            db.session.commit()
            flash(done_message, "success")
            return redirect(url_for("notices.detail", notice_id=notice.id))
    return _detail(notice, errors=errors, refusal=refusal, values=data,
                   status=refusal.status if refusal else 400)


@bp.post("/<int:notice_id>/amend")
@login_required
def amend(notice_id):
    user = _actor()
    notice = services.get_notice(user, notice_id)
    data = {"text": forms.text(request.form, "text"), "note": forms.text(request.form, "note")}
    return _act(notice, AmendmentIn, data,
                lambda p: services.amend_notice(user, notice, p.text, p.note),
                _("The notice was amended; the earlier text is kept."))


@bp.post("/<int:notice_id>/withdraw")
@login_required
def withdraw(notice_id):
    user = _actor()
    notice = services.get_notice(user, notice_id)
    data = {"reason": forms.text(request.form, "reason")}
    return _act(notice, WithdrawIn, data,
                lambda p: services.withdraw_notice(user, notice, p.reason),
                _("The notice was withdrawn."))


@bp.post("/<int:notice_id>/takedown")
@login_required
def takedown_add(notice_id):
    user = _actor()
    notice = services.get_notice(user, notice_id)
    data = {"kind": forms.text(request.form, "kind"), "label": forms.text(request.form, "label")}
    return _act(notice, TakedownIn, data,
                lambda p: takedown.add_takedown_item(user, notice.account, p.kind, p.label),
                _("Added to the take-down checklist."))


@bp.post("/<int:notice_id>/takedown/<int:item_id>")
@login_required
def takedown_done(notice_id, item_id):
    user = _actor()
    notice = services.get_notice(user, notice_id)
    item = takedown.get_takedown_item(user, item_id)
    data = {"done_on": forms.text(request.form, "done_on")}

    def call(parsed):
        if item.account_id != notice.account_id:
            raise NotFound(_("Checklist item not found"))
        takedown.tick_takedown_item(user, item, parsed.done_on)

    return _act(notice, TakedownDoneIn, data, call, _("Marked as taken down."))



# --- a lifecycle event from the account's page ---------------------------------------------------

def _event_form():
    """(what was typed, the EventIn data) of the account page's event form."""
    kind = forms.text(request.form, "kind")
    values = {"kind": kind, "event_date": forms.text(request.form, "event_date"),
              "reason": forms.text(request.form, "reason") or "",
              "new_name": forms.text(request.form, "new_name"),
              "new_handle": forms.text(request.form, "new_handle"),
              "new_unit_id": forms.integer(request.form, "new_unit_id"),
              "reason_category": forms.text(request.form, "reason_category"),
              "successor": forms.text(request.form, "successor"),
              "contact": forms.text(request.form, "contact")}
    data = {"kind": kind, "event_date": values["event_date"], "reason": values["reason"]}
    if kind in ("deregister", "close"):
        # The decision's details go into the public notice (rule 6).
        data.update({k: values[k] for k in ("reason_category", "successor", "contact")
                     if values[k] is not None})
    if kind == "change":
        changes = {"name": values["new_name"], "handle": values["new_handle"],
                   "unit_id": values["new_unit_id"]}
        data["changes"] = {k: v for k, v in changes.items() if v is not None}
    return values, data


def _recorded(account, event, filing, notice):
    flash(_("%(event)s recorded. It must be filed by %(due)s.",
            event=label("event", event.kind), due=filing.due_on.isoformat()), "success")
    if notice is not None:
        flash(_("A public notice runs from %(start)s to %(end)s.",
                start=notice.starts_on.isoformat(), end=notice.ends_on.isoformat()), "success")
    if not sees_account(account.id):  # transferred to a unit this user cannot see
        return redirect(url_for("registry.accounts"))
    return redirect(url_for("registry.account", account_id=account.id))


def _deregistration_gaps(values: dict) -> dict[str, str]:
    """The page asks for what the public notice of a deregistration needs (rule 6): why, by
    category and in words, and whom to ask. The API keeps category and contact optional."""
    return {name: _("Required") for name in ("reason_category", "contact", "reason")
            if not values.get(name)}


def _confirm_deregistration(account, values, notice):
    """What goes public, before it does: the notice exactly as it would open. The caller has
    rolled the trial back; nothing is written until the sponsor confirms."""
    return render_template("notices/confirm_deregistration.html", account=account,
                           values=values, notice=notice)


@events.post("/accounts/<int:account_id>/events")
@login_required
def account_event(account_id):
    user = _actor()
    account = get_account(user, account_id)
    require_roles(user, "sponsor")
    values, data = _event_form()
    parsed, errors = forms.validate(EventIn, data)
    if values["kind"] == "deregister":
        errors = _deregistration_gaps(values) | errors
        parsed = None if errors else parsed
    refusal = None
    if parsed is not None:
        try:
            event, filing, notice = services.record_event_with_notice(user, account, parsed)
        except DomainError as err:
            refusal = _refusal(err)
            errors = forms.domain_field_errors(err)
        else:
            if parsed.kind == "deregister" and request.form.get("confirmed") != "1":
                preview = {"text": notice.text, "starts_on": notice.starts_on,
                           "ends_on": notice.ends_on}
                db.session.rollback()
                return _confirm_deregistration(get_account(user, account_id), values, preview)
            db.session.commit()
            return _recorded(account, event, filing, notice)
    # Field names of the form: changes.name -> new_name, and so on.
    renamed = {("new_" + k.split(".", 1)[1]) if k.startswith("changes.") else k: v
               for k, v in errors.items()}
    return account_page(account, event_values=values, event_errors=renamed,
                        event_refusal=refusal, status=refusal.status if refusal else 400)
