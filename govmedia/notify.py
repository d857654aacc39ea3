"""Notifications for every package: in the product (the bell) and by e-mail where a user set
an address. Domain packages call `notify(...)` explicitly after their change; the job runs
after the commit (govmedia.queue), creates each notification once (its key is unique per
user) for the users who did not turn its kind off, and e-mails the new ones at once.
"""
import logging
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from .extensions import db
from .models import Notification, NotificationAddress, NotificationMute, User
from .queue import enqueue, job
from .wording import N_, message, say

log = logging.getLogger(__name__)


# kind -> (what the profile page calls it, the text of one notification). A notification
# keeps its words (msgid and `params`) and is said in the reader's language when read; its
# text as written in the jobs' language (Chinese) goes into the e-mail.
KINDS = {
    "article_waiting": (N_("An article waits for my review or sign-off"),
                        N_("The article “%(title)s” waits for your %(stage)s")),
    "article_returned": (N_("My article was returned"),
                         N_("The article “%(title)s” was returned: %(comment)s")),
    "article_signed_off": (N_("My article was signed off"),
                           N_("The article “%(title)s” was signed off and is being published")),
    "delivery_failed": (N_("A delivery failed"),
                        N_("“%(title)s” could not be published to “%(account)s”: %(error)s")),
    "delivery_unconfirmed": (N_("A delivery is unconfirmed"),
                             N_("It is not known whether “%(title)s” reached “%(account)s”: "
                                "%(error)s")),
    "rectification_order": (N_("A rectification order for my unit"),
                            N_("Rectification order %(id)s, due %(deadline)s: %(finding)s")),
    "rectification_answered": (N_("A rectification order was answered"),
                               N_("Rectification order %(id)s was answered: %(answer)s")),
    "message_assigned": (N_("A message from the public was handed to me"),
                         N_("A message to “%(account)s” is yours to answer: “%(text)s”")),
    "message_received": (N_("Messages from the public reached my unit's accounts"),
                         N_("New messages to “%(account)s”: %(count)s, the first “%(text)s”")),
    # The daily reminders (registry.supervision.jobs) write their own texts.
    "filing_due": (N_("A filing is due tomorrow"), None),
    "filing_overdue": (N_("A filing is overdue"), None),
    "dormant": (N_("An account has not been updated for too long"), None),
    "warning": (N_("An account is about to become dormant"), None),
    "verification": (N_("A platform verification expires"), None),
    "rectification_due": (N_("A rectification order is due"), None),
    "rectification_overdue": (N_("A rectification order is overdue"), None),
    "message_overdue": (N_("A message from the public is unanswered past its deadline"), None),
    "task_overdue": (N_("A publishing task is overdue"), None),   # publisher.tasks, daily
}
STAGES = {2: N_("review"), 3: N_("sign-off")}


def kind_label(kind: str) -> str:
    return _(KINDS[kind][0]) if kind in KINDS else kind


# --- who ---------------------------------------------------------------------------------------

def unit_users(unit_id: int | None, *roles: str) -> list[int]:
    """Active users of `unit_id` holding one of `roles` (None: the users of no unit, i.e. those
    who see every unit)."""
    query = select(User).where(User.active.is_(True))
    query = query.where(User.unit_id.is_(None) if unit_id is None else User.unit_id == unit_id)
    return [u.id for u in db.session.scalars(query) if u.has_role(*roles)]


def muted_kinds(user: User) -> set[str]:
    return set(db.session.scalars(select(NotificationMute.kind)
                                  .where(NotificationMute.user_id == user.id)))


def set_muted_kinds(user: User, kinds) -> None:
    """The kinds `user` turns off (every other kind on); unknown kinds are ignored."""
    wanted = {k for k in kinds if k in KINDS}
    db.session.execute(delete(NotificationMute).where(NotificationMute.user_id == user.id))
    db.session.add_all(NotificationMute(user_id=user.id, kind=k) for k in sorted(wanted))


def listening(user_ids, kind: str) -> list[int]:
    """Of `user_ids`, those who did not turn `kind` off."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    muted = set(db.session.scalars(select(NotificationMute.user_id).where(
        NotificationMute.kind == kind, NotificationMute.user_id.in_(ids))))
    return [i for i in ids if i not in muted]


# --- sending -----------------------------------------------------------------------------------

def notify(user_ids, kind: str, link: str | None, params: dict, *, key: str,
           unit_id: int | None = None) -> None:
    """Tell `user_ids` about something that happened (`kind`, with `params` for its text),
    once per `key`. Enqueued: sent after the caller's transaction commits, never in it."""
    if kind not in KINDS or KINDS[kind][1] is None:
        raise ValueError(f"unknown notification kind {kind!r}")
    ids = sorted({int(i) for i in user_ids})
    if ids:
        enqueue(deliver_notifications, ids, kind, link, params, key, unit_id)


def words(kind: str, params: dict) -> dict:
    """A notification's words, said in each reader's language when read (govmedia.wording);
    a parameter may be a message itself (a delivery's error)."""
    values = dict(params)
    if "stage" in values:
        values["stage"] = message(STAGES.get(values["stage"], str(values["stage"])))
    return message(KINDS[kind][1], **values)


@job()
def deliver_notifications(user_ids, kind, link, params, key, unit_id=None) -> int:
    """Create the notification for each user who listens to `kind`; e-mail the new ones."""
    ids = listening(user_ids, kind)
    if not ids:
        return 0
    said = words(kind, params)
    now = datetime.now(UTC)
    rows = [{"user_id": uid, "unit_id": unit_id, "key": key, "kind": kind, "text": say(said),
             "said": said, "link": link, "created_at": now} for uid in ids]
    created = db.session.execute(insert(Notification).values(rows).on_conflict_do_nothing(
        index_elements=["user_id", "key"]).returning(Notification.id)).scalars().all()
    db.session.commit()
    if created and smtp_configured():
        email_notifications(created)
    return len(created)


def email_language(language: str | None) -> str:
    """The language an e-mail is written in: the one its reader last chose, else Chinese."""
    return language if language in ("zh", "en") else "zh"


def smtp_configured() -> bool:
    return bool(current_app.config["SMTP_HOST"])


def smtp_client():
    config = current_app.config
    host, port = config["SMTP_HOST"], config["SMTP_PORT"]
    if config["SMTP_SSL"]:
        client = smtplib.SMTP_SSL(host, port, timeout=30, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=30)
        if config["SMTP_STARTTLS"]:
            client.starttls(context=ssl.create_default_context())
    if config["SMTP_USERNAME"]:
        client.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
    return client


def email_notifications(note_ids) -> int:
    """E-mail these notifications, one message each, to users with an address; marks them."""
    rows = db.session.execute(
        select(Notification, NotificationAddress.email, User.language)
        .join(NotificationAddress, NotificationAddress.user_id == Notification.user_id)
        .join(User, User.id == Notification.user_id)
        .where(Notification.id.in_(list(note_ids)), Notification.emailed_at.is_(None))).all()
    if not rows:
        return 0
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    client = smtp_client()
    try:
        for note, email, language in rows:
            mail = EmailMessage()
            mail["From"] = current_app.config["SMTP_FROM"]
            mail["To"] = email
            with force_locale(email_language(language)):   # the reader's, not the job's
                text = note.said_text
                mail["Subject"] = text[:80]
                mail.set_content(text + (f"\n\n{base}{note.link}" if note.link else "")
                                 + "\n\n" + _("(This e-mail was sent automatically)"))
            client.send_message(mail)
            db.session.execute(update(Notification).where(Notification.id == note.id)
                               .values(emailed_at=datetime.now(UTC)))
            db.session.commit()   # recorded as sent once it left: never e-mailed twice
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            pass
    return len(rows)
