"""The inbox API (bearer tokens): messages from the public and the replies to them."""
from datetime import timedelta

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from govmedia.api import (documented, listing, page_params, parse_body, parse_date,
                          query_as_of, query_choice, query_int)
from govmedia.auth import api_user
from govmedia.extensions import csrf, db
from govmedia.errors import Invalid
from govmedia.pagination import paginate
from govmedia.types import today_shanghai

from . import services
from .answers import count_use
from .assign import assign_message
from .models import MESSAGE_STATUSES
from .schemas import AssignIn, ReplyIn
from .serialize import message_json, reply_json
from .stats import response_stats

bp = Blueprint("interaction_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, not cookies


@bp.get("/messages")
@documented("Messages from the public, with status (open, overdue, answered) as of as_of",
            tag="interaction", responses={200: "list", 403: "forbidden"},
            query={"account_id": "integer", "unit_id": "integer",
                   "status": {"type": "string", "enum": list(MESSAGE_STATUSES)},
                   "assignee_id": "integer",
                   "as_of": {"type": "string", "format": "date"},
                   "limit": "integer", "offset": "integer"})
def list_messages():
    as_of = query_as_of()
    query = services.messages_query(api_user(), as_of=as_of, account_id=query_int("account_id"),
                                    unit_id=query_int("unit_id"),
                                    status=query_choice("status", MESSAGE_STATUSES),
                                    assignee_id=query_int("assignee_id"))
    page = paginate(query, window=page_params())
    return listing([message_json(m, as_of) for m in page.items], page.total)


@bp.get("/messages/stats")
@documented("Response rate and median response time per account and unit, over the messages "
            "received from since to until (default: the last 30 days)", tag="interaction",
            query={"since": {"type": "string", "format": "date"},
                   "until": {"type": "string", "format": "date"},
                   "unit_id": "integer", "account_id": "integer"},
            responses={200: "figures", 403: "forbidden"})
def message_stats():
    until = parse_date(request.args.get("until"), "until") or today_shanghai()
    since = parse_date(request.args.get("since"), "since") or until - timedelta(days=29)
    if since > until:
        raise Invalid(_("since must not be after until"), fields={"since": "after until"})
    return jsonify(response_stats(api_user(), since, until, unit_id=query_int("unit_id"),
                                  account_id=query_int("account_id")))


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


@bp.post("/messages/<int:message_id>/assign")
@documented("Hand the message to someone of its unit who may reply (a sponsor of the unit; "
            "assignee_id null: to nobody); the assignee is told", body=AssignIn,
            tag="interaction", responses={200: "message", 400: "invalid", 403: "forbidden",
                                          404: "not_found"})
def assign(message_id):
    user = api_user()
    message = services.get_message(user, message_id)
    assign_message(user, message, parse_body(AssignIn).assignee_id)
    db.session.commit()
    return jsonify(message_json(message, query_as_of()))
