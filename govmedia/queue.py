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


def init_app(app) -> None:
    app.extensions["govmedia_embedded_queue"] = EmbeddedQueue(app)


def run_worker(app, queues=QUEUES, burst: bool = False) -> None:
    """An RQ worker that does not fork per job (forking re-imports per job and is slow)."""
    from rq import Queue, SimpleWorker

    global _APP
    _APP = app
    connection = redis_connection(app)
    # Pooled connections must not be shared with anything forked; SimpleWorker does not
    # fork, but dispose anyway so the worker starts with fresh connections.
    from .extensions import db

    with app.app_context():
        db.engine.dispose()
    worker = SimpleWorker([Queue(name, connection=connection) for name in queues],
                          connection=connection)
    # Each job pushes its own app context in run_job, so no session outlives its job.
    worker.work(with_scheduler=True, burst=burst)
