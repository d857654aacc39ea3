"""Making publishing tasks: at sign-off for targets without a publishing API, at a withdrawal
for posts made by hand, with their working-day deadline (which targets they are and their
copy-ready text: publisher/targets.py)."""
from datetime import date

from flask import current_app
from sqlalchemy import select

from govmedia.holidays import load_calendar
from govmedia.extensions import db
from govmedia.types import shanghai_date, today_shanghai, utcnow
from govmedia.workdays import WorkCalendar
from ..states import DeliveryStatus as S, WithdrawState
from ..models import Article, Delivery
from ..targets import copy_text
from .models import PublishingTask


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

