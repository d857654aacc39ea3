"""What people do with deliveries: approval queues them, a retry, a withdrawal (撤稿), a look."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from govmedia import audit
from govmedia.auth import get_in_unit, require_roles, require_unit_access
from govmedia.errors import Invalid, RuleConflict
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import utcnow
from registry.models import Account

from ..fanout.article_status import outcome, refresh_article
from ..fanout.dispatch import dispatch
from ..fanout.send import send
from ..fanout.withdraw import withdraw
from ..labels import delivery_label, status_label
from ..mass_quota import delivery_mode
from ..models import Article, Delivery
from ..states import WITHDRAWABLE_ARTICLES, DeliveryStatus as S, WithdrawState
from ..targets import task_targets
from ..tasks.services import create_publish_tasks, withdraw_by_hand


def approve(article: Article) -> list[Delivery]:
    """Approved: one queued delivery per target, in the caller's transaction, with its job
    held until that commits (the sweep catches any the queue could not take). A fixed
    revision goes only to the targets without a sent delivery."""
    targets = article.target_account_ids or []
    accounts = db.session.scalars(select(Account).where(Account.id.in_(targets))).all()
    unavailable = [a.id for a in accounts if a.status != "active"]
    if unavailable or len(accounts) != len(set(targets)):
        raise RuleConflict(_("A target account is no longer active: %(ids)s",
                             ids=", ".join(map(str, unavailable[:1]))), code="invalid_target",
                           fields={"target_account_ids": "no longer active: "
                                   + ", ".join(map(str, unavailable))})
    article.status = "approved"
    article.approved_at = utcnow()
    reached = set(db.session.scalars(select(Delivery.account_id).where(
        Delivery.article_id == article.id, Delivery.status == S.SENT))) if article.id else set()
    # A scheduled publish time: the delivery is due then (RQ's scheduler, and the sweep).
    due = article.publish_at if article.publish_at and article.publish_at > utcnow() else None
    # No publishing API for the account: a task for its staff, never a send job.
    by_hand = task_targets(accounts)
    rows = [Delivery(article_id=article.id, account_id=account.id, platform=account.platform,
                     revision=article.revision, content_hash=article.content_hash,
                     mode=delivery_mode(article, account),
                     status=S.TASK if account.id in by_hand else S.QUEUED, attempts=0,
                     platform_ids={}, next_attempt_at=None if account.id in by_hand else due)
            for account in sorted(accounts, key=lambda a: targets.index(a.id))
            if account.id not in reached]
    db.session.add_all(rows)
    db.session.flush()
    tasks = [row for row in rows if row.status == S.TASK]
    create_publish_tasks(article, tasks)
    if (not rows and reached) or tasks:
        article.status = outcome(article)
    dispatch([row.id for row in rows if row.status == S.QUEUED], send)
    return rows


def get_delivery(actor: User, delivery_id: int) -> Delivery:
    return get_in_unit(actor, Delivery, delivery_id, _("Delivery not found"),
                       unit_of=lambda delivery: delivery.article.unit_id)


def retry_delivery(actor: User, delivery: Delivery) -> Delivery:
    """Send a failed delivery again: the same approved revision, a fresh retry budget."""
    require_roles(actor, "editor")
    require_unit_access(actor, delivery.article.unit_id)
    article = delivery.article
    if article.withdraw_requested_at is not None:
        raise RuleConflict(_("The article was withdrawn: it cannot be sent again"),
                           code="withdrawn")
    if delivery.status != S.FAILED:
        raise RuleConflict(_("Only a failed delivery can be retried; this one is %(status)s",
                             status=delivery_label(delivery.status)), code="not_failed")
    newer = db.session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.article_id == article.id, Delivery.account_id == delivery.account_id,
        Delivery.revision > delivery.revision))
    if (newer or delivery.content_hash != article.content_hash
            or delivery.revision != article.revision):
        raise RuleConflict(_("The article changed: the changed article goes through the three "
                             "reviews again, and once approved only to the failed accounts"),
                           code="revision_changed")
    before = delivery.last_error
    delivery.status = S.QUEUED
    delivery.next_attempt_at = None
    delivery.enqueued_at = None
    delivery.retry_from = delivery.attempts
    delivery.last_error = delivery.last_error_detail = None
    db.session.flush()
    refresh_article(article.id)
    audit.record("delivery.retry", "article", article.id, unit_id=article.unit_id, user=actor,
                 before={"delivery_id": delivery.id, "status": S.FAILED, "error": before},
                 after={"delivery_id": delivery.id, "status": S.QUEUED,
                        "attempts": delivery.attempts})
    dispatch([delivery.id], send)
    return delivery


def withdraw_article(actor: User, article: Article, reason: str) -> list[int]:
    """撤稿: every delivery of the article is removed from its platform and ends withdrawn.
    Returns the ids of the deliveries whose withdraw job is held until the caller commits."""
    require_roles(actor, "editor", "signer")
    require_unit_access(actor, article.unit_id)
    db.session.refresh(article, with_for_update=True)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("A withdrawal needs a reason"), fields={"reason": "required"})
    if article.status not in WITHDRAWABLE_ARTICLES or not article.deliveries:
        raise RuleConflict(_("The article is %(status)s: nothing was published to withdraw",
                             status=status_label(article.status)), code="invalid_transition")
    again = [d for d in article.deliveries if d.withdraw_state == WithdrawState.FAILED]
    if article.withdraw_requested_at is not None and not again:
        raise RuleConflict(_("The article is already withdrawn"), code="already_withdrawn")
    if article.withdraw_requested_at is None:
        article.withdraw_requested_at = utcnow()
        article.withdraw_reason = reason
        article.withdrawn_by_id = actor.id
    ids = []
    for delivery in article.deliveries:
        if delivery.status == S.WITHDRAWN or withdraw_by_hand(article, delivery):
            continue
        delivery.withdraw_state = WithdrawState.PENDING
        delivery.next_attempt_at = None
        delivery.enqueued_at = None
        ids.append(delivery.id)
    db.session.flush()
    audit.record("article.withdraw", "article", article.id, unit_id=article.unit_id, user=actor,
                 after={"reason": reason, "deliveries": ids, "again": bool(again)})
    dispatch(ids, withdraw)
    return ids


def resume_after_authorisation(actor: User, account_id: int) -> list[int]:
    """A sponsor authorised the account again: its deliveries that failed because the
    authorisation had lapsed (marked `auth_lapsed` by the job) are queued again, for the
    revision that was approved; the platform ids they had saved are kept, so nothing done
    before is done twice."""
    rows = db.session.scalars(select(Delivery).where(
        Delivery.account_id == account_id, Delivery.status == S.FAILED)).all()
    resumed = []
    for delivery in rows:
        article = delivery.article
        if not (delivery.platform_ids or {}).get("auth_lapsed") or (
                article.withdraw_requested_at is not None
                or delivery.content_hash != article.content_hash):
            continue
        delivery.platform_ids = {k: v for k, v in delivery.platform_ids.items()
                                 if k != "auth_lapsed"}
        delivery.status = S.QUEUED
        delivery.next_attempt_at = delivery.enqueued_at = delivery.last_error = None
        delivery.last_error_detail = None
        delivery.retry_from = delivery.attempts
        resumed.append(delivery)
    db.session.flush()
    for delivery in resumed:
        refresh_article(delivery.article_id)
        audit.record("delivery.resume", "article", delivery.article_id, user=actor,
                     unit_id=delivery.article.unit_id,
                     after={"delivery_id": delivery.id, "status": S.QUEUED,
                            "reason": "authorised again"})
    dispatch([d.id for d in resumed], send)
    return [d.id for d in resumed]
