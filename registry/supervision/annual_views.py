"""The annual report's pages for supervisors: the live report of a year and node, its XLSX,
issuing it, and the issued reports (frozen) with their XLSX. Same blueprint as views.py."""
from urllib.parse import quote

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.pagination import PER_PAGE, Page, paginate, requested_page
from govmedia.types import ascii_int, today_shanghai

from . import annual, lookups
from .export import XLSX_MIME
from .views import UNIT_CHOICES_MAX, actor, bp

# The page shows its accounts a page at a time (?page=N, PER_PAGE each; the XLSX has them
# all), and the issued reports a page at a time too (?issued_page=N).


def _year(raw: str | None) -> int:
    """The requested year, or last year (the one whose report is due by 31 January)."""
    return ascii_int((raw or "").strip()) or today_shanghai().year - 1



def xlsx_response(body: bytes, name: str) -> Response:
    response = Response(body, mimetype=XLSX_MIME)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@bp.route("/supervision/annual", methods=["GET", "POST"])
@login_required
def annual_report():
    user = actor()
    source = request.form if request.method == "POST" else request.args
    year, unit_id = _year(source.get("year")), annual.node_of(source.get("unit_id"), user)
    annual.require_reader(user, unit_id)
    error = None
    if request.method == "POST":
        try:
            report = annual.issue(user, year, unit_id)
            db.session.commit()
            flash(_("Annual report issued; it is now public"), "success")
            return redirect(url_for("supervision.annual_report", year=year,
                                    unit_id=unit_id if unit_id is not None else "",
                                    issued=report.id))
        except DomainError as err:
            if err.status in (403, 404):
                raise
            db.session.rollback()
            error = err.message
    rows_page = requested_page()
    try:
        data = annual.compute(unit_id, year, limit=PER_PAGE, offset=(rows_page - 1) * PER_PAGE)
    except DomainError as err:
        if err.status in (403, 404):
            raise
        data, error = None, error or err.message
    rows_nav = Page(items=[], total=data["total"] if data else 0, page=rows_page,
                    per_page=PER_PAGE).nav
    issued_page = requested_page("issued_page")
    issued = paginate(annual.issued_query(user),
                      window=(PER_PAGE, (issued_page - 1) * PER_PAGE))
    return render_template("supervision/annual.html", data=data, year=year, unit_id=unit_id,
                           error=error, rows_shown=None, rows_nav=rows_nav,
                           issued=issued.items, issued_page=issued.page,
                           issued_pages=issued.pages, issued_total=issued.total,
                           today=today_shanghai(),
                           unit_choices=lookups.unit_choices(user, UNIT_CHOICES_MAX),
                           all_units=annual.default_node(user) is None), 400 if error else 200


@bp.get("/supervision/annual.xlsx")
@login_required
def annual_report_xlsx():
    user = actor()
    year, unit_id = _year(request.args.get("year")), annual.node_of(request.args.get("unit_id"), user)
    annual.require_reader(user, unit_id)
    data = annual.compute(unit_id, year)
    return xlsx_response(annual.to_xlsx(data), f"政务新媒体年度工作报表_{year}_截至{data['as_of']}.xlsx")


@bp.get("/supervision/annual/<int:report_id>.xlsx")
@login_required
def annual_issued_xlsx(report_id):
    report = annual.get_issued(actor(), report_id)
    return xlsx_response(report.xlsx, annual.filename(report))

