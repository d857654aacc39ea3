"""Enqueueing deliveries: inside the caller's transaction, sent by the queue when it commits.

Each row is marked `enqueued_at` with its job, so the sweep leaves rows alone whose job waits
in Redis. When Redis cannot be reached the rows stay unmarked and no job is held: the sweep
sends them at its next run (a row whose job was lost later is sent again after
DELIVERY_REQUEUE_SECONDS).
"""
import logging
import math
from datetime import datetime, timezone

from redis.exceptions import RedisError
from sqlalchemy import select, update

from adapters import redact_tokens
from govmedia.extensions import db
from govmedia.queue import enqueue, redis_connection
from govmedia.types import utcnow

from ..models import Delivery

log = logging.getLogger(__name__)


def queue_reachable() -> bool:
    try:
        redis_connection().ping()
    except RedisError as exc:
        log.warning("the queue is unreachable (%s); the sweep sends the deliveries later",
                    redact_tokens(str(exc)))
        return False
    return True


def whole_second_after(moment: datetime) -> datetime:
    """RQ's scheduler keeps whole seconds (it truncates): the next whole second, so the job
    never arrives before the row is due and never waits a second more than it must."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(math.ceil(moment.timestamp()), timezone.utc)


def dispatch(ids, job) -> int:
    """Hold one `job(delivery_id)` per id until the caller's transaction commits. A row due
    later (a scheduled publish time, a retry) goes through RQ's scheduler.
    Returns how many jobs were held; nothing when the queue is unreachable."""
    ids = list(ids)
    if not ids or not queue_reachable():
        return 0
    now = utcnow()
    due = dict(db.session.execute(select(Delivery.id, Delivery.next_attempt_at)
                                  .where(Delivery.id.in_(ids))).all())
    later = {i for i in ids if due.get(i) is not None and due[i] > now}
    db.session.execute(update(Delivery).where(Delivery.id.in_(set(ids) - later))
                       .values(enqueued_at=now))
    for delivery_id in later:
        db.session.execute(update(Delivery).where(Delivery.id == delivery_id)
                           .values(enqueued_at=due[delivery_id]))
    for delivery_id in ids:
        if delivery_id in later:
            enqueue(job, delivery_id, at=whole_second_after(due[delivery_id]))
        else:
            enqueue(job, delivery_id)
    return len(ids)
