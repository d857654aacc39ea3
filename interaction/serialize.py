"""JSON shapes of messages and replies, as API.md (Interaction) names their fields."""
from datetime import date

from govmedia.types import utcnow

from .models import Message, MessageReply
from .services import message_status, window_closes_at


def iso(value):
    return value.isoformat() if value is not None else None


def reply_json(reply: MessageReply) -> dict:
    return {"id": reply.id, "text": reply.text, "status": reply.status,
            "error": reply.error_text,
            "error_code": reply.error_code, "author_id": reply.author_id,
            "created_at": iso(reply.created_at), "sent_at": iso(reply.sent_at)}


def message_json(message: Message, as_of: date, *, with_replies: bool = False) -> dict:
    closes_at = window_closes_at(message)
    data = {"id": message.id, "account_id": message.account_id, "unit_id": message.unit_id,
            "platform": message.platform, "sender": message.sender, "kind": message.kind,
            "text": message.text, "received_at": iso(message.received_at),
            "status": message_status(message, as_of), "reply_due_on": iso(message.reply_due_on),
            "reply_due_provisional": message.due_provisional,
            "replied_at": iso(message.replied_at), "assignee_id": message.assignee_id,
            "thread_id": message.thread_id, "reply_window_closes_at": iso(closes_at),
            "reply_window_open": closes_at is None or utcnow() < closes_at}
    if with_replies:
        data["replies"] = [reply_json(r) for r in message.replies]
    return data
