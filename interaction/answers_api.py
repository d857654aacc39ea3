"""The knowledge-base API: reference answers, and the ones closest to a message."""
from flask import Blueprint, jsonify, request

from govmedia.api import documented, listing, page_params, parse_body, query_int
from govmedia.auth import api_user
from govmedia.extensions import csrf, db
from govmedia.pagination import paginate

from . import answers, services
from .schemas import AnswerIn, AnswerPatch

bp = Blueprint("interaction_answers_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def answer_json(row, rank: float | None = None) -> dict:
    data = {"id": row.id, "unit_id": row.unit_id, "topic": row.topic, "question": row.question,
            "answer": row.answer, "retired": row.retired, "uses": row.uses,
            "source_message_id": row.source_message_id,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}
    if rank is not None:
        data["rank"] = round(rank, 6)
    return data


@bp.get("/answers")
@documented("Reference answers (答复口径) of the units in reach", tag="interaction",
            query={"unit_id": "integer", "include_retired": "boolean", "limit": "integer",
                   "offset": "integer"}, responses={200: "list", 403: "forbidden"})
def list_answers():
    query = answers.answers_query(api_user(), unit_id=query_int("unit_id"),
                                  include_retired=request.args.get("include_retired") == "true")
    page = paginate(query, window=page_params())
    return listing([answer_json(r) for r in page.items], page.total)


@bp.post("/answers")
@documented("Save a reference answer (sponsor, editor), e.g. from an answered message",
            body=AnswerIn, tag="interaction",
            responses={201: "answer", 403: "forbidden", 404: "not_found"})
def create_answer():
    user = api_user()
    data = parse_body(AnswerIn)
    message = (services.get_message(user, data.message_id)
               if data.message_id is not None else None)
    row = answers.save_answer(user, topic=data.topic, answer=data.answer or "",
                              unit_id=data.unit_id, question=data.question or "",
                              message=message)
    db.session.commit()
    return jsonify(answer_json(row)), 201


@bp.patch("/answers/<int:answer_id>")
@documented("Edit or retire a reference answer (sponsor, editor)", body=AnswerPatch,
            tag="interaction", responses={200: "answer", 403: "forbidden", 404: "not_found"})
def patch_answer(answer_id):
    user = api_user()
    row = answers.get_answer(user, answer_id)
    data = parse_body(AnswerPatch)
    answers.change_answer(user, row, topic=data.topic, answer=data.answer, retired=data.retired)
    db.session.commit()
    return jsonify(answer_json(row))


@bp.get("/messages/<int:message_id>/suggestions")
@documented("The unit's reference answers closest to a message, best first", tag="interaction",
            responses={200: "list", 403: "forbidden", 404: "not_found"})
def message_suggestions(message_id):
    message = services.get_message(api_user(), message_id)
    found = answers.suggestions(message)
    return listing([answer_json(row, rank) for row, rank in found], len(found))
