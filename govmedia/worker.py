"""The worker: RQ's SimpleWorker with RQ's scheduler and the periodic ticker, or one burst."""
from __future__ import annotations

import logging
import signal
import time

from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.registry import FailedJobRegistry
from rq.scheduler import RQScheduler

from . import queue
from .extensions import db
from .periodic import start_ticker
from .queue import queues, redis_connection

log = logging.getLogger(__name__)


class Worker(SimpleWorker):
    """RQ's SimpleWorker, leaving its command channel without a minute's wait."""

    def unsubscribe(self):
        # redis-py 8's PubSubWorkerThread.stop() joins the thread, which sits in a 60-s read
        # (RQ's sleep_time): every burst and every warm shutdown waited up to a minute. The
        # flag first, then the UNSUBSCRIBE whose answer wakes the read, then a short join.
        if self.pubsub_thread:
            try:
                self.pubsub_thread.stop(timeout=0)
            except TypeError:  # redis-py before 8: stop() only clears the flag
                self.pubsub_thread.stop()
            self.pubsub.unsubscribe()
            self.pubsub_thread.join(timeout=1)
            self.pubsub.close()


def run_burst(app, names=None, *, raise_failures: bool = True) -> int:
    """Run every job now waiting (scheduled ones that are due included) in this process, as
    `flask worker --burst` does; returns how many ran. Failed jobs raise by default."""
    previous = queue.set_worker_app(app)
    try:
        return _burst(app, names, raise_failures)
    finally:
        queue.set_worker_app(previous)


def _burst(app, names, raise_failures: bool) -> int:
    rq_queues = queues(app, names)
    scheduler = RQScheduler(rq_queues, connection=redis_connection(app))
    # Without the scheduler's locks (a running worker's scheduler holds them) its registries
    # are empty and nothing moves: name them.
    scheduler.prepare_registries([q.name for q in rq_queues])
    scheduler.enqueue_scheduled_jobs()
    waiting = sum(q.count for q in rq_queues)
    if not waiting:
        return 0
    failed_before = {q.name: set(FailedJobRegistry(queue=q).get_job_ids()) for q in rq_queues}
    Worker(rq_queues, connection=redis_connection(app)).work(
        burst=True, logging_level="WARNING")
    if raise_failures:
        for q in rq_queues:
            registry = FailedJobRegistry(queue=q)
            new = set(registry.get_job_ids()) - failed_before[q.name]
            for job_id in new:
                failed = q.fetch_job(job_id)
                raise RuntimeError(f"job {failed.func_name} failed:\n{failed.exc_info}")
    return waiting


def run_worker(app, names=None, burst: bool = False) -> None:
    """An RQ worker with RQ's scheduler that does not fork per job (forking re-imports)."""
    queue.set_worker_app(app)
    with app.app_context():
        db.engine.dispose()  # start with fresh pooled connections
    ticker = None if burst else start_ticker(app)
    try:
        while True:
            worker = None
            try:
                worker = Worker(queues(app, names), connection=redis_connection(app))
                worker.work(with_scheduler=True, burst=burst)
            except RedisError as exc:  # Redis down at start, or in RQ's teardown as well
                if burst:
                    raise
                log.warning("worker stopped, Redis unreachable: %s", exc)
            if burst or (worker is not None and worker._shutdown_requested_date is not None):
                return  # done, or asked to stop (SIGTERM, Ctrl+C)
            # RQ's loop quits when Redis goes away mid-job; a worker must outlive a Redis
            # restart: wait for it, then work on as a new worker.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # no job runs while we wait
            signal.signal(signal.SIGINT, signal.default_int_handler)
            _wait_for_redis(redis_connection(app))
    finally:
        if ticker is not None:
            ticker.stop.set()


def _wait_for_redis(connection) -> None:
    """Sleep until Redis answers: 1 s, then doubling up to 5 s between tries (work resumes
    within seconds of its return)."""
    pause = 1.0
    while True:
        time.sleep(pause)
        try:
            connection.ping()
        except RedisError:
            pause = min(pause * 2, 5.0)
            continue
        log.warning("Redis answers again: the worker starts over")
        return
