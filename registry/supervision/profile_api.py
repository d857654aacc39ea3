"""Rule profiles per jurisdiction in the API (issue 16): the numbers in force at a node on a
day with the legal basis of each, a node's versions, and a new version (admins). Same
blueprint as api.py, same service functions (govmedia.profiles) as the page."""
from datetime import date

from flask import jsonify
from pydantic import Field

from govmedia import profiles
from govmedia.api import documented, parse_body, query_as_of, query_int
from govmedia.auth import api_roles, api_user
from govmedia.extensions import db

from ..schemas import Strict
from .annual import default_node, require_node
from .api import bp


class RuleProfileIn(Strict):
    unit_id: int | None = None        # the node; none: the whole registry
    valid_from: date | None = None    # default today; never in the past
    inherit: bool = False             # end the node's own profile: follow its parent again
    values: dict[str, str | int] = Field(default_factory=dict)
    basis: dict[str, str] = Field(default_factory=dict)
    note: str = ""


def version_json(row) -> dict:
    return {"id": row.id, "unit_id": row.unit_id, "valid_from": row.valid_from.isoformat(),
            "inherit": row.inherit, "values": row.values, "basis": row.basis, "note": row.note,
            "created_by": row.created_by.username if row.created_by else None,
            "created_at": row.created_at.isoformat()}


def _node_read(user) -> int | None:
    """The node asked for (default: the caller's own unit, or the whole registry for one who
    reaches every unit); anyone who reaches it may read the numbers that hold there."""
    unit_id = query_int("unit_id")
    unit_id = default_node(user) if unit_id is None else unit_id
    require_node(user, unit_id)
    return unit_id


@bp.get("/supervision/rule-profiles")
@documented("The rule profile in force at a node (unit_id; default: the caller's unit, or the "
            "whole registry for one who reaches every unit) on a day (as_of, default today): "
            "each number, the node that set it and its legal basis", tag="supervision",
            query={"unit_id": "integer", "as_of": "string"},
            responses={200: "profile", 403: "forbidden"})
@api_roles()
def rule_profile():
    unit_id = _node_read(api_user())
    return jsonify(profiles.described(unit_id, query_as_of()))


@bp.get("/supervision/rule-profiles/history")
@documented("Every version set at a node, newest first", tag="supervision",
            query={"unit_id": "integer"}, responses={200: "list", 403: "forbidden"})
@api_roles()
def rule_profile_history():
    unit_id = _node_read(api_user())
    return jsonify({"items": [version_json(v) for v in profiles.history(unit_id)]})


@bp.post("/supervision/rule-profiles")
@documented("Set a new version of a node's rule profile from valid_from (admins; values not "
            "given keep those in force; inherit: end the node's own profile)",
            body=RuleProfileIn, tag="supervision",
            responses={201: "profile", 400: "invalid", 403: "forbidden"})
@api_roles("admin")
def set_rule_profile():
    data = parse_body(RuleProfileIn)
    user = api_user()
    if data.inherit:
        row = profiles.inherit_again(user, data.unit_id, valid_from=data.valid_from)
    else:
        row = profiles.set_profile(user, data.unit_id, data.values, data.basis,
                                   valid_from=data.valid_from, note=data.note)
    db.session.commit()
    return jsonify({"version": version_json(row),
                    "in_force": profiles.described(data.unit_id, row.valid_from)}), 201
