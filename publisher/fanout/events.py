"""A platform's own word that a publish finished: WeChat's PUBLISHJOBFINISH event.

A WeChat publish is checked by scheduled follow-ups (`freepublish/get`) while the delivery
waits `sending`, held by no job (settle.await_platform). When the account's callback is set
up, WeChat pushes the event as soon as the publish is done; the callback calls
`settle_publish_event`, which settles the delivery at once instead of at the next check. The
follow-up still comes (the event may never arrive) and finds the row settled: `skipped`.
"""
import logging

from sqlalchemy import select, update

from adapters import PermanentError, PublishResult
from adapters.messages import WECHAT
from adapters.wechat_codes import PUBLISH_FAILED
from govmedia.extensions import db
from govmedia.types import utcnow

from ..models import Delivery
from . import heartbeat
from .claim import LeaseLost, claim, job_engine
from .config import lease_seconds
from .dispatch import dispatch
from .send import send
from .settle import record_sent, settle
from ..states import DeliveryStatus as S

log = logging.getLogger(__name__)


def settle_publish_event(account_id: int, publish_id: str, status: int,
                         article_url: str | None, article_id: str | None = None) -> str:
    """Settle the delivery of `account_id` whose WeChat publish is `publish_id`.

    `status` is the event's publish_status (0 published; 2–6 failed). Returns what happened:
    `sent` or `failed` (settled here, with no platform call); `checking` (published but the
    event did not name the article: the follow-up is run now, one `freepublish/get`);
    `in_progress` (a job holds the row right now and settles it itself); `unknown` (no
    delivery waits for this publish: already settled, or not ours)."""
    waiting = _waiting_delivery(account_id, str(publish_id))
    if waiting is None:
        return "unknown"
    delivery_id, state = waiting
    status = int(status)
    known = (status == 0 and article_id) or status in PUBLISH_FAILED
    if status == 0 and article_id:
        state = dict(state, article_id=str(article_id), article_url=article_url)
    if not _due_now(delivery_id, state):
        return "in_progress"
    if not known:
        dispatch([delivery_id], send)  # the follow-up, now rather than later
        db.session.commit()
        return "checking"
    work = claim(delivery_id, withdrawing=False)
    if work is None:
        return "in_progress"  # a follow-up job took it first: it settles it
    heartbeat.hold(delivery_id, work.token, job_engine(), lease_seconds())
    try:
        if status == 0:
            record_sent(work, PublishResult(str(article_id), article_url))
            return "sent"
        for key in ("publish_id", "msg_data_id", "draft_media_id"):
            work.state.pop(key, None)  # a retry after a fix starts from a new draft
        settle(work, S.FAILED, PermanentError(WECHAT[f"publish_status={status}"],
                                            f"publish_status={status}"),
               keep_state=True)
        return "failed"
    except LeaseLost:
        db.session.rollback()
        return "in_progress"
    finally:
        heartbeat.drop(delivery_id)
        work.release()


def _waiting_delivery(account_id: int, publish_id: str) -> tuple[int, dict] | None:
    row = db.session.execute(select(Delivery.id, Delivery.platform_ids).where(
        Delivery.account_id == account_id, Delivery.status == S.SENDING,
        Delivery.platform_ids["publish_id"].as_string() == publish_id)).first()
    db.session.rollback()
    return None if row is None else (row.id, dict(row.platform_ids or {}))


def _due_now(delivery_id: int, state: dict) -> bool:
    """The follow-up's time becomes now (with the event's ids in the saved state), if no job
    holds the row: the claim then takes it as it would at the follow-up's time."""
    now = utcnow()
    changed = db.session.execute(update(Delivery).where(
        Delivery.id == delivery_id, Delivery.status == S.SENDING,
        Delivery.claim_token.is_(None))
        .values(lease_until=now, next_attempt_at=now, platform_ids=state)).rowcount
    db.session.commit()
    return changed == 1
