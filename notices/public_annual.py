"""The annual reports once issued (年度工作报表, seed 001 §42: public by 31 January): the list,
one report's tables and its XLSX, exactly as issued. On the public pages' blueprint, cached
like them (issuing is audited, which moves the registry version)."""
from urllib.parse import quote

from flask import Response, render_template

from govmedia.errors import NotFound
from registry.supervision import annual
from registry.supervision.export import XLSX_MIME

from .cache import public_cached
from .public import pages

PUBLIC_ROWS = 1000   # accounts listed on the page; the XLSX has them all


@pages.get("/public/annual-reports")
@public_cached()
def annual_reports_page():
    return render_template("public/annual_reports.html", reports=annual.public_reports())


@pages.get("/public/annual-reports/<int:report_id>")
@public_cached()
def annual_report_page(report_id):
    try:
        report = annual.public_report(report_id)
    except NotFound:
        return render_template("public/not_found.html"), 404
    return render_template("public/annual_report.html", report=report, data=report.data,
                           rows_shown=PUBLIC_ROWS)


@pages.get("/public/annual-reports/<int:report_id>.xlsx")
@public_cached(localized=False)
def annual_report_xlsx(report_id):
    report = annual.public_report(report_id)
    return Response(report.xlsx, mimetype=XLSX_MIME, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(annual.filename(report))}"})
