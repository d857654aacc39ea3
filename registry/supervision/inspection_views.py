"""The inspection moment's page and its XLSX/CSV (issue 14). Same blueprint as views.py."""
from datetime import datetime
from urllib.parse import quote

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.auth import require_roles
from govmedia.errors import Invalid
from govmedia.rules import INSPECTION_UPDATE_DAYS
from govmedia.types import SHANGHAI, date_in_range

from . import export, inspection
from .views import _int_arg, actor, bp

ROWS_SHOWN = 500   # the page shows this many accounts; the files have them all
MOMENT_FORMAT = "%Y-%m-%dT%H:%M"


def _moment() -> tuple[datetime, str | None]:
    """The requested instant (a local Beijing date-time, as an <input type=datetime-local>
    sends it), or now; with the error when it could not be read."""
    now = datetime.now(SHANGHAI).replace(second=0, microsecond=0)
    raw = (request.args.get("moment") or "").strip()
    if not raw:
        return now, None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return now, _("Enter the inspection moment as YYYY-MM-DD HH:MM")
    if moment.tzinfo is not None or not date_in_range(moment.date()):
        return now, _("Enter the inspection moment as YYYY-MM-DD HH:MM")
    return moment.replace(tzinfo=SHANGHAI), None


@bp.get("/supervision/inspection")
@login_required
def inspection_moment():
    require_roles(actor(), "supervisor")
    moment, error = _moment()
    rows = inspection.inspection(actor(), moment, unit_id=_int_arg("unit_id"))
    return render_template("supervision/inspection.html", rows=rows[:ROWS_SHOWN],
                           total=len(rows), moment=moment, error=error,
                           moment_value=moment.strftime(MOMENT_FORMAT),
                           window_days=INSPECTION_UPDATE_DAYS, findings=inspection.findings,
                           updates=sum(r["fails_updates"] for r in rows),
                           interaction=sum(r["fails_interaction"] for r in rows)), \
        400 if error else 200


@bp.get("/supervision/inspection.<any(xlsx, csv):ext>")
@login_required
def inspection_file(ext):
    require_roles(actor(), "supervisor")
    moment, error = _moment()
    if error:
        raise Invalid(error, fields={"moment": "YYYY-MM-DDTHH:MM"})
    rows = inspection.file_rows(inspection.inspection(actor(), moment,
                                                      unit_id=_int_arg("unit_id")))
    title = _("Accounts failing the inspection")
    when = moment.strftime("%Y-%m-%d %H:%M")
    if ext == "xlsx":
        period = _("Inspection moment %(when)s; %(n)s rows", when=when, n=len(rows))
        body = export.to_xlsx(title, period,
                              [export.Sheet(title, inspection.columns(), rows)])
        mime = export.XLSX_MIME
    else:
        body, mime = export.to_csv(inspection.columns(), rows), "text/csv"
    filename = f"{title}_{moment.strftime('%Y-%m-%d_%H%M')}.{ext}"
    response = Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=inspection.{ext}; filename*=UTF-8''{quote(filename)}")
    return response
