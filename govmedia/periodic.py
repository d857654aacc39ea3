"""Periodic jobs: every worker ticks, and each slot is claimed once in Redis.

RQ's own CronScheduler has no lock between processes: two workers would both fire. Here each
slot (a day for daily jobs, an interval for sweeps) is claimed with SET NX, so a slot's job is
enqueued exactly once however many workers run; a slot missed while every worker was down
runs at the next tick.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, time as dtime, timezone
from typing import Callable

from .queue import enqueue, redis_connection
from .types import SHANGHAI

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    function: Callable
    daily_at: dtime | None = None      # Asia/Shanghai wall-clock time
    every_seconds: int | None = None

    def slot(self, now: datetime) -> str | None:
        """The slot due at `now`, or None if today's daily run is not due yet."""
        if self.every_seconds:
            return str(int(now.timestamp()) // self.every_seconds)
        local = now.astimezone(SHANGHAI)
        if local.time() < self.daily_at:
            return None
        return local.date().isoformat()


def register_periodic(app, name: str, function: Callable, *, daily_at: str | None = None,
                      every_seconds: int | None = None) -> None:
    """Run the @job `function` daily at `daily_at` (HH:MM, Beijing) or every N seconds."""
    if (daily_at is None) == (every_seconds is None):
        raise ValueError("give exactly one of daily_at or every_seconds")
    if not hasattr(function, "queue_name"):
        raise TypeError(f"{function.__qualname__} is not a @job")
    at = dtime.fromisoformat(daily_at) if daily_at else None
    app.extensions.setdefault("govmedia_periodic", {})[name] = Periodic(
        name, function, at, every_seconds)


def periodic_jobs(app) -> list[Periodic]:
    return list(app.extensions.get("govmedia_periodic", {}).values())


def tick(app, now: datetime | None = None) -> list[str]:
    """Enqueue every periodic job whose current slot nobody has claimed; returns their names."""
    now = now or datetime.now(timezone.utc)
    fired = []
    redis = redis_connection(app)
    for job in periodic_jobs(app):
        slot = job.slot(now)
        if slot is None:
            continue
        key = f"govmedia:periodic:{job.name}:{slot}"
        ttl = max(job.every_seconds or 0, 2 * 86400)
        if not redis.set(key, now.isoformat(), nx=True, ex=ttl):
            continue
        with app.app_context():
            enqueue(job.function)
        fired.append(job.name)
    return fired


def start_ticker(app) -> threading.Thread:
    """A daemon thread in each worker that ticks every PERIODIC_TICK_SECONDS."""
    stop = threading.Event()
    interval = app.config["PERIODIC_TICK_SECONDS"]

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
