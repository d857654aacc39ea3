"""The review pages' actions: the drafter submits, the reviewer and the signer decide."""
from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.errors import DomainError
from govmedia.extensions import db
from registry import forms

from govmedia.types import ascii_int

from .. import checks
from ..editorial import comments, review
from ..editorial.articles import get_article
from ..schemas import ReviewIn, SubmitIn
from .common import actor, article_page, bp, refusal_of


@bp.post("/articles/<int:article_id>/submit")
@login_required
def article_submit(article_id):
    user = actor()
    article = get_article(user, article_id)
    values = {"confirmations": request.form.getlist("confirmations"),
              "checklist": request.form.getlist("checklist")}
    data, errors = forms.validate(SubmitIn, values)
    if data is not None:
        if len(set(data.checklist or [])) < len(checks.SELF_CHECK_ITEMS):
            errors = {"checklist": _("Confirm every item of the self-check.")}
        else:
            try:
                review.submit_article(user, article, data.confirmations, data.checklist)
            except DomainError as err:
                refusal = refusal_of(err)
                article = get_article(user, article_id)
                return article_page(article, refusal=refusal,
                                     stopping=err.extra.get("checks", []),
                                     errors=forms.domain_field_errors(err), status=err.status,
                                     values=values)
            db.session.commit()
            flash(_("Submitted: it now waits for the 2nd review."), "success")
            return redirect(url_for("publisher.article", article_id=article.id))
    return article_page(article, errors=errors, status=400, values=values)


@bp.post("/articles/<int:article_id>/review")
@login_required
def article_review(article_id):
    user = actor()
    article = get_article(user, article_id)
    values = {"decision": forms.text(request.form, "decision"),
              "comment": request.form.get("comment", "").strip(),
              "content_hash": forms.text(request.form, "content_hash")}
    data, errors = forms.validate(ReviewIn, values)
    if data is not None:
        try:
            review.review_article(user, article, data.decision, data.comment,
                                    data.content_hash)
        except DomainError as err:
            refusal = refusal_of(err)
            article = get_article(user, article_id)
            return article_page(article, refusal=refusal, stopping=err.extra.get("checks", []),
                                 errors=forms.domain_field_errors(err), status=err.status,
                                 values=values)
        db.session.commit()  # a sign-off's deliveries are enqueued as it commits
        if data.decision == "reject":
            flash(_("Returned to the drafter."), "success")
        elif article.status == "approved":
            flash(_("Signed off: the article is approved and one delivery per target account "
                    "is queued."), "success")
        else:
            flash(_("Approved: it now waits for sign-off."), "success")
        return redirect(url_for("publisher.article", article_id=article.id))
    return article_page(article, errors=errors, status=400, values=values)


@bp.post("/articles/<int:article_id>/comments")
@login_required
def article_comment(article_id):
    """A comment on a passage of the body, by whoever may act at the article's stage."""
    user = actor()
    article = get_article(user, article_id)
    values = {"quote": request.form.get("quote", ""), "text": request.form.get("text", "")}
    try:
        comments.add_comment(user, article, values["text"], values["quote"],
                             ascii_int(request.form.get("start") or ""),
                             forms.text(request.form, "content_hash"))
    except DomainError as err:
        refusal = refusal_of(err)
        article = get_article(user, article_id)
        return article_page(article, refusal=refusal, errors=forms.domain_field_errors(err),
                            status=err.status, values=values)
    db.session.commit()
    flash(_("Comment added to the passage."), "success")
    return redirect(url_for("publisher.article", article_id=article.id) + "#comments")
