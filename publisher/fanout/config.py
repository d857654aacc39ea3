"""The fan-out's settings as the code needs them (defaults live in govmedia/settings.py)."""
from datetime import timedelta

from flask import current_app


def backoff_schedule() -> list[float]:
    """DELIVERY_BACKOFF_SECONDS: "5,30,120,600" (or a list); the last value repeats."""
    raw = current_app.config["DELIVERY_BACKOFF_SECONDS"]
    values = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    return [max(0.0, float(v)) for v in values if str(v).strip()]


def backoff(n: int, retry_after: float | None = None) -> float:
    """Delay before automatic attempt n+1 after n failed ones. A platform's own hint
    (retry_after) counts up to DELIVERY_RETRY_AFTER_MAX_SECONDS."""
    schedule = backoff_schedule()
    delay = schedule[min(max(n, 1), len(schedule)) - 1]
    cap = float(current_app.config["DELIVERY_RETRY_AFTER_MAX_SECONDS"])
    return max(delay, min(float(retry_after or 0), cap))


def max_attempts() -> int:
    return max(1, int(current_app.config["DELIVERY_MAX_ATTEMPTS"]))


def adapter_timeout() -> float:
    return float(current_app.config["ADAPTER_TIMEOUT"])


def lease_seconds() -> float:
    """The heartbeat renews the lease every third of it, so a dead job's lease runs out at
    least two thirds of a lease after its last request left: that must exceed a platform
    call (ADAPTER_TIMEOUT), or the job taking over could ask the platform before a slow
    answer has landed."""
    return max(float(current_app.config["DELIVERY_LEASE_SECONDS"]), 1.5 * adapter_timeout() + 1)


def requeue_grace() -> timedelta:
    """How long a queued job may wait in Redis before the sweep enqueues it again."""
    return timedelta(seconds=float(current_app.config["DELIVERY_REQUEUE_SECONDS"]))


def stuck_minutes() -> int:
    return int(current_app.config["DELIVERY_STUCK_MINUTES"])
