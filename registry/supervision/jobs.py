"""The daily reminders job: in-product notifications and, when SMTP is configured, e-mail.

Every reminder has a key (``filing_due:12``, ``dormant:7:2026-11-02`` …) unique per user in the
database, so however often the job runs — twice a day, on two workers, after a restart — each
reminder is created once and e-mailed once.
"""
import logging
import smtplib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.models import NotificationMute, User
from govmedia.notify import email_language, smtp_client, smtp_configured
from govmedia.profiles import profile_for
from govmedia.queue import job
from govmedia.types import today_shanghai
from govmedia.wording import N_, message, say
from interaction.overdue import overdue_reminders as message_reminders

from ..models import COUNTED_STATUSES, Account, Filing
from ..filings import filing_status_clause
from .dormancy import band_subquery
from .models import Notification, NotificationAddress, Rectification, ReminderRun
from .outside_work import overdue_reminders
from .pending import apply_pending

log = logging.getLogger(__name__)
RECIPIENT_ROLES = ("sponsor", "editor")
EMAIL_BACKLOG_DAYS = 2
FINDING_EXCERPT = 60   # characters of an order's finding quoted in its reminder
MESSAGES_RUN = "message_overdue"   # the overdue messages' last run (models.ReminderRun)
FIRST_RUN_DAYS = 7


def _dormant_text(profile, name: str, days: int, last: date) -> dict:
    rule = (N_("“%(name)s” has not been updated for %(days)s days (last update %(last)s), past "
               "the %(limit)s-working-day rule") if profile.window_unit == "workdays" else
            N_("“%(name)s” has not been updated for %(days)s days (last update %(last)s), past "
               "the %(limit)s-day rule"))
    return message(rule, name=name, days=days, last=last.isoformat(),
                   limit=profile.update_window)


def messages_since(today: date) -> date:
    """The first deadline day whose overdue messages today's run reads: the day before the
    last run's (one day read twice, harmless: each message has its key), so a run after days
    without one (every worker down) tells what fell due meanwhile; the first run ever looks
    back FIRST_RUN_DAYS."""
    last = db.session.scalar(select(ReminderRun.last_day).where(
        ReminderRun.name == MESSAGES_RUN))
    if last is None:
        return today - timedelta(days=FIRST_RUN_DAYS + 1)
    return min(last, today) - timedelta(days=1)


def record_run(name: str, today: date) -> None:
    """Keep the latest day run for (in the reminders' transaction; a run for an earlier day,
    `remind --date`, does not move it back)."""
    stmt = insert(ReminderRun).values(name=name, last_day=today, ran_at=datetime.now(UTC))
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"last_day": func.greatest(ReminderRun.last_day, stmt.excluded.last_day),
              "ran_at": stmt.excluded.ran_at}))


def _reminders(today: date, messages_from: date | None = None) -> list[dict]:
    """(unit_id, key, kind, words, link) for everything worth a reminder today; the words are
    a message (govmedia.wording), stored with the text as written in the jobs' language and
    said again in the reader's when shown. `messages_from`: the first deadline
    day of the overdue messages read (None: every overdue message)."""
    tomorrow = today + timedelta(days=1)
    out = []
    for f, name in db.session.execute(
            select(Filing, Account.name).join(Account, Account.id == Filing.account_id)
            .where(or_(and_(filing_status_clause("pending", today), Filing.due_on == tomorrow),
                       filing_status_clause("overdue", today)))):
        if f.due_on == tomorrow:
            out.append((f.unit_id, f"filing_due:{f.id}", "filing_due",
                        message(N_("The filing of “%(name)s” (%(event_date)s) is due tomorrow "
                                   "(%(due_on)s)"), name=name,
                                event_date=f.event_date.isoformat(),
                                due_on=f.due_on.isoformat()),
                        f"/accounts/{f.account_id}"))
        else:
            out.append((f.unit_id, f"filing_overdue:{f.id}", "filing_overdue",
                        message(N_("The filing of “%(name)s” is overdue (deadline %(due_on)s)"),
                                name=name, due_on=f.due_on.isoformat()),
                        f"/accounts/{f.account_id}"))
    band = band_subquery(today, None)
    calendar = load_calendar()
    for aid, unit_id, last, dormant, name in db.session.execute(
            select(band.c.account_id, band.c.unit_id, band.c.last, band.c.dormant, Account.name)
            .join(Account, Account.id == band.c.account_id)):
        days = (today - last).days
        profile = profile_for(unit_id, today)
        if dormant:
            out.append((unit_id, f"dormant:{aid}:{last.isoformat()}", "dormant",
                        _dormant_text(profile, name, days, last), f"/accounts/{aid}"))
        else:
            out.append((unit_id, f"warning:{aid}:{last.isoformat()}", "warning",
                        message(N_("“%(name)s” has not been updated for %(days)s days: update "
                                   "it before %(before)s"), name=name, days=days,
                                before=profile.window_end(last, calendar).isoformat()),
                        f"/accounts/{aid}"))
    horizon = today + timedelta(days=current_app.config["SUPERVISION_VERIFICATION_NOTICE_DAYS"])
    for a in db.session.scalars(select(Account).where(
            Account.status.in_(COUNTED_STATUSES), Account.verification_expires_on.is_not(None),
            Account.verification_expires_on <= horizon)):
        when = a.verification_expires_on.isoformat()
        said = (N_("The platform verification of “%(name)s” expired on %(day)s")
                if a.verification_expires_on < today else
                N_("The platform verification of “%(name)s” expires on %(day)s: renew it in "
                   "time"))
        out.append((a.unit_id, f"verification:{a.id}:{when}", "verification",
                    message(said, name=a.name, day=when), f"/accounts/{a.id}"))
    for o in db.session.scalars(select(Rectification).where(
            Rectification.status != "closed", Rectification.deadline <= tomorrow)):
        deadline, finding = o.deadline.isoformat(), o.finding[:FINDING_EXCERPT]
        if o.deadline < today:
            key, kind, said = (f"rectification_overdue:{o.id}:{deadline}",
                               "rectification_overdue",
                               N_("Rectification order %(id)s is overdue (deadline "
                                  "%(deadline)s): %(finding)s"))
        else:
            key, kind, said = (f"rectification_due:{o.id}:{deadline}", "rectification_due",
                               N_("Rectification order %(id)s is due on %(deadline)s: "
                                  "%(finding)s"))
        text = message(said, id=o.id, deadline=deadline, finding=finding)
        out.append((o.unit_id, key, kind, text, f"/supervision/rectifications/{o.id}"))
    out.extend(message_reminders(today, messages_from))  # issue 14: messages from the public
    out.extend(overdue_reminders(today))  # publishing tasks and other registered work
    return out


def create_notifications(today: date | None = None) -> int:
    """Create today's reminders for each unit's sponsors and editors; returns how many were new."""
    today = today or today_shanghai()
    reminders = _reminders(today, messages_since(today))
    record_run(MESSAGES_RUN, today)
    if not reminders:
        db.session.commit()
        return 0
    users = defaultdict(list)
    for user in db.session.scalars(select(User).where(User.active.is_(True),
                                                      User.unit_id.is_not(None))):
        if user.has_role(*RECIPIENT_ROLES):
            users[user.unit_id].append(user.id)
    # A kind a user turned off on the profile page is not created for them (govmedia.notify).
    muted = set(db.session.execute(select(NotificationMute.user_id, NotificationMute.kind)).all())
    now = datetime.now(UTC)
    rows = [{"user_id": uid, "unit_id": unit_id, "key": key, "kind": kind, "text": say(said),
             "said": said, "link": link, "created_at": now}
            for unit_id, key, kind, said, link in reminders for uid in users.get(unit_id, ())
            if (uid, kind) not in muted]
    created = 0
    for start in range(0, len(rows), 500):
        stmt = insert(Notification).values(rows[start:start + 500])
        result = db.session.execute(stmt.on_conflict_do_nothing(
            index_elements=["user_id", "key"]).returning(Notification.id))
        created += len(result.all())
    db.session.commit()
    return created


def send_emails(now: datetime | None = None) -> int:
    """E-mail each user their reminders not yet e-mailed (one message per user); marks them sent."""
    if not smtp_configured():
        return 0
    now = now or datetime.now(UTC)
    since = now - timedelta(days=EMAIL_BACKLOG_DAYS)
    pending = db.session.execute(
        select(Notification, NotificationAddress.email, User.language)
        .join(NotificationAddress, NotificationAddress.user_id == Notification.user_id)
        .join(User, User.id == Notification.user_id)
        .where(Notification.emailed_at.is_(None), Notification.created_at >= since)
        .order_by(Notification.user_id, Notification.id)).all()
    by_user = defaultdict(list)
    for note, email, language in pending:
        by_user[(note.user_id, email, language)].append(note)
    if not by_user:
        return 0
    sender = current_app.config["SMTP_FROM"]
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    sent = 0
    client = smtp_client()
    try:
        for (user_id, email, language), notes in by_user.items():
            mail = EmailMessage()
            mail["From"] = sender
            mail["To"] = email
            with force_locale(email_language(language)):   # the reader's, not the job's
                mail["Subject"] = _("Government new media reminders: %(count)s to do",
                                    count=len(notes))
                mail.set_content(
                    "\n".join(f"- {n.said_text}" + (f"  {base}{n.link}" if n.link else "")
                              for n in notes)
                    + "\n\n" + _("(This e-mail was sent automatically)"))
            client.send_message(mail)
            db.session.execute(update(Notification).where(
                Notification.id.in_([n.id for n in notes])).values(emailed_at=now))
            db.session.commit()   # each user's message is recorded as sent once it left
            sent += 1
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            pass
    return sent


@job()
def send_daily_reminders(today: str | None = None) -> dict:
    """The periodic job (07:00 Asia/Shanghai)."""
    day = date.fromisoformat(today) if today else today_shanghai()
    created = create_notifications(day)
    emailed = send_emails()
    log.info("daily reminders for %s: %s new notifications, %s e-mails", day, created, emailed)
    return {"created": created, "emailed": emailed}


@job()
def apply_pending_figures() -> int:
    """Periodic: apply the outboxes (new posts, account changes) to the supervision figures."""
    total = 0
    for _ in range(100):  # bounded; each batch its own transaction
        n = apply_pending(max_batches=1)
        db.session.commit()
        total += n
        if n == 0:
            break
    return total
