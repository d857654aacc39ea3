"""The publishing queue page's figures: stuck deliveries, status counts, RQ's queues and workers."""
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job
from rq.registry import (
    DeferredJobRegistry,
    FailedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from sqlalchemy import func, or_, select

from adapters import redact_tokens
from govmedia.extensions import db
from govmedia.queue import QUEUES, redis_connection
from govmedia.types import utcnow
from registry.models import Account

from ..models import Delivery
from .config import stuck_minutes
from ..states import ACTIVE, DeliveryStatus as S, WithdrawState

JOBS_SHOWN = 20


def stuck_deliveries(minutes: int | None = None, limit: int = 200) -> list[Delivery]:
    """Deliveries with work left that have not moved for longer than the threshold."""
    since = utcnow() - timedelta(minutes=minutes or stuck_minutes())
    return db.session.scalars(select(Delivery).where(
        or_(Delivery.status.in_(ACTIVE), Delivery.withdraw_state == WithdrawState.PENDING),
        Delivery.updated_at < since,
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at < since))
        .order_by(Delivery.updated_at).limit(limit)).all()


def accounts_of(deliveries) -> dict[int, Account]:
    ids = {d.account_id for d in deliveries}
    if not ids:
        return {}
    return {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(ids)))}


def recent_failures(limit: int = 20) -> list[Delivery]:
    return db.session.scalars(select(Delivery).where(Delivery.status == S.FAILED)
                              .order_by(Delivery.updated_at.desc()).limit(limit)).all()


def status_counts() -> dict[str, int]:
    return dict(db.session.execute(select(Delivery.status, func.count())
                                   .group_by(Delivery.status)).all())


def queue_overview() -> dict:
    """RQ's registries per queue and the live workers; `error` when Redis cannot be read."""
    try:
        redis = redis_connection(current_app)
        queues = [_queue_figures(Queue(name, connection=redis)) for name in QUEUES]
        workers = [{"name": w.name, "state": w.get_state(), "queues": w.queue_names(),
                    "current_job": w.get_current_job_id(),
                    "last_heartbeat": getattr(w, "last_heartbeat", None),
                    "successful": getattr(w, "successful_job_count", None),
                    "failed": getattr(w, "failed_job_count", None)}
                   for w in Worker.all(connection=redis)]
    except (RedisError, OSError) as exc:  # the page shows Redis as unavailable
        return {"error": redact_tokens(str(exc))[:300], "queues": [],
                "workers": []}
    return {"queues": queues, "workers": workers}


def _queue_figures(queue: Queue) -> dict:
    registries = {"started": StartedJobRegistry(queue=queue),
                  "failed": FailedJobRegistry(queue=queue),
                  "scheduled": ScheduledJobRegistry(queue=queue),
                  "deferred": DeferredJobRegistry(queue=queue)}
    jobs = {"queued": _jobs(queue, queue.get_job_ids(0, JOBS_SHOWN))}
    for key, registry in registries.items():
        jobs[key] = _jobs(queue, registry.get_job_ids(0, JOBS_SHOWN - 1))
    return {"name": queue.name, "count": queue.count,
            "counts": {"queued": queue.count, **{k: r.count for k, r in registries.items()}},
            "jobs": jobs}


def _jobs(queue: Queue, ids) -> list[dict]:
    rows = []
    for job in Job.fetch_many(list(ids), connection=queue.connection):
        if job is None:
            continue
        rows.append({"id": job.id, "path": (job.meta or {}).get("function") or job.func_name,
                     "args": [a for a in (job.args or []) if isinstance(a, (int, str))][:3],
                     "enqueued_at": job.enqueued_at, "started_at": job.started_at,
                     "error": redact_tokens((job.exc_info or "").strip().splitlines()[-1])[:300]
                     if job.exc_info else None})
    return rows
