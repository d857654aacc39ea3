"""Notices pages for sponsors and supervisors: every notice with its days remaining, amending,
withdrawing and the take-down checklist. Thin: parse the form, call notices.services, render."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.types import today_shanghai
from registry import forms

from . import services
from .models import CHECKLIST_PLATFORMS, Notice
from .schemas import AmendmentIn, TakedownDoneIn, TakedownIn, WithdrawIn

bp = Blueprint("notices", __name__, url_prefix="/notices/manage")


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
    notices = db.session.scalars(query.order_by(Notice.ends_on, Notice.id)).all()
    rows = [(n, services.days_remaining(n, today, calendar), services.completion_warning(n),
             services.completion_blocked(n) if n.kind == "deregister" and n.completed_at is None
             else None) for n in notices]
    return render_template("notices/manage.html", rows=rows, today=today, show=show,
                           state=services.notice_state)


def _detail(notice: Notice, *, errors=None, refusal=None, values=None, status=200):
    user = _actor()
    today = today_shanghai()
    account = notice.account
    can_amend = (user.has_role("admin") or (user.has_role("sponsor")
                                            and user.unit_id == account.unit_id))
    return render_template(
        "notices/detail.html", notice=notice, account=account, today=today,
        state=services.notice_state(notice, today),
        remaining=services.days_remaining(notice, today),
        warning=services.completion_warning(notice),
        blocked=services.completion_blocked(notice) if notice.kind == "deregister" else None,
        items=services.checklist(account.id) if account.platform in CHECKLIST_PLATFORMS else None,
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
                lambda p: services.add_takedown_item(user, notice.account, p.kind, p.label),
                _("Added to the take-down checklist."))


@bp.post("/<int:notice_id>/takedown/<int:item_id>")
@login_required
def takedown_done(notice_id, item_id):
    user = _actor()
    notice = services.get_notice(user, notice_id)
    item = services.get_takedown_item(user, item_id)
    data = {"done_on": forms.text(request.form, "done_on")}

    def call(parsed):
        if item.account_id != notice.account_id:
            from govmedia.errors import NotFound

            raise NotFound("清单项不存在 (checklist item not found)")
        services.tick_takedown_item(user, item, parsed.done_on)

    return _act(notice, TakedownDoneIn, data, call, _("Marked as taken down."))

