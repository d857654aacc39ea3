"""The sweep: enqueue every delivery that has work and no live job; write the audit entries owed."""
import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update

from govmedia import audit
from govmedia.extensions import db
from govmedia.queue import job
from govmedia.types import utcnow

from ..models import Article, Delivery
from .article_status import current_deliveries, refresh_article
from .config import requeue_grace
from .dispatch import dispatch
from .send import send
from ..states import SENDABLE, SETTLED_ARTICLES, UNSETTLED, DeliveryStatus as S, WithdrawState
from .withdraw import withdraw

log = logging.getLogger(__name__)


@job()
def sweep(now: datetime | None = None, limit: int = 2000) -> dict:
    """Enqueue every delivery that has work and no live job: queued rows whose enqueue failed
    or whose job was lost, retries and scheduled sends that are due, rows whose job died
    (lapsed lease), pending withdrawals. Safe to run anywhere, any number at once: it only
    enqueues, and the jobs claim. It also writes the audit entries closed articles owe
    (record_delivered_articles) and closes articles a crash left without a final status."""
    now = now or utcnow()
    recorded = record_delivered_articles()
    free = or_(Delivery.lease_until.is_(None), Delivery.lease_until < now)
    due = or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)
    not_waiting = or_(Delivery.enqueued_at.is_(None), Delivery.enqueued_at < now - requeue_grace())
    send_ids = db.session.scalars(select(Delivery.id).where(
        Delivery.withdraw_state.is_(None),
        or_(and_(Delivery.status.in_(SENDABLE), due, free, not_waiting),
            # a job died holding it; or the follow-up of a publish still processing is due
            # and its scheduled job did not come (not one merely waiting in RQ's scheduler)
            and_(Delivery.status == S.SENDING, Delivery.lease_until < now,
                 or_(Delivery.claim_token.is_not(None), not_waiting))))
        .order_by(Delivery.id).limit(limit)).all()
    withdraw_ids = db.session.scalars(select(Delivery.id).where(
        Delivery.withdraw_state == WithdrawState.PENDING, due,
        or_(Delivery.lease_until < now, and_(Delivery.lease_until.is_(None), not_waiting)))
        .order_by(Delivery.id).limit(limit)).all()
    stuck = close_stuck_articles(limit)
    sent = dispatch(send_ids, send)
    withdrawn = dispatch(withdraw_ids, withdraw)
    db.session.commit()  # the jobs go out now
    if send_ids or withdraw_ids:
        log.info("delivery sweep: %s to send, %s to withdraw enqueued", sent, withdrawn)
    return {"deliver": send_ids, "withdraw": withdraw_ids, "articles": stuck,
            "enqueued": sent + withdrawn, "audited": recorded}


def close_stuck_articles(limit: int) -> list[int]:
    """A backstop for article statuses (a crash between two commits cannot leave one behind)."""
    stuck = db.session.scalars(select(Article.id).where(
        Article.status.in_(("approved", "publishing")),
        ~exists().where(Delivery.article_id == Article.id, Delivery.status.in_(UNSETTLED)))
        .limit(limit)).all()
    for article_id in stuck:
        article = refresh_article(article_id)
        if article is not None and article.status in SETTLED_ARTICLES:
            article.delivery_audit_pending = True  # its entry comes with the next sweep
    return list(stuck)


def record_delivered_articles(limit: int = 500) -> int:
    """Write the audit entries the closed articles owe (delivery_audit_pending), in the
    caller's transaction: one entry per article with its final status and every current
    delivery's account, platform, status, attempts, post id and link."""
    articles = db.session.execute(
        select(Article.id, Article.unit_id, Article.status)
        .where(Article.delivery_audit_pending.is_(True)).order_by(Article.id).limit(limit)
        .with_for_update(skip_locked=True)).all()  # two sweeps never write one twice
    if not articles:
        return 0
    ids = [a.id for a in articles]
    per_article = defaultdict(list)
    for r in db.session.execute(
            select(Delivery.id, Delivery.article_id, Delivery.account_id, Delivery.platform,
                   Delivery.status, Delivery.attempts, Delivery.post_id, Delivery.post_url)
            .where(Delivery.article_id.in_(ids), current_deliveries(Delivery.article_id))
            .order_by(Delivery.id)):
        per_article[r.article_id].append(
            {"delivery_id": r.id, "account_id": r.account_id, "platform": r.platform,
             "status": r.status, "attempts": r.attempts, "post_id": r.post_id,
             "post_url": r.post_url})
    audit.record_many([("article.delivered", "article", a.id, None,
                        {"status": a.status, "deliveries": per_article[a.id]}, a.unit_id)
                       for a in articles])
    db.session.execute(update(Article).where(Article.id.in_(ids))
                       .values(delivery_audit_pending=False))
    return len(articles)
