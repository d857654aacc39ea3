"""Live status for the pages (polled by static/js/live.js): an article's deliveries and the
publishing queue's counts, as small JSON answers read with the page's own session."""
from flask import jsonify
from flask_login import login_required

from govmedia.auth import require_roles

from ..editorial.articles import get_article, shown_status
from ..fanout import monitor
from ..labels import delivery_error
from .common import actor, bp, plabel


def delivery_live(delivery) -> dict:
    return {"id": delivery.id, "status": delivery.status,
            "label": plabel("delivery", delivery.status), "attempts": delivery.attempts,
            "post_url": delivery.post_url, "error": delivery_error(delivery),
            "withdraw_state": delivery.withdraw_state}


@bp.get("/articles/<int:article_id>/live.json")
@login_required
def article_live(article_id):
    article = get_article(actor(), article_id)
    status = shown_status(article)
    response = jsonify({"status": status, "label": plabel("status", status),
                        "deliveries": [delivery_live(d) for d in article.deliveries]})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/publishing/queue/live.json")
@login_required
def publishing_queue_live():
    require_roles(actor(), "supervisor")
    response = jsonify({"counts": monitor.status_counts()})
    response.headers["Cache-Control"] = "no-store"
    return response
