"""Making publishing tasks: at sign-off for targets without a publishing API, at a withdrawal
for posts made by hand; their copy-ready text and their working-day deadline."""
from datetime import date

from flask import current_app
from sqlalchemy import select

from adapters import ADAPTERS
from adapters.platforms import TASK_WITHOUT_CREDENTIALS, cut, facts
from govmedia.holidays import load_calendar
from govmedia.extensions import db
from govmedia.types import shanghai_date, today_shanghai, utcnow
from govmedia.workdays import WorkCalendar
from registry.models import Account, AccountCredential

from ..checks import html_text
from ..fanout.states import DeliveryStatus as S, WithdrawState
from ..models import Article, Delivery
from .models import PublishingTask


def by_task(account: Account, has_credentials: bool) -> bool:
    """Rule of the fan-out: a target the product cannot publish to by API becomes a task —
    a platform without an adapter, or an account that has not authorised the adapter."""
    if account.platform not in ADAPTERS:
        return True
    return account.platform in TASK_WITHOUT_CREDENTIALS and not has_credentials


def task_targets(accounts: list[Account]) -> set[int]:
    """The ids of the accounts among `accounts` that get a task instead of a send job."""
    # Never authorised: a task. An authorisation that lapsed keeps the adapter's path (the
    # delivery fails cleanly and is retried once the sponsor authorises again).
    with_credentials = set(db.session.scalars(select(AccountCredential.account_id).where(
        AccountCredential.account_id.in_([a.id for a in accounts]))))
    return {a.id for a in accounts if by_task(a, a.id in with_credentials)}


def copy_text(article: Article, platform: str) -> tuple[str, str]:
    """(title, text) ready to paste on `platform`: the body's visible text (the digest when
    the body is empty) and the link to the original, cut to the platform's limits; the link
    is kept whole and the body is cut before it."""
    limits = facts(platform)
    title = cut((article.title or "").strip(), limits.title_max)
    body = html_text(article.body_html or "").text
    body = "\n".join(line.strip() for line in body.splitlines() if line.strip())
    body = body or (article.digest or "").strip()
    link = (article.source_url or "").strip()
    if not link:
        return title, cut(body, limits.text_max)
    room = None if limits.text_max is None else limits.text_max - len(link) - 1
    if room is not None and room < 1:
        return title, cut(body, limits.text_max)
    return title, f"{cut(body, room)}\n{link}".strip()


def task_workdays() -> int:
    return int(current_app.config["PUBLISHING_TASK_WORKDAYS"])


def due_on(day: date, calendar: WorkCalendar | None = None) -> tuple[date, bool]:
    """The task's deadline: the n-th working day after `day` (its own day not counted)."""
    return (calendar or load_calendar()).add_workdays(day, task_workdays())


def _new_task(delivery: Delivery, kind: str, unit_id: int, title: str, text: str,
              starts_on: date | None = None):
    starts_on = max(starts_on or today_shanghai(), today_shanghai())
    due, provisional = due_on(starts_on)
    task = PublishingTask(kind=kind, delivery_id=delivery.id, article_id=delivery.article_id,
                          account_id=delivery.account_id, unit_id=unit_id,
                          platform=delivery.platform, title=title, text=text,
                          starts_on=starts_on, due_on=due, provisional=provisional)
    db.session.add(task)
    return task


def create_publish_tasks(article: Article, rows: list[Delivery]) -> list[PublishingTask]:
    """One `publish` task per delivery in status task, in the caller's transaction."""
    # A scheduled article is posted on its day, and counts its working days from there.
    starts_on = shanghai_date(article.publish_at) if article.publish_at else None
    tasks = []
    for row in rows:
        title, text = copy_text(article, row.platform)
        tasks.append(_new_task(row, "publish", article.unit_id, title, text, starts_on))
    db.session.flush()
    return tasks


def publish_task_of(delivery: Delivery) -> PublishingTask | None:
    return db.session.scalar(select(PublishingTask).where(
        PublishingTask.delivery_id == delivery.id, PublishingTask.kind == "publish"))


def withdraw_by_hand(article: Article, delivery: Delivery) -> bool:
    """撤稿 of a delivery a person carries out: True when handled here (no withdraw job).
    Not yet posted: the task is cancelled and the delivery is withdrawn at once. Posted by
    hand: a `takedown` task, done when someone confirms the post is removed."""
    task = publish_task_of(delivery)
    if task is None:
        return False
    now = utcnow()
    if delivery.status == S.TASK:
        task.cancelled_at = now
        delivery.status = S.WITHDRAWN
        delivery.withdrawn_at = now
        delivery.withdraw_state = None
        return True
    if delivery.status != S.SENT:
        return False
    delivery.withdraw_state = WithdrawState.TASK
    exists = db.session.scalar(select(PublishingTask.id).where(
        PublishingTask.delivery_id == delivery.id, PublishingTask.kind == "takedown"))
    if exists is None:
        _new_task(delivery, "takedown", article.unit_id, task.title, delivery.post_url or "")
    return True


def recompute_task_deadlines(year: int, calendar: WorkCalendar) -> int:
    """After an admin enters a year's schedule: the open tasks' deadlines it can move.
    Registered with govmedia.holidays in publisher.init_app."""
    changed = 0
    for task in db.session.scalars(select(PublishingTask).where(
            PublishingTask.done_at.is_(None), PublishingTask.cancelled_at.is_(None),
            PublishingTask.due_on >= date(year - 1, 12, 1))):
        due, provisional = calendar.add_workdays(task.starts_on, task_workdays())
        if (due, provisional) != (task.due_on, task.provisional):
            task.due_on, task.provisional = due, provisional
            changed += 1
    return changed

