"""Supervision pages for long lists: every list as XLSX or CSV, rectification orders for many
dormant accounts at once, and "not a duplicate" decisions. Same blueprint as views.py."""
from datetime import date
from urllib.parse import quote

from flask import Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.auth import require_roles
from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.types import ascii_int, today_shanghai

from . import export, lists, services
from .models import RECTIFICATION_STATUSES
from ..labels import N_
from .views import _as_of, _int_arg, actor, bp

LIST_TITLES = {"dormant": N_("Dormant accounts"), "duplicates": N_("Duplicates"),
               "rectifications": N_("Rectification orders")}


def _rows(name: str, as_of: date) -> tuple[list, list[dict]]:
    user, unit_id = actor(), _int_arg("unit_id")
    if name == "dormant":
        include = request.args.get("include") == "warning"
        return (lists.columns(lists.DORMANT_COLUMNS),
                lists.dormant_rows(user, as_of, include, unit_id))
    if name == "duplicates":
        return lists.columns(lists.DUPLICATE_COLUMNS), lists.duplicate_rows(user, unit_id)
    status = request.args.get("status")
    query = services.rectifications_query(
        user, unit_id=unit_id, status=status if status in RECTIFICATION_STATUSES else None,
        overdue_on=as_of if request.args.get("overdue") == "1" else None)
    orders = db.session.scalars(query.limit(lists.EXPORT_MAX)).all()
    return lists.columns(lists.RECTIFICATION_COLUMNS), lists.rectification_rows(orders)


@bp.get("/supervision/<any(dormant, duplicates, rectifications):name>.<any(xlsx, csv):ext>")
@login_required
def export_list(name, ext):
    """The list as shown (same filters, every page) in one file."""
    as_of, _error = _as_of()
    columns, rows = _rows(name, as_of)
    title = _(LIST_TITLES[name])
    if ext == "xlsx":
        period = _("As of %(day)s; %(n)s rows", day=as_of.isoformat(), n=len(rows))
        body = export.to_xlsx(title, period, [export.Sheet(title, columns, rows)])
        mime = export.XLSX_MIME
    else:
        body, mime = export.to_csv(columns, rows), "text/csv"
    filename = f"{title}_{as_of.isoformat()}.{ext}"
    response = Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = (
        f"attachment; filename={name}.{ext}; filename*=UTF-8''{quote(filename)}")
    return response


@bp.post("/supervision/dormant/orders")
@login_required
def dormant_orders():
    """Rectification orders for the accounts ticked on the dormant list."""
    require_roles(actor(), "supervisor")
    ids = [ascii_int(v) for v in request.form.getlist("account_ids")]
    raw = (request.form.get("deadline") or "").strip()
    back = request.form.get("back") or url_for("supervision.dormant")
    try:
        deadline = date.fromisoformat(raw) if raw else None
        made, skipped = lists.bulk_dormant_orders(actor(), [i for i in ids if i], today_shanghai(),
                                                  deadline)
        db.session.commit()
        flash(_("%(n)s rectification orders issued; %(s)s accounts already had an open one",
                n=len(made), s=len(skipped)), "success")
        return redirect(url_for("supervision.rectifications"))
    except ValueError:
        flash(_("Enter a date as YYYY-MM-DD"), "error")
    except DomainError as err:
        if err.status in (403, 404):
            raise
        db.session.rollback()
        flash(err.message, "error")
    return redirect(_local(back, url_for("supervision.dormant")))


@bp.post("/supervision/duplicates/dismissals")
@login_required
def dismiss_duplicate():
    """"Not a duplicate": the pair leaves the likely-duplicates list, with the reason."""
    require_roles(actor(), "supervisor")
    first, second = ascii_int(request.form.get("low_id")), ascii_int(request.form.get("high_id"))
    lists.require_reach(actor(), [i for i in (first, second) if i])
    try:
        if not first or not second or not lists.is_name_pair(first, second):
            raise DomainError(_("Choose a pair from the list"), fields={"pair": "not listed"})
        lists.dismiss_pair(actor(), first, second, request.form.get("reason", ""))
        db.session.commit()
        flash(_("Recorded: the two accounts are not duplicates"), "success")
    except DomainError as err:
        if err.status in (403, 404):
            raise
        db.session.rollback()
        flash(err.message, "error")
    return redirect(url_for("supervision.duplicates") + "#similar")


def _local(target: str, fallback: str) -> str:
    """Only a path of this site (never another host) is followed back."""
    return target if target.startswith("/") and not target.startswith("//") else fallback
