"""Who answers a message (issue 14: each message has an assignee). The first person to reply
takes it (services.reply_to_message); a sponsor of the unit can hand it to someone of the
unit who may reply, who is then told."""
from flask_babel import gettext as _
from sqlalchemy import select

from govmedia import audit
from govmedia.auth import require_roles, require_unit_access
from govmedia.errors import Invalid
from govmedia.extensions import db
from govmedia.models import User
from govmedia.notify import notify

from .models import Message

REPLIER_ROLES = ("sponsor", "editor")


def assignable_users(unit_id: int) -> list[User]:
    """The active people of the unit who may reply, by name."""
    users = db.session.scalars(select(User).where(User.unit_id == unit_id,
                                                  User.active.is_(True))
                               .order_by(User.username)).all()
    return [u for u in users if u.has_role(*REPLIER_ROLES)]


def assign_message(actor: User, message: Message, assignee_id: int | None) -> Message:
    """Hand the message to a replier of its unit (None: to nobody); audited, and the new
    assignee is told once."""
    require_roles(actor, "sponsor")
    require_unit_access(actor, message.unit_id)
    if assignee_id is not None and assignee_id not in {u.id for u in
                                                       assignable_users(message.unit_id)}:
        raise Invalid(_("Choose someone of the message's unit who may reply to it"),
                      fields={"assignee_id": "not a replier of this unit"})
    before = message.assignee_id
    if before == assignee_id:
        return message
    message.assignee_id = assignee_id
    audit.record("message.assign", "message", message.id, before={"assignee_id": before},
                 after={"assignee_id": assignee_id}, unit_id=message.unit_id, user=actor)
    if assignee_id is not None and assignee_id != actor.id:
        notify([assignee_id], "message_assigned", f"/inbox?account_id={message.account_id}",
               {"account": message.account.name, "text": (message.text or "")[:40]},
               key=f"message_assigned:{message.id}:{assignee_id}", unit_id=message.unit_id)
    return message
