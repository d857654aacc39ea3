"""The inbox API (bearer tokens): messages from the public and the replies to them."""
from flask import Blueprint, jsonify

from govmedia.api import (documented, listing, page_params, parse_body, query_as_of,
                          query_choice, query_int)
from govmedia.auth import api_user
from govmedia.extensions import csrf, db
from govmedia.pagination import paginate

from . import services
from .answers import count_use
from .models import MESSAGE_STATUSES
from .schemas import ReplyIn
from .serialize import message_json, reply_json

bp = Blueprint("interaction_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, not cookies


@bp.get("/messages")
@documented("Messages from the public, with status (open, overdue, answered) as of as_of",
            tag="interaction", responses={200: "list", 403: "forbidden"},
            query={"account_id": "integer", "unit_id": "integer",
                   "status": {"type": "string", "enum": list(MESSAGE_STATUSES)},
                   "as_of": {"type": "string", "format": "date"},
                   "limit": "integer", "offset": "integer"})
def list_messages():
    as_of = query_as_of()
    query = services.messages_query(api_user(), as_of=as_of, account_id=query_int("account_id"),
                                    unit_id=query_int("unit_id"),
                                    status=query_choice("status", MESSAGE_STATUSES))
    page = paginate(query, window=page_params())
    return listing([message_json(m, as_of) for m in page.items], page.total)


@bp.get("/messages/<int:message_id>")
@documented("One message with its replies", tag="interaction",
            responses={200: "message", 403: "forbidden", 404: "not_found"})
def get_message(message_id):
    message = services.get_message(api_user(), message_id)
    return jsonify(message_json(message, query_as_of(), with_replies=True))


@bp.post("/messages/<int:message_id>/reply")
@documented("Reply to the sender (sponsor, editor): a WeChat customer-service message, sent "
            "by a job; 409 reply_window_closed 48 hours after the sender's last message",
            body=ReplyIn, tag="interaction",
            responses={201: "message and the queued reply", 403: "forbidden",
                       404: "not_found", 409: "reply_window_closed"})
def reply(message_id):
    user = api_user()
    message = services.get_message(user, message_id)
    data = parse_body(ReplyIn)
    row = services.reply_to_message(user, message, data.text)
    if data.answer_id is not None:
        count_use(user, data.answer_id, message)
    db.session.commit()
    return jsonify({"message": message_json(message, query_as_of(), with_replies=True),
                    "reply": reply_json(row)}), 201
