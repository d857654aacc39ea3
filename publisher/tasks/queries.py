"""Reading publishing tasks: the list (API and page), and the overdue ones for supervision."""
from datetime import date

from sqlalchemy import and_, func, select

from govmedia.auth import scope_query
from govmedia.models import User
from govmedia.extensions import db
from govmedia.wording import N_, message
from registry.models import Account
from registry.serialize import iso

from .models import PublishingTask

T = PublishingTask
LIVE = T.cancelled_at.is_(None)


def status_clause(status: str, as_of: date):
    """PublishingTask.status_on in SQL."""
    if status == "done":
        return T.done_at.is_not(None)
    if status == "open":
        return and_(T.done_at.is_(None), T.due_on >= as_of)
    return and_(T.done_at.is_(None), T.due_on < as_of)


def tasks_query(actor: User, *, as_of: date, account_id: int | None = None,
                unit_id: int | None = None, status: str | None = None, kind: str | None = None):
    """The tasks the actor may see (its unit's; every unit for admins and supervisors),
    not cancelled; the earliest deadline first, done ones last."""
    query = scope_query(select(T).where(LIVE), T.unit_id, actor, unit_id)
    if account_id is not None:
        query = query.where(T.account_id == account_id)
    if status is not None:
        query = query.where(status_clause(status, as_of))
    if kind is not None:
        query = query.where(T.kind == kind)
    return query.order_by(T.done_at.is_not(None), T.due_on, T.id)


def task_json(task: PublishingTask, as_of: date) -> dict:
    """The contract's fields (shared/API.md, Publishing tasks) and a few more."""
    return {"id": task.id, "delivery_id": task.delivery_id, "article_id": task.article_id,
            "account_id": task.account_id, "platform": task.platform, "text": task.text,
            "due_on": task.due_on.isoformat(), "status": task.status_on(as_of),
            "post_url": task.post_url, "done_at": iso(task.done_at),
            "kind": task.kind, "title": task.title, "unit_id": task.unit_id,
            "provisional": task.provisional, "created_at": iso(task.created_at),
            "starts_on": task.starts_on.isoformat(),
            "screenshot": None if task.screenshot_mime is None else {
                "mime": task.screenshot_mime, "bytes": task.screenshot_bytes}}


def overdue_counts(as_of: date, units: list[int] | None) -> dict[int, int]:
    """unit id -> overdue tasks (the supervision dashboard's column)."""
    query = (select(T.unit_id, func.count()).where(LIVE, status_clause("overdue", as_of))
             .group_by(T.unit_id))
    if units is not None:
        query = query.where(T.unit_id.in_(units))
    return dict(db.session.execute(query).all())


def overdue_reminders(today: date) -> list[tuple]:
    """(unit_id, key, kind, words, link) per overdue task, for the daily reminders; the words
    a message (govmedia.wording), as the other reminders."""
    out = []
    for task, name in db.session.execute(
            select(T, Account.name).join(Account, Account.id == T.account_id)
            .where(LIVE, status_clause("overdue", today))):
        said = (N_("The take-down task on “%(name)s” is overdue (deadline %(due_on)s)")
                if task.kind == "takedown" else
                N_("The publishing task on “%(name)s” is overdue (deadline %(due_on)s)"))
        text = message(said, name=name, due_on=task.due_on.isoformat())
        out.append((task.unit_id, f"task_overdue:{task.id}", "task_overdue", text,
                    f"/tasks#task-{task.id}"))
    return out
