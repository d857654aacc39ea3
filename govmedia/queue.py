"""RQ on Redis, the only queue: jobs named by function, sent after commit, run in an app context.

Jobs carry only ids; the database row is the truth about work in flight. `enqueue` called
inside a database transaction holds the job until that transaction commits (one session
hook, `_send_after_commit`), so a worker never looks for a row that is not there yet, and a
rolled-back request sends nothing.
"""
from __future__ import annotations

import functools
import logging
import time
from datetime import datetime, timedelta, timezone

from flask import current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from .extensions import db

log = logging.getLogger(__name__)
# Queue name -> job timeout in seconds.
QUEUES = {"default": 600, "imports": 1800, "deliveries": 300}
_PENDING = "govmedia_pending_jobs"

_WORKER_APP = None  # the app a worker process runs its jobs in (set by run_worker)


def set_worker_app(app):
    """The app a worker runs its jobs in from now on; returns the one it replaces (a burst in
    a test process restores it, so each burst runs in the app it was given)."""
    global _WORKER_APP
    previous, _WORKER_APP = _WORKER_APP, app
    return previous


def job(queue: str = "default", *, rerun_after_outage: bool = True):
    """Make a function a job: `enqueue(fn, ...)` sends it to `queue`, and it runs in an app
    context of its own (the worker's app), so no database session outlives one job.

    A job that finds the database unreachable waits for it (wait_for_database) instead of
    failing at once, so a worker does not fail its whole queue during an outage, then runs
    again: every job must be safe to run twice, as RQ may run one twice anyway (they claim
    their rows, mark what they did, or drain an outbox). A job with a side effect outside the
    database that it cannot recognise as done says `rerun_after_outage=False`: it waits,
    then fails once."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue}")

    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            app = current_app._get_current_object() if has_app_context() else _WORKER_APP
            if app is None:
                raise RuntimeError(f"{fn.__qualname__} runs in a worker: `flask --app wsgi worker`")
            while True:
                with app.app_context():
                    try:
                        return fn(*args, **kwargs)
                    except (OperationalError, InterfaceError) as exc:
                        if not database_outage(exc):
                            raise
                        log.warning("%s: the database is unreachable; waiting for it",
                                    fn.__qualname__)
                        _forget_session()
                        wait_for_database()
                        if not rerun_after_outage:
                            raise
                log.warning("%s: the database answers again; the job runs again", fn.__qualname__)

        run.queue_name = queue
        return run

    return decorate


def database_outage(exc: DBAPIError) -> bool:
    """A lost or refused connection, not a statement the database refused (a deadlock, a
    constraint): the database does not answer a fresh connection."""
    return bool(exc.connection_invalidated) or not database_answers()


def database_answers() -> bool:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except DBAPIError:
        return False


def wait_for_database(first: float = 0.5, longest: float = 5.0) -> None:
    """Until the database answers: 0.5 s, doubling up to 5 s between looks, so work resumes
    within seconds of its return. Inside the job, hence within RQ's job timeout."""
    pause = first
    while not database_answers():
        time.sleep(pause)
        pause = min(pause * 2, longest)


def _forget_session() -> None:
    try:
        db.session.rollback()
    except DBAPIError:
        pass
    db.session.remove()


def _queue_name(fn, queue: str | None) -> str:
    name = queue or getattr(fn, "queue_name", None)
    if name is None:
        raise TypeError(f"{getattr(fn, '__qualname__', fn)} is not a @job")
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name}")
    return name


def redis_connection(app=None) -> Redis:
    app = app or current_app
    connections = app.extensions.setdefault("govmedia_redis", {})
    url = app.config["REDIS_URL"]
    if url not in connections:
        connections[url] = Redis.from_url(url)
    return connections[url]


def enqueue(fn, *args, queue: str | None = None, at: datetime | None = None, **kwargs):
    """Send `fn(*args, **kwargs)` to its queue (at `at`, through RQ's scheduler, if given).

    Inside a database transaction the job waits for the commit and None is returned;
    otherwise it is sent now and the RQ job returned (RedisError when Redis is away)."""
    name = _queue_name(fn, queue)
    app = current_app._get_current_object()
    item = (app, name, fn, args, kwargs, at)
    if db.session().in_transaction():
        db.session.info.setdefault(_PENDING, []).append(item)
        return None
    return _send(*item)


def enqueue_in(delay: timedelta | float, fn, *args, **kwargs):
    """`enqueue` at now + delay (seconds or a timedelta)."""
    if not isinstance(delay, timedelta):
        delay = timedelta(seconds=delay)
    return enqueue(fn, *args, at=datetime.now(timezone.utc) + delay, **kwargs)


def _send(app, name, fn, args, kwargs, at):
    rq_queue = Queue(name, connection=redis_connection(app))
    options = {"job_timeout": QUEUES[name], "meta": {"function": fn.__qualname__}}
    if at is not None:
        return rq_queue.enqueue_at(at, fn, args=args, kwargs=kwargs, **options)
    return rq_queue.enqueue(fn, args=args, kwargs=kwargs, **options)


def _send_after_commit(session) -> None:
    for item in session.info.pop(_PENDING, []):
        try:
            _send(*item)
        except RedisError as exc:  # the rows are committed: each package's sweep resends
            log.warning("job %s not sent (%s); its sweep sends it later", item[2].__qualname__, exc)


def _drop_after_rollback(session) -> None:
    session.info.pop(_PENDING, None)


def init_app(app) -> None:
    """The one hook: jobs enqueued in a transaction go out when it commits."""
    if not event.contains(db.session, "after_commit", _send_after_commit):
        event.listen(db.session, "after_commit", _send_after_commit)
        event.listen(db.session, "after_soft_rollback",
                     lambda session, previous: _drop_after_rollback(session))


def queues(app, names=None) -> list[Queue]:
    connection = redis_connection(app)
    return [Queue(name, connection=connection) for name in (names or QUEUES)]
