"""The evidence page: record an update with its URL and screenshot, see and reject evidence."""
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from govmedia.errors import DomainError, Invalid
from govmedia.extensions import db
from govmedia.pagination import paginate
from govmedia.types import SHANGHAI, ascii_int
from registry.services import get_account
from registry import picker
from registry.supervision.lookups import accounts_by_id

from . import evidence as service
from .models import EVIDENCE_STATUSES

bp = Blueprint("activity", __name__)


def _actor():
    return current_user._get_current_object()


def _published_at(raw: str) -> datetime:
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=SHANGHAI)  # Beijing wall-clock
    except ValueError as exc:
        raise Invalid(_("Enter the publication time"),
                      fields={"published_at": "invalid"}) from exc


def _record(user) -> None:
    form = request.form
    account = get_account(user, ascii_int(form.get("account_id") or "") or 0)
    upload = request.files.get("screenshot")
    service.record_evidence(user, account, _published_at(form.get("published_at") or ""),
                            form.get("title") or "", (form.get("url") or "").strip(),
                            upload.read() if upload is not None else None)


@bp.route("/evidence", methods=["GET", "POST"])
@login_required
def evidence():
    user, error = _actor(), None
    if request.method == "POST":
        try:
            _record(user)
            db.session.commit()
            flash(_("Evidence recorded; the update counts for the account"), "success")
            return redirect(url_for("activity.evidence"))
        except DomainError as err:
            if err.status in (403, 404):
                raise
            db.session.rollback()
            error = err.message
    status = request.args.get("status")
    page = paginate(service.evidence_query(
        user, status=status if status in EVIDENCE_STATUSES else None))
    can_record = user.has_role("admin", "sponsor", "editor")
    return render_template(
        "activity/evidence.html", rows=page.items, **page.nav, error=error,
        # The searchable picker: a few matches, never every account (a county has hundreds).
        accounts=picker.account_matches(user, request.args.get("account_q") or "",
                                        include_id=_chosen_account(request.form))
        if can_record else [], account_q=request.args.get("account_q") or "",
        can_record=can_record,
        names=accounts_by_id(e.account_id for e in page.items),
        can_reject=user.has_role("admin", "supervisor"), status=status,
        values=request.form if error else {}), 400 if error else 200


@bp.post("/evidence/<int:evidence_id>/reject")
@login_required
def reject(evidence_id):
    user = _actor()
    found = service.get_evidence(user, evidence_id)
    try:
        service.reject_evidence(user, found, request.form.get("reason") or "")
        db.session.commit()
        flash(_("Evidence rejected; its update no longer counts"), "success")
    except DomainError as err:
        if err.status in (403, 404):
            raise
        db.session.rollback()
        flash(err.message, "error")
    return redirect(url_for("activity.evidence"))


@bp.get("/evidence/<int:evidence_id>/screenshot")
@login_required
def screenshot(evidence_id):
    found = service.get_evidence(_actor(), evidence_id)
    return send_file(service.screenshot_path(found), mimetype=found.screenshot_type, max_age=0)


def _chosen_account(form) -> int | None:
    value = (form.get("account_id") or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None
