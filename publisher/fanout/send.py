"""The send job: claim a delivery, publish through its adapter, record the outcome.

Every platform id the adapter learns is committed before its next call, so a retry or a
recovered job resumes instead of sending again; a job that died or timed out mid-call
(its lease ran out) first asks the platform what happened.
"""
import logging
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import select

from adapters import (AuthError, Pending, PermanentError, RetryableError, UnconfirmedError,
                      redact_tokens)
from govmedia.extensions import db
from govmedia.queue import enqueue, job
from govmedia.types import utcnow
from govmedia.wording import N_, message

from ..mass_quota import delivery_quota_refusal
from ..models import Delivery
from . import heartbeat
from .claim import LeaseLost, Work, claim, job_engine
from .config import adapter_timeout, backoff, lease_seconds, max_attempts
from .dispatch import dispatch, whole_second_after
from .settle import adapter_for, await_platform, error_message, record_sent, settle, state_saver
from ..states import SENDABLE, DeliveryStatus as S, WithdrawState
from .withdraw import withdraw

log = logging.getLogger(__name__)


@job("deliveries")
def send(delivery_id: int) -> str:
    """Send one delivery (a job). Returns what happened."""
    work = claim(delivery_id, withdrawing=False)
    if work is None:
        return _not_claimed(delivery_id)
    heartbeat.hold(delivery_id, work.token, job_engine(), lease_seconds())
    next_at = None
    try:
        try:
            result = _publish(work)
        except LeaseLost:
            raise
        except Pending as exc:
            # The platform has it and is still publishing: a follow-up asks again, no one waits.
            note = error_message(exc) if getattr(exc, "note", False) else None
            _follow_up_at(delivery_id, await_platform(work, exc.check_after, note))
            return "publishing"
        except Exception as exc:  # noqa: BLE001 - each kind of failure has its outcome
            status, next_at = _failed(work, exc)
            if status is None:
                raise
            return status
        try:
            record_sent(work, result)
        except LeaseLost:
            raise
        except Exception:
            next_at = _unrecorded(work)
            raise
        return "sent"
    except LeaseLost:
        db.session.rollback()
        log.warning("delivery %s: lease lost, another job owns it", delivery_id)
        return "lease_lost"
    finally:
        heartbeat.drop(delivery_id)
        work.release()
        if next_at is not None or work.withdraw_state == WithdrawState.PENDING:
            _follow_up(work, next_at)


def _not_claimed(delivery_id: int) -> str:
    """Not ours to send: a withdrawal waits for the row, or it is not due yet."""
    row = db.session.execute(select(Delivery.withdraw_state, Delivery.status,
                                    Delivery.next_attempt_at, Delivery.claim_token,
                                    Delivery.lease_until)
                             .where(Delivery.id == delivery_id)).first()
    db.session.rollback()
    if row is not None and row.withdraw_state == WithdrawState.PENDING:
        return withdraw(delivery_id)
    if row is not None and row.withdraw_state is None and _too_early(row):
        dispatch([delivery_id], send)  # too early (a clock or a scheduler's rounding): later
        db.session.commit()
        return "not_due"
    return "skipped"


def _too_early(row) -> bool:
    """A retry or scheduled send not due yet, or a follow-up of a publish the platform is
    still processing (`sending`, held by no job) whose time has not come."""
    now = utcnow()
    if row.status in SENDABLE:
        return row.next_attempt_at is not None and row.next_attempt_at > now
    return (row.status == S.SENDING and row.claim_token is None
            and row.lease_until is not None and row.lease_until > now)


def _publish(work: Work):
    if work.refusal:
        raise PermanentError(work.refusal)
    if work.mode == "mass" and not work.state.get("clientmsgid"):
        # Before the first mass send leaves: the quota may have been used since the sign-off.
        refusal = delivery_quota_refusal(work.delivery_id)
        db.session.commit()
        if refusal:
            raise PermanentError(refusal)
    adapter = adapter_for(work)
    save = state_saver(work)
    if work.previous in (S.UNCONFIRMED, S.SENDING):
        # The last send may have reached the platform: ask before ever sending again.
        try:
            result = adapter.find_existing(work.content, work.state)
        except RetryableError as exc:
            # The platform cannot tell yet: still unconfirmed, asked again later. As
            # `retrying` the next attempt would send again without asking.
            raise UnconfirmedError(
                N_("The result of the last send cannot be verified: %(error)s; verified again "
                   "later, never sent twice"), exc.platform_code,
                params={"error": exc.message}, platform_message=exc.platform_message) from exc
        save(work.state)
        if result is not None:
            return result
    return adapter.publish(work.content, work.state, save)


def _failed(work: Work, exc) -> tuple[str | None, datetime | None]:
    """The outcome of a failed attempt: (what happened, when to try again). A None status:
    an unexpected error, recorded as unconfirmed and raised again for the worker's log."""
    if isinstance(exc, UnconfirmedError):
        # Under the platform's review (Douyin): checked again after the adapter's interval.
        next_at = _later(work, getattr(exc, "retry_after", None))
        settle(work, S.UNCONFIRMED, exc, next_at=next_at)
        return "unconfirmed", next_at
    if isinstance(exc, RetryableError) or (isinstance(exc, AuthError) and exc.retryable):
        next_at = _retry_or_fail(work, exc, getattr(exc, "retry_after", None))
        return ("retrying" if next_at else "failed"), next_at
    if isinstance(exc, AuthError):
        if exc.token_expired:  # a new authorisation sends it again (platform_auth)
            work.state["auth_lapsed"] = True
        settle(work, S.FAILED, exc, token_expired=exc.token_expired,
               keep_state=exc.token_expired)
        return "failed", None
    if isinstance(exc, PermanentError):
        settle(work, S.FAILED, exc)
        return "failed", None
    # A bug or a lost database: the platform may have the post; ask before resending.
    log.exception("delivery %s: unexpected error", work.delivery_id)
    next_at = _later(work)
    db.session.rollback()
    settle(work, S.UNCONFIRMED, None, next_at=next_at,
           said=message(N_("An internal error occurred while sending; the platform is asked "
                           "first, then it is retried: %(error)s"),
                        error=redact_tokens(type(exc).__name__)))
    return None, next_at


def _unrecorded(work: Work) -> datetime:
    """Published, but recording it failed (the database): mark it so the next job takes the
    ids saved on the row (find_existing answers from them) and records it."""
    log.exception("delivery %s: sent but not recorded", work.delivery_id)
    db.session.rollback()
    next_at = utcnow() + timedelta(seconds=backoff(_auto_attempts(work)))
    settle(work, S.UNCONFIRMED, None, next_at=next_at, keep_state=True,
           said=message(N_("The platform took it, but recording the result failed; it is "
                           "verified and recorded automatically")))
    return next_at


def _later(work: Work, after: float | None = None) -> datetime:
    if after:
        return utcnow() + timedelta(seconds=after)
    return utcnow() + timedelta(seconds=max(backoff(_auto_attempts(work)), adapter_timeout()))


def _auto_attempts(work: Work) -> int:
    """Attempts since the last manual retry (the automatic retry budget)."""
    row = db.session.execute(select(Delivery.attempts, Delivery.retry_from)
                             .where(Delivery.id == work.delivery_id)).first()
    db.session.rollback()
    return max(1, row[0] - row[1]) if row else 1


def _retry_or_fail(work: Work, exc, retry_after) -> datetime | None:
    n = _auto_attempts(work)
    if n >= max_attempts():
        settle(work, S.FAILED, exc, said=message(N_("Still not sent after %(n)s attempts: "
                                                    "%(error)s"), n=n, error=error_message(exc)))
        return None
    next_at = utcnow() + timedelta(seconds=backoff(n, retry_after))
    settle(work, S.RETRYING, exc, next_at=next_at)
    return next_at


def _follow_up_at(delivery_id: int, check_at: datetime) -> None:
    """The look at a publish still processing, through RQ's scheduler (the row is marked
    enqueued already; lost with Redis, the sweep sends it as it would a lost retry)."""
    db.session.rollback()  # (nothing is pending: the job goes out now, not at a commit)
    try:
        enqueue(send, delivery_id, at=whole_second_after(check_at))
    except RedisError:
        log.warning("delivery %s: follow-up not enqueued (Redis); the sweep sends it later",
                    delivery_id)


def _follow_up(work: Work, next_at: datetime | None) -> None:
    """A retry through RQ's scheduler, or a withdrawal asked for meanwhile."""
    try:
        if work.withdraw_state == WithdrawState.PENDING:
            dispatch([work.delivery_id], withdraw)
        elif next_at is not None:
            dispatch([work.delivery_id], send)
        db.session.commit()
    except Exception:
        log.exception("delivery %s: follow-up enqueue failed; the sweep retries",
                      work.delivery_id)
        db.session.rollback()
