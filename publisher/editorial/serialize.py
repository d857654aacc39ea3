"""JSON shapes of articles, reviews and deliveries, as shared/API.md names their fields."""
from registry.serialize import iso

from ..checks import WEIBO_LIMIT, weibo_post
from ..content import content_of
from ..labels import delivery_error, findings_in_words
from ..mass_quota import QUOTA_SHOWN, article_quota
from ..models import Article, ArticleReview, Delivery
from ..videos import video_json
from .comments import comment_json, comments_of


def review_json(review: ArticleReview) -> dict:
    return {"id": review.id, "round": review.round, "stage": review.stage,
            "decision": review.decision, "user_id": review.user_id, "name": review.name,
            "comment": review.comment, "revision": review.revision,
            "content_hash": review.content_hash, "at": iso(review.at),
            "upstream": review.upstream, "void": review.voided_at is not None,
            "voided_at": iso(review.voided_at), "void_reason": review.void_reason,
            "checklist": review.checklist, "confirmations": review.confirmations}


def delivery_json(delivery: Delivery) -> dict:
    return {"id": delivery.id, "account_id": delivery.account_id, "platform": delivery.platform,
            "status": delivery.status, "mode": delivery.mode, "attempts": delivery.attempts,
            "post_id": delivery.post_id, "post_url": delivery.post_url,
            "error": delivery_error(delivery) or None, "revision": delivery.revision,
            "next_attempt_at": iso(delivery.next_attempt_at), "sent_at": iso(delivery.sent_at),
            "withdrawal": delivery.withdraw_state, "withdrawn_at": iso(delivery.withdrawn_at),
            "article_id": delivery.article_id}


def article_json(article: Article, content=None) -> dict:
    content = content or content_of(article)
    post = weibo_post(content)
    cover = article.cover
    return {
        "id": article.id, "unit_id": article.unit_id, "status": article.status,
        "withdrawn": article.withdraw_requested_at is not None,
        "origin": article.origin, "created_by": article.created_by_id,
        "title": article.title, "body_html": article.body_html, "digest": article.digest,
        "author": article.author, "source_url": article.source_url,
        "weibo_text": article.weibo_text,
        "weibo_post": {"text": post, "length": len(post), "limit": WEIBO_LIMIT},
        "cover": None if cover is None else {"mime": cover.mime, "width": cover.width,
                                             "height": cover.height, "bytes": cover.size,
                                             "sha256": cover.sha256},
        "video": None if article.video is None else video_json(article.video),
        "target_account_ids": list(article.target_account_ids or []),
        "publish_at": iso(article.publish_at), "wechat_mode": article.wechat_mode,
        "mass_quota": [use.as_json() for use in article_quota(article)]
        if article.status in QUOTA_SHOWN else [],
        "revision": article.revision,
        "content_hash": article.content_hash, "round": article.round,
        "checks": findings_in_words(article.checks), "checks_version": article.checks_version,
        "review_record": article.review_record,
        "reviews": [review_json(r) for r in article.reviews],
        "comments": [comment_json(c) for c in comments_of(article)],
        "deliveries": [delivery_json(d) for d in article.deliveries],
        "withdrawal": None if article.withdraw_requested_at is None else {
            "requested_at": iso(article.withdraw_requested_at),
            "reason": article.withdraw_reason, "by": article.withdrawn_by_id,
            "complete": all(d.status == "withdrawn" for d in article.deliveries)},
        "submitted_at": iso(article.submitted_at), "approved_at": iso(article.approved_at),
        "created_at": iso(article.created_at), "updated_at": iso(article.updated_at),
    }


def article_summary(article: Article) -> dict:
    return {"id": article.id, "unit_id": article.unit_id, "status": article.status,
            "withdrawn": article.withdraw_requested_at is not None,
            "title": article.title, "origin": article.origin,
            "created_by": article.created_by_id, "revision": article.revision,
            "target_account_ids": list(article.target_account_ids or []),
            "updated_at": iso(article.updated_at)}
