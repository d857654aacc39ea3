"""The article's status follows its current deliveries (published, partly published, failed)."""
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from govmedia.extensions import db

from ..models import Article, Delivery
from ..states import ACTIVE, FANNED_OUT_ARTICLES, UNSETTLED, DeliveryStatus as S


def current_deliveries(article_id):
    """The latest delivery per account (a fixed revision's delivery replaces a failed one)."""
    newer = aliased(Delivery)
    return and_(Delivery.article_id == article_id, ~exists().where(
        newer.article_id == Delivery.article_id, newer.account_id == Delivery.account_id,
        newer.revision > Delivery.revision))


def outcome_of(status: str, counts: dict) -> str:
    """The article's status from its current deliveries' statuses and counts."""
    if not counts:
        return status
    if any(counts.get(s) for s in UNSETTLED):  # an open publishing task keeps it publishing
        if status == "approved" and set(counts) == {S.QUEUED}:
            return "approved"
        return "publishing"
    reached = counts.get(S.SENT, 0) + counts.get(S.WITHDRAWN, 0)
    failed = counts.get(S.FAILED, 0)
    if failed and reached:
        return "partially_published"
    return "failed" if failed else "published"


def outcome(article: Article) -> str:
    counts = dict(db.session.execute(
        select(Delivery.status, func.count()).where(current_deliveries(article.id))
        .group_by(Delivery.status)).all())
    return outcome_of(article.status, counts)


def refresh_article(article_id: int) -> Article | None:
    """Recompute the article's status inside the caller's transaction. The article row is
    locked first, so two deliveries finishing at once see each other. Returns the article,
    or None when others are still at work (its status stays `publishing`)."""
    status = db.session.scalar(select(Article.status).where(Article.id == article_id)
                               .with_for_update())
    if status == "publishing" and db.session.scalar(select(Delivery.id).where(
            Delivery.article_id == article_id, Delivery.status.in_(ACTIVE)).limit(1)):
        return None  # others still at work: the last one to finish decides (one cheap query)
    article = db.session.get(Article, article_id)
    if article.status in FANNED_OUT_ARTICLES:
        article.status = outcome(article)
    return article
