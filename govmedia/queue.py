"""The one way work is enqueued: RQ on Redis in production, an embedded queue otherwise.

Jobs carry only ids; the database row is the truth about work in flight. Enqueue after the
transaction that created the row commits.
"""
import logging
import queue as stdlib_queue
import threading
from importlib import import_module

from flask import current_app

log = logging.getLogger(__name__)
QUEUES = ("default", "imports", "deliveries")
JOB_TIMEOUT = {"default": 600, "imports": 1800, "deliveries": 300}


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def run_job(path: str, *args, **kwargs):
    """Entry point of every job: runs the named function inside an app context."""
    from flask import has_app_context

    if has_app_context():
        return _resolve(path)(*args, **kwargs)
    app = _worker_app()
    with app.app_context():
        return _resolve(path)(*args, **kwargs)


_APP = None


def _worker_app():
    global _APP
    if _APP is None:
        from . import create_app

        _APP = create_app()
    return _APP


class EmbeddedQueue:
    """A worker thread inside the web process, for the no-Redis default (one process, SQLite)."""

    def __init__(self, app):
        self.app = app
        self.jobs: stdlib_queue.Queue = stdlib_queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def put(self, path, args, kwargs):
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, daemon=True,
                                               name="govmedia-embedded-queue")
                self.thread.start()
        self.jobs.put((path, args, kwargs))

    def _loop(self):
        while True:
            path, args, kwargs = self.jobs.get()
            try:
                with self.app.app_context():
                    _resolve(path)(*args, **kwargs)
            except Exception:  # the job's own row records its failure; keep the worker alive
                log.exception("embedded job %s failed", path)
            finally:
                self.jobs.task_done()

    def join(self):
        self.jobs.join()


def redis_connection(app=None):
    from redis import Redis

    app = app or current_app
    return Redis.from_url(app.config["REDIS_URL"])


def enqueue(path: str, *args, queue: str = "default", **kwargs):
    """Enqueue `path(*args)`; with QUEUE_EAGER (tests) it runs now, in this context."""
    app = current_app._get_current_object()
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue}")
    if app.config.get("QUEUE_EAGER"):
        return _resolve(path)(*args, **kwargs)
    if not app.config.get("REDIS_URL"):
        app.extensions["govmedia_embedded_queue"].put(path, args, kwargs)
        return None
    from rq import Queue

    rq_queue = Queue(queue, connection=redis_connection(app))
    return rq_queue.enqueue(run_job, path, *args, job_timeout=JOB_TIMEOUT[queue],
                            meta={"path": path}, **kwargs)


def enqueue_at(when, path: str, *args, queue: str = "default"):
    """Enqueue `path(*args)` to run at `when` (an aware datetime) through RQ's scheduler (the
    worker runs with it). Eager and embedded modes have no scheduler: nothing is queued and
    the caller's periodic sweep, which looks at the row's due time, picks the work up."""
    app = current_app._get_current_object()
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue}")
    if app.config.get("QUEUE_EAGER") or not app.config.get("REDIS_URL"):
        return None
    from rq import Queue

    rq_queue = Queue(queue, connection=redis_connection(app))
    return rq_queue.enqueue_at(when, run_job, path, *args, job_timeout=JOB_TIMEOUT[queue],
                               meta={"path": path})


def init_app(app) -> None:
    app.extensions["govmedia_embedded_queue"] = EmbeddedQueue(app)
    if not app.config.get("REDIS_URL") and not app.testing:
        # No worker runs in the embedded default: the web process ticks the periodic jobs,
        # from its first request on (not at import, so CLI commands start nothing).
        started = []

        @app.before_request
        def _start_embedded_ticker():
            if not started:
                started.append(start_ticker(app, app.config.get("PERIODIC_TICK_SECONDS", 15)))


def run_worker(app, queues=QUEUES, burst: bool = False) -> None:
    """An RQ worker that does not fork per job (forking re-imports per job and is slow)."""
    import signal

    from redis.exceptions import RedisError
    from rq import Queue, SimpleWorker

    global _APP
    _APP = app
    connection = redis_connection(app)
    # Pooled connections must not be shared with anything forked; SimpleWorker does not
    # fork, but dispose anyway so the worker starts with fresh connections.
    from .extensions import db

    with app.app_context():
        db.engine.dispose()
    # Each job pushes its own app context in run_job, so no session outlives its job.
    ticker = None if burst else start_ticker(app, app.config.get("PERIODIC_TICK_SECONDS", 15))
    try:
        while True:
            worker = None
            try:
                worker = SimpleWorker([Queue(name, connection=connection) for name in queues],
                                      connection=connection)
                worker.work(with_scheduler=True, burst=burst)
            except RedisError as exc:  # Redis down at start, or in RQ's teardown as well
                if burst:
                    raise
                log.warning("worker stopped, Redis unreachable: %s", exc)
            if burst or (worker is not None and worker._shutdown_requested_date is not None):
                return  # done, or asked to stop (SIGTERM, Ctrl+C)
            # RQ's loop quits when Redis goes away in the middle of a job (the job's own rows
            # already say what it did; the sweep resends what it did not finish). A worker
            # must outlive a Redis restart, and may start during one: wait for Redis, then
            # work on as a new worker.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # no job runs while we wait
            signal.signal(signal.SIGINT, signal.default_int_handler)
            _wait_for_redis(connection)
    finally:
        if ticker is not None:
            ticker.stop.set()


def _wait_for_redis(connection) -> None:
    """Sleep until Redis answers: 1 s, then doubling up to 30 s between tries."""
    import time

    from redis.exceptions import RedisError

    pause = 1.0
    while True:
        time.sleep(pause)
        try:
            connection.ping()
        except RedisError:
            pause = min(pause * 2, 30.0)
            continue
        log.warning("Redis answers again: the worker starts over")
        return


# --- periodic jobs ---------------------------------------------------------------------------
# RQ's own CronScheduler has no lock between processes: two workers would both fire. Here every
# worker ticks, and each slot (a day for daily jobs, an interval for sweeps) is claimed in Redis
# with SET NX, so a slot's job is enqueued exactly once however many workers run. A slot missed
# while every worker was down runs at the next tick.

from dataclasses import dataclass  # noqa: E402
from datetime import datetime, time as dtime, timezone  # noqa: E402

from .types import SHANGHAI  # noqa: E402


@dataclass(frozen=True)
class Periodic:
    name: str
    path: str
    daily_at: dtime | None = None      # Asia/Shanghai wall-clock time
    every_seconds: int | None = None
    queue: str = "default"

    def slot(self, now: datetime) -> str | None:
        """The slot due at `now`, or None if today's daily run is not due yet."""
        if self.every_seconds:
            return str(int(now.timestamp()) // self.every_seconds)
        local = now.astimezone(SHANGHAI)
        if local.time() < self.daily_at:
            return None
        return local.date().isoformat()


def register_periodic(app, name: str, path: str, *, daily_at: str | None = None,
                      every_seconds: int | None = None, queue: str = "default") -> None:
    if (daily_at is None) == (every_seconds is None):
        raise ValueError("give exactly one of daily_at or every_seconds")
    at = dtime.fromisoformat(daily_at) if daily_at else None
    app.extensions.setdefault("govmedia_periodic", {})[name] = Periodic(
        name, path, at, every_seconds, queue)


def periodic_jobs(app) -> list[Periodic]:
    return list(app.extensions.get("govmedia_periodic", {}).values())


def tick(app, now: datetime | None = None) -> list[str]:
    """Enqueue every periodic job whose current slot nobody has claimed; returns their names."""
    now = now or datetime.now(timezone.utc)
    fired = []
    redis = redis_connection(app) if app.config.get("REDIS_URL") else None
    claimed = app.extensions.setdefault("govmedia_periodic_claimed", set())
    for job in periodic_jobs(app):
        slot = job.slot(now)
        if slot is None:
            continue
        key = f"govmedia:periodic:{job.name}:{slot}"
        if redis is not None:
            ttl = max(job.every_seconds or 0, 2 * 86400)
            if not redis.set(key, now.isoformat(), nx=True, ex=ttl):
                continue
        else:
            if key in claimed:
                continue
            claimed.add(key)
        with app.app_context():
            enqueue(job.path, queue=job.queue)
        fired.append(job.name)
    return fired


def start_ticker(app, interval: float = 15.0) -> threading.Thread:
    """A daemon thread that ticks every `interval` seconds (in workers, or the embedded queue)."""
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                tick(app)
            except Exception:  # Redis away for a moment: the next tick catches up
                log.exception("periodic tick failed")
            stop.wait(interval)

    thread = threading.Thread(target=loop, daemon=True, name="govmedia-periodic")
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
