"""The activity API: posts by origin, evidence of updates off-API and its rejection."""
import base64
import binascii
from typing import Annotated

from flask import Blueprint, jsonify, send_file
from flask_babel import gettext as _
from pydantic import AwareDatetime, StringConstraints
from sqlalchemy import select

from govmedia.api import documented, listing, page_params, parse_body, query_choice, query_int
from govmedia.auth import api_user
from govmedia.errors import Invalid
from govmedia.extensions import csrf, db
from govmedia.pagination import paginate
from govmedia.schemas import Strict
from registry.models import POST_ORIGINS, Post
from registry.services import get_account

from . import evidence as evidence_service
from .models import EVIDENCE_STATUSES
from .serialize import evidence_json, post_json

bp = Blueprint("activity_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, not cookies
Text500 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class EvidenceIn(Strict):
    published_at: AwareDatetime
    title: Text500
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    screenshot_base64: str


class RejectIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=2000)]


def _decoded(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(_("The screenshot is not valid base64"),
                      fields={"screenshot_base64": "not_base64"}) from exc


@bp.get("/accounts/<int:account_id>/posts")
@documented("An account's posts, newest first, by origin (govmedia, platform, manual)",
            tag="activity", query={"origin": {"type": "string", "enum": list(POST_ORIGINS)},
                                   "limit": "integer", "offset": "integer"},
            responses={200: "list", 403: "forbidden", 404: "not_found"})
def account_posts(account_id):
    account = get_account(api_user(), account_id)
    query = select(Post).where(Post.account_id == account.id)
    origin = query_choice("origin", POST_ORIGINS)
    if origin:
        query = query.where(Post.origin == origin)
    page = paginate(query.order_by(Post.published_at.desc(), Post.id.desc()),
                    window=page_params())
    return listing([post_json(p) for p in page.items], page.total)


@bp.post("/accounts/<int:account_id>/evidence")
@documented("Record an update on a platform without an API, with its URL and a PNG or JPEG "
            "screenshot (sponsor, editor)", body=EvidenceIn, tag="activity",
            responses={201: "evidence", 400: "invalid", 403: "forbidden", 404: "not_found"})
def create_evidence(account_id):
    user = api_user()
    account = get_account(user, account_id)
    data = parse_body(EvidenceIn)
    made = evidence_service.record_evidence(user, account, data.published_at, data.title,
                                            data.url, _decoded(data.screenshot_base64))
    db.session.commit()
    return jsonify(evidence_json(made)), 201


@bp.get("/evidence")
@documented("Evidence of updates, newest first", tag="activity",
            query={"unit_id": "integer", "account_id": "integer",
                   "status": {"type": "string", "enum": list(EVIDENCE_STATUSES)},
                   "limit": "integer", "offset": "integer"}, responses={200: "list"})
def list_evidence():
    query = evidence_service.evidence_query(
        api_user(), unit_id=query_int("unit_id"), account_id=query_int("account_id"),
        status=query_choice("status", EVIDENCE_STATUSES))
    page = paginate(query, window=page_params())
    return listing([evidence_json(e) for e in page.items], page.total)


@bp.get("/evidence/<int:evidence_id>/screenshot")
@documented("The screenshot of a piece of evidence (PNG or JPEG)", tag="activity",
            responses={200: "image", 403: "forbidden", 404: "not_found"})
def evidence_screenshot(evidence_id):
    found = evidence_service.get_evidence(api_user(), evidence_id)
    return send_file(evidence_service.screenshot_path(found), mimetype=found.screenshot_type,
                     max_age=0)


@bp.post("/evidence/<int:evidence_id>/reject")
@documented("Reject evidence (supervisor): its post stops counting", body=RejectIn,
            tag="activity", responses={200: "evidence", 403: "forbidden", 404: "not_found",
                                       409: "already_rejected"})
def reject_evidence(evidence_id):
    user = api_user()
    found = evidence_service.get_evidence(user, evidence_id)
    data = parse_body(RejectIn)
    evidence_service.reject_evidence(user, found, data.reason)
    db.session.commit()
    return jsonify(evidence_json(found))
