"""The article pages: the list, people's queues, the editor, the article and its cover."""
from datetime import datetime

from flask import (Response, abort, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.auth import require_roles
from govmedia.bodies import body_limit
from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.pagination import paginate
from govmedia.types import SHANGHAI, ascii_int
from registry import forms

from .. import checks, covers, videos
from ..editorial import articles as services
from ..editorial.comments import comments_of
from ..compare import returned_revision
from ..models import Article
from ..editorial.review import queues
from ..schemas import ArticleUpdate
from .common import actor, article_page, bp, refusal_of, shanghai_local


@bp.get("/articles")
@login_required
def articles():
    status = request.args.get("status") or None
    status = status if status in services.LIST_STATUSES else None
    q = (request.args.get("q") or "").strip()
    page = paginate(services.articles_query(actor(), status=status, q=q))
    return render_template("publisher/articles.html", articles=page.items, **page.nav,
                           status=status, q=q, can_draft=actor().has_role("admin", "editor"))


@bp.get("/articles/queue")
@login_required
def queue():
    return render_template("publisher/queue.html", queues=queues(actor()))


def _form_values() -> tuple[dict, dict]:
    """The form as the API's body; errors for what cannot even be read."""
    errors = {}
    ids = []
    for raw in request.form.getlist("target_account_ids"):
        if ascii_int(raw) is not None:
            ids.append(int(raw))
    publish_at = None
    raw_time = (request.form.get("publish_at") or "").strip()
    if raw_time:
        try:
            publish_at = datetime.fromisoformat(raw_time).replace(tzinfo=SHANGHAI)
        except ValueError:
            errors["publish_at"] = _("Enter a date and time")
    values = {
        "title": request.form.get("title", "").strip(),
        "body_html": request.form.get("body_html", "").replace("\r\n", "\n"),
        "digest": forms.text(request.form, "digest"),
        "author": forms.text(request.form, "author"),
        "source_url": forms.text(request.form, "source_url"),
        "weibo_text": forms.text(request.form, "weibo_text"),
        "target_account_ids": ids,
        "publish_at": publish_at,
        "remove_cover": request.form.get("remove_cover") == "1",
        "remove_video": request.form.get("remove_video") == "1",
        # Uploaded by the page's script (POST /videos) before the form is sent.
        "video_id": ascii_int(request.form.get("video_id") or ""),
        "wechat_mode": forms.text(request.form, "wechat_mode"),
    }
    return values, errors


def _kept_cover(user):
    """The cover chosen with this try of the form, checked and kept at once (its own
    transaction), or the one kept from an earlier try: a form that comes back with an error
    keeps it (cover_pending_id) and nobody chooses it again."""
    upload = request.files.get("cover")
    try:
        if upload is not None and upload.filename:
            image = covers.store_pending_cover(user, upload.read())
            db.session.commit()
            return image, {}
        kept_id = ascii_int(request.form.get("cover_pending_id") or "")
        return (covers.pending_cover(user, kept_id) if kept_id is not None else None), {}
    except DomainError as err:
        db.session.rollback()
        return None, forms.domain_field_errors(err)


def _kept_video(user, article: Article | None, video_id):
    """The video uploaded with this try of the form (its id rides in a hidden field), named
    beside the file input when the form comes back with an error: kept, not to be uploaded
    again. None when it is already the article's or cannot be read (validation says why)."""
    if video_id is None or (article is not None and article.video_id == video_id):
        return None
    try:
        return videos.get_video(user, video_id)
    except DomainError:
        return None


def _article_values(article: Article | None) -> dict:
    if article is None:
        return {"target_account_ids": [], "body_html": ""}
    return {"title": article.title, "body_html": article.body_html, "digest": article.digest,
            "author": article.author, "source_url": article.source_url,
            "weibo_text": article.weibo_text,
            "target_account_ids": list(article.target_account_ids or []),
            "publish_at": article.publish_at, "video_id": article.video_id,
            "wechat_mode": article.wechat_mode}


def _editor(article: Article | None):
    user = actor()
    require_roles(user, "editor")
    if article is not None:
        services.require_drafter(user, article)
    values, errors, refusal, kept, kept_video = _article_values(article), {}, None, None, None
    if request.method == "POST":
        values, errors = _form_values()
        kept_video = _kept_video(user, article, values.get("video_id"))
        kept, cover_errors = _kept_cover(user)
        errors.update(cover_errors)
        data, more = forms.validate(ArticleUpdate, {k: v for k, v in values.items()
                                                    if v is not None})
        errors.update(more)
        if data is not None and not errors:
            try:
                kept_id = kept.id if kept is not None else None
                if article is None:
                    saved = services.create_article(user, data, cover_image_id=kept_id)
                else:
                    saved = services.update_article(user, article, data,
                                                    remove_cover=data.remove_cover,
                                                    cover_image_id=kept_id)
            except DomainError as err:
                refusal = refusal_of(err)
                errors = forms.domain_field_errors(err)
            else:
                db.session.commit()
                blocking = len(checks.blocking(saved.checks or []))
                flash(_("Article saved.") + (" " + _("%(n)s blocking findings must be fixed "
                                                      "before it can be submitted.", n=blocking)
                                             if blocking else ""),
                      "warning" if blocking else "success")
                return redirect(url_for("publisher.article", article_id=saved.id))
    accounts = services.publishable_accounts(user, article.unit_id if article else None)
    status = refusal.status if refusal else (400 if errors else 200)
    return render_template("publisher/editor.html", article=article, values=values,
                           errors=errors, refusal=refusal, accounts=accounts,
                           kept_cover=kept, kept_video=kept_video, comments=_returned_comments(article),
                           publish_at_local=shanghai_local(values.get("publish_at")),
                           findings=(article.checks or []) if article else [],
                           limit=checks.WEIBO_LIMIT), status


def _returned_comments(article: Article | None) -> list:
    """In the editor, the passages commented on at the last return, to fix them."""
    if article is None:
        return []
    returned = returned_revision(article)
    return [c for c in comments_of(article) if c.revision == returned]


@bp.route("/articles/new", methods=["GET", "POST"])
@login_required
def article_new():
    return _editor(None)


@bp.route("/articles/<int:article_id>/edit", methods=["GET", "POST"])
@login_required
def article_edit(article_id):
    return _editor(services.get_article(actor(), article_id))



@bp.get("/articles/<int:article_id>")
@login_required
def article(article_id):
    return article_page(services.get_article(actor(), article_id))


@bp.get("/articles/<int:article_id>/cover")
@login_required
def article_cover(article_id):
    article = services.get_article(actor(), article_id)
    if article.cover is None:
        abort(404)
    response = Response(article.cover.data, mimetype=article.cover.mime)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.post("/articles/images")
@body_limit("PUBLISHER_COVER_MAX_BYTES", 1024)
@login_required
def article_image_upload():
    """An image for the body: the raw file as the body (the editor's image button, CSRF
    token in X-CSRFToken); answers the address to put in <img src>."""
    try:
        image = covers.store_body_image(actor(), request.get_data())
    except DomainError as err:
        db.session.rollback()
        return jsonify({"error": {"code": err.code, "message": err.message,
                                  "fields": err.fields or {}}}), err.status
    db.session.commit()
    return jsonify(covers.body_image_json(image)), 201


@bp.get("/articles/images/<int:image_id>")
@login_required
def article_image(image_id):
    image = covers.get_image(actor(), image_id)
    response = Response(image.data, mimetype=image.mime)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
