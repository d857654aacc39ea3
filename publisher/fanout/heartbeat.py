"""The lease's heartbeat: while a job holds a delivery, one thread per worker process renews
its lease every third of the lease.

Why a thread and not renewal at each saved step: the time between two steps is not bounded
by one platform call (a token fetch, a body image downloaded, a slow upload trickling under
the socket timeout), so a lease renewed only at the steps has to be minutes long, and a
killed worker's rows wait that long. The heartbeat renews however long a step takes, so the
lease can be short (DELIVERY_LEASE_SECONDS, 30 s): a dead process (SIGKILL, OOM, host lost)
stops beating and its rows are free for the sweep within one lease. A job that hangs is
still ended by RQ's job timeout, which unregisters it here (the `finally` of the job).
The renewal is conditional on the claim token, like every write of a job: a row taken over
or settled meanwhile is not touched.
"""
import logging
import threading
from datetime import timedelta

from sqlalchemy import bindparam, update

from govmedia.types import utcnow

from ..models import Delivery

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_HELD: dict[int, tuple] = {}  # delivery id -> (claim token, engine, lease seconds)
_WAKE = threading.Event()
_THREAD: threading.Thread | None = None

_RENEW = (update(Delivery)
          .where(Delivery.id == bindparam("delivery_id"),
                 Delivery.claim_token == bindparam("token"))
          .values(lease_until=bindparam("until")))


def hold(delivery_id: int, token: str, engine, lease_seconds: float) -> None:
    """Renew this claim's lease until `drop` (called right after the claim)."""
    global _THREAD
    with _LOCK:
        _HELD[delivery_id] = (token, engine, float(lease_seconds))
        if _THREAD is None or not _THREAD.is_alive():
            _THREAD = threading.Thread(target=_beat, daemon=True, name="govmedia-lease-heartbeat")
            _THREAD.start()


def drop(delivery_id: int) -> None:
    with _LOCK:
        _HELD.pop(delivery_id, None)


def held() -> dict[int, str]:
    """The claims this process renews (delivery id -> token): for tests and the logs."""
    with _LOCK:
        return {delivery_id: entry[0] for delivery_id, entry in _HELD.items()}


def renew_now() -> int:
    """Renew every held lease once; returns how many rows were renewed."""
    with _LOCK:
        entries = list(_HELD.items())
    renewed = 0
    for delivery_id, (token, engine, lease) in entries:
        try:
            with engine.begin() as conn:
                renewed += conn.execute(_RENEW, {
                    "delivery_id": delivery_id, "token": token,
                    "until": utcnow() + timedelta(seconds=lease)}).rowcount
        except Exception:  # noqa: BLE001 - the database away: the next beat tries again
            log.warning("lease of delivery %s not renewed (database unreachable?)",
                        delivery_id, exc_info=True)
    return renewed


def _interval() -> float:
    with _LOCK:
        leases = [entry[2] for entry in _HELD.values()]
    return max(0.2, min(leases, default=30.0) / 3)


def _beat() -> None:
    while True:
        _WAKE.wait(_interval())
        _WAKE.clear()
        renew_now()
