"""The withdraw job (撤稿): remove one delivery's post from its platform."""
import logging
from datetime import timedelta


from adapters import AdapterError, AuthError, PermanentError, redact_tokens
from govmedia.extensions import db
from govmedia.queue import enqueue, job
from govmedia.types import utcnow
from govmedia.wording import N_, message

from . import heartbeat
from .claim import LeaseLost, Work, claim, job_engine
from .config import backoff, lease_seconds
from .settle import (adapter_for, error_message, finish, mark_token_expired, record_audit,
                     state_saver, stored_error)
from ..states import DeliveryStatus as S, WithdrawState

log = logging.getLogger(__name__)
# The post may be on the platform: a withdrawal must look for it.
MAY_HAVE_GONE_OUT = (S.UNCONFIRMED, S.SENDING)


@job("deliveries")
def withdraw(delivery_id: int) -> str:
    """Remove one delivery's post from its platform (a job). Returns what happened."""
    work = claim(delivery_id, withdrawing=True)
    if work is None:
        return "skipped"
    heartbeat.hold(delivery_id, work.token, job_engine(), lease_seconds())
    next_at = None
    try:
        try:
            post_id = _remove(work)
        except LeaseLost:
            raise
        except (AuthError, PermanentError) as exc:
            _refused(work, exc)
            return "withdraw_failed"
        except Exception as exc:  # retryable, unconfirmed or unexpected: try again later
            next_at = _again_later(work, exc)
            return "withdraw_retrying"
        delivery = finish(work, {"status": S.WITHDRAWN, "withdraw_state": None,
                                 "withdrawn_at": utcnow(), "next_attempt_at": None,
                                 "last_error": None})
        record_audit("delivery.withdrawn", delivery, work, {"post_id": post_id})
        db.session.commit()
        return "withdrawn"
    except LeaseLost:
        db.session.rollback()
        return "lease_lost"
    finally:
        heartbeat.drop(delivery_id)
        work.release()
        if next_at is not None:
            try:
                enqueue(withdraw, delivery_id, at=next_at)
            except Exception:
                log.exception("withdrawal of %s: follow-up enqueue failed; the sweep retries",
                              delivery_id)


def _remove(work: Work) -> str | None:
    """The platform call; returns the post id removed (None: nothing was out there)."""
    post_id = work.post_id
    if work.previous in MAY_HAVE_GONE_OUT:
        # It may have gone out: find it before deciding there is nothing to remove.
        if work.refusal:
            raise PermanentError(work.refusal)
        found = adapter_for(work).find_existing(work.content, work.state)
        state_saver(work)(work.state)
        post_id = found.post_id if found else None
    if post_id and work.previous in (S.SENT, *MAY_HAVE_GONE_OUT):
        if work.refusal:
            raise PermanentError(work.refusal)
        adapter_for(work).withdraw(work.state, post_id)
    return post_id


def _refused(work: Work, exc) -> None:
    error = stored_error(message(N_("Withdrawal failed: %(error)s"), error=error_message(exc)))
    delivery = finish(work, {"withdraw_state": WithdrawState.FAILED, **error})
    if getattr(exc, "token_expired", False):
        mark_token_expired(work.account_id)
    record_audit("delivery.withdraw_failed", delivery, work, {"error": error["last_error"]})
    db.session.commit()


def _again_later(work: Work, exc):
    adapter_error = isinstance(exc, AdapterError)
    if not adapter_error:
        log.exception("withdrawal of delivery %s: unexpected error", work.delivery_id)
    db.session.rollback()
    tries = int((work.state or {}).get("withdraw_tries") or 0) + 1
    next_at = utcnow() + timedelta(seconds=backoff(tries, getattr(exc, "retry_after", None)))
    reason = error_message(exc) if adapter_error else redact_tokens(type(exc).__name__)
    error = stored_error(message(N_("Withdrawal not finished, will be retried: %(error)s"),
                                 error=reason))
    finish(work, {**error, "next_attempt_at": next_at,
                  "platform_ids": dict(work.state, withdraw_tries=tries), "enqueued_at": None})
    db.session.commit()
    return next_at
