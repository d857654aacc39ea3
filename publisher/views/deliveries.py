"""Deliveries on the pages: retry one, withdraw an article (撤稿), the publishing queue."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.auth import require_all_units, require_roles
from govmedia.errors import DomainError
from govmedia.extensions import db
from registry import forms

from ..editorial.articles import get_article
from ..editorial import operations
from ..fanout import monitor
from ..fanout.config import stuck_minutes
from ..schemas import WithdrawIn
from .common import actor, article_page, bp, refusal_of


@bp.post("/deliveries/<int:delivery_id>/retry")
@login_required
def delivery_retry(delivery_id):
    user = actor()
    row = operations.get_delivery(user, delivery_id)
    article_id = row.article_id
    try:
        operations.retry_delivery(user, row)
    except DomainError as err:
        refusal_of(err)
        flash(err.message, "error")
    else:
        db.session.commit()  # the delivery's job is enqueued as it commits
        flash(_("The delivery is queued again."), "success")
    return redirect(url_for("publisher.article", article_id=article_id) + "#deliveries")


@bp.post("/articles/<int:article_id>/withdraw")
@login_required
def article_withdraw(article_id):
    user = actor()
    article = get_article(user, article_id)
    values = {"reason": request.form.get("reason", "").strip()}
    data, errors = forms.validate(WithdrawIn, values)
    if data is None:
        return article_page(article, errors=errors, status=400, values=values)
    try:
        operations.withdraw_article(user, article, data.reason)
    except DomainError as err:
        refusal = refusal_of(err)
        article = get_article(user, article_id)
        return article_page(article, refusal=refusal, errors=forms.domain_field_errors(err),
                            status=err.status, values=values)
    db.session.commit()  # the withdraw jobs are enqueued as it commits
    flash(_("Withdrawal started: the article is being removed from every platform it "
            "reached."), "success")
    return redirect(url_for("publisher.article", article_id=article_id) + "#deliveries")


@bp.get("/publishing/queue")
@login_required
def publishing_queue():
    require_roles(actor(), "supervisor")
    require_all_units(actor())   # every unit's deliveries at once
    minutes = stuck_minutes()
    stuck = monitor.stuck_deliveries(minutes)
    return render_template("publisher/publishing_queue.html",
                           overview=monitor.queue_overview(), stuck=stuck, minutes=minutes,
                           accounts=monitor.accounts_of(stuck), counts=monitor.status_counts(),
                           recent_failed=monitor.recent_failures())
