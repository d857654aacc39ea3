"""The quarterly spot check's API (issue 16): the draws a supervisor reaches, and drawing one
(same blueprint as api.py, same service functions as the pages)."""
from typing import Annotated

from flask import jsonify
from pydantic import Field

from govmedia.api import documented, listing, page_params, parse_body, query_int
from govmedia.auth import api_roles, api_user
from govmedia.extensions import db
from govmedia.pagination import paginate

from ..schemas import Strict
from . import spotcheck
from .api import bp


class SpotCheckIn(Strict):
    year: Annotated[int, Field(ge=2000, le=2100)]
    quarter: Annotated[int, Field(ge=1, le=4)]
    unit_id: int | None = None      # the node; none: every unit (for those who reach them all)


@bp.get("/supervision/spot-checks")
@documented("Quarterly spot-check draws of the nodes the supervisor reaches (unit_id: of that "
            "unit's subtree), newest quarter first", tag="supervision",
            query={"unit_id": "integer", "limit": "integer", "offset": "integer"},
            responses={200: "list", 403: "forbidden"})
@api_roles("supervisor")
def list_spot_checks():
    query = spotcheck.draws_query(api_user(), query_int("unit_id"))
    page = paginate(query, window=page_params())
    return listing([spotcheck.draw_json(row) for row in page.items], page.total)


@bp.post("/supervision/spot-checks")
@documented("Draw a quarter's spot-check sample for a node (default: every unit): the share of "
            "its active accounts per platform, rounded up, with a recorded random seed; once "
            "per quarter and node (409 already_drawn)", body=SpotCheckIn, tag="supervision",
            responses={201: "spot check", 400: "invalid", 403: "forbidden", 409: "conflict"})
@api_roles("supervisor")
def create_spot_check():
    data = parse_body(SpotCheckIn)
    row = spotcheck.draw(api_user(), data.year, data.quarter, data.unit_id)
    db.session.commit()
    return jsonify(spotcheck.draw_json(row)), 201


class VoidIn(Strict):
    reason: str


@bp.post("/supervision/spot-checks/<int:draw_id>/void")
@documented("Void a draw with a reason (kept on record, marked void); the quarter's sample for "
            "its node can then be drawn again (409 already_voided)", body=VoidIn,
            tag="supervision", responses={200: "spot check", 400: "invalid", 403: "forbidden",
                                          404: "not_found", 409: "conflict"})
@api_roles("supervisor")
def void_spot_check(draw_id):
    row = spotcheck.void(api_user(), draw_id, parse_body(VoidIn).reason)
    db.session.commit()
    return jsonify(spotcheck.draw_json(row))
