"""Each user's reminders: the list, read marks, the unread count and the e-mail address."""
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from govmedia.errors import Invalid, NotFound
from govmedia.extensions import db

from .models import Notification, NotificationAddress

MAX_EMAIL_LENGTH = 254


def notifications_query(user, *, unread_only: bool = False):
    """The user's reminders, newest first."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query.order_by(Notification.id.desc())


def unread_count(user) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(user, note_id: int) -> Notification:
    note = db.session.get(Notification, note_id)
    if note is None or note.user_id != user.id:
        raise NotFound(_("Notification not found"))
    note.read_at = note.read_at or datetime.now(UTC)
    return note


def mark_all_read(user) -> None:
    db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC)))


def notification_address(user) -> NotificationAddress | None:
    return db.session.get(NotificationAddress, user.id)


def set_notification_email(user, email: str) -> None:
    """Where reminders are e-mailed; an empty address stops the e-mails."""
    email = (email or "").strip()
    if email and ("@" not in email or len(email) > MAX_EMAIL_LENGTH):
        raise Invalid(_("Enter a valid e-mail address"), fields={"email": "invalid"})
    address = notification_address(user)
    if email:
        if address is None:
            db.session.add(NotificationAddress(user_id=user.id, email=email))
        else:
            address.email = email
    elif address is not None:
        db.session.delete(address)


def notification_json(note: Notification) -> dict:
    return {"id": note.id, "kind": note.kind, "key": note.key, "text": note.said_text,
            "link": note.link, "unit_id": note.unit_id, "created_at": note.created_at.isoformat(),
            "read": note.read_at is not None,
            "emailed": note.emailed_at is not None}
