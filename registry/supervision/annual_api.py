"""The annual report's API (issue 16, seed 001 §42): the figures of a year for a node, issuing
(freezing and publishing) a finished year's report, and the issued reports. Same blueprint as
api.py, same service functions (annual.py) as the pages."""
from typing import Annotated

from flask import jsonify
from flask_babel import gettext as _
from pydantic import Field

from govmedia.api import documented, listing, page_params, parse_body, query_int
from govmedia.auth import api_roles, api_user
from govmedia.errors import Invalid
from govmedia.extensions import db
from govmedia.pagination import paginate
from govmedia.types import today_shanghai

from ..schemas import Strict
from . import annual
from .api import bp


class AnnualIn(Strict):
    year: Annotated[int, Field(ge=2000, le=2100)]
    unit_id: int | None = None      # the node; none: every unit (for those who reach them all)


def issued_json(report, with_data: bool = False) -> dict:
    out = {"id": report.id, "year": report.year, "unit_id": report.unit_id,
           "title": report.title, "issued_at": report.issued_at.isoformat(),
           "issued_by": report.issued_by.username if report.issued_by else None}
    if with_data:
        out["data"] = report.data
    return out


def _node(user) -> int | None:
    unit_id = query_int("unit_id")
    return annual.default_node(user) if unit_id is None else unit_id


@bp.get("/supervision/annual")
@documented("The annual report's new-media section of a year (default: last year) for a node "
            "(unit_id; default: the caller's unit, or every unit for one who reaches them all): "
            "per account, per unit, per platform and in total, as of today for a year not over. "
            "rows: a page of the accounts (limit, default 50, at most 500; offset), in the "
            "report's order; total: how many accounts the report has; the unit, platform and "
            "grand totals are the whole report's (the XLSX has every row)",
            tag="supervision", query={"year": "integer", "unit_id": "integer",
                                      "limit": "integer", "offset": "integer"},
            responses={200: "report", 400: "invalid", 403: "forbidden", 404: "not_found"})
@api_roles("supervisor")
def annual_figures():
    user = api_user()
    year = query_int("year") or today_shanghai().year - 1
    if not 2000 <= year <= 2100:
        raise Invalid(_("Choose a year from 2000 to 2100"), fields={"year": "2000 to 2100"})
    unit_id = _node(user)
    limit, offset = page_params()
    annual.require_reader(user, unit_id)
    return jsonify(annual.compute(unit_id, year, limit=limit, offset=offset))


@bp.post("/supervision/annual")
@documented("Issue a finished year's report for a node: frozen as it is now and published on "
            "the public pages (once per year and node: 409 already_issued)", body=AnnualIn,
            tag="supervision", responses={201: "report", 400: "invalid", 403: "forbidden",
                                          409: "conflict"})
@api_roles("supervisor")
def issue_annual():
    data = parse_body(AnnualIn)
    report = annual.issue(api_user(), data.year, data.unit_id)
    db.session.commit()
    return jsonify(issued_json(report, with_data=True)), 201


@bp.get("/supervision/annual-reports")
@documented("The issued annual reports of the nodes the caller reaches (unit_id: of that "
            "unit's subtree), newest year first", tag="supervision",
            query={"unit_id": "integer", "limit": "integer", "offset": "integer"},
            responses={200: "list", 403: "forbidden"})
@api_roles("supervisor")
def list_annual_reports():
    page = paginate(annual.issued_query(api_user(), query_int("unit_id")), window=page_params())
    return listing([issued_json(r) for r in page.items], page.total)


@bp.get("/supervision/annual-reports/<int:report_id>")
@documented("One issued annual report, exactly as it was issued", tag="supervision",
            responses={200: "report", 403: "forbidden", 404: "not_found"})
@api_roles("supervisor")
def get_annual_report(report_id):
    return jsonify(issued_json(annual.get_issued(api_user(), report_id), with_data=True))
