"""The publisher's JSON API: articles and their reviews (shared/API.md), check lists for supervisors."""
from flask import Blueprint, jsonify, request, send_file
from sqlalchemy import func, select

from flask_babel import gettext as _

from govmedia.api import documented, listing, page_params, parse_body, query_choice, query_int
from govmedia.auth import api_roles, api_user
from govmedia.bodies import body_limit
from govmedia.errors import NotFound
from govmedia.extensions import csrf, db

from .. import check_lists, checks, compare, covers, videos
from ..models import TERM_LISTS
from ..schemas import (
    ArticleIn,
    ArticleUpdate,
    CommentIn,
    ReviewIn,
    SeveritiesIn,
    SubmitIn,
    TermsIn,
    WithdrawIn,
)
from . import articles, comments, operations, previews, review
from .serialize import article_json, article_summary, delivery_json

bp = Blueprint("publisher_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.post("/articles")
@documented("Create an article (editor), or push one reviewed upstream (source, 流程前置)",
            body=ArticleIn, tag="articles",
            responses={201: "article with checks", 403: "forbidden (e.g. another unit's target)",
                       409: "checks_failed (a pushed article with a blocking finding)"})
def create_article():
    user = api_user()
    data = parse_body(ArticleIn)
    article = articles.create_article(user, data)
    db.session.commit()  # a pushed article's deliveries are enqueued as it commits
    return jsonify(article_json(article)), 201


@bp.get("/articles")
@documented("List articles of the user's unit(s)", tag="articles",
            query={"status": {"type": "string", "enum": list(articles.LIST_STATUSES)},
                   "unit_id": "integer", "limit": "integer", "offset": "integer"},
            responses={200: "list"})
def list_articles():
    user = api_user()
    query = articles.articles_query(user, status=query_choice("status", articles.LIST_STATUSES),
                                    unit_id=query_int("unit_id"))
    limit, offset = page_params()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(limit).offset(offset)).all()
    return listing([article_summary(a) for a in rows], total)


@bp.get("/articles/<int:article_id>")
@documented("One article with its checks, reviews and deliveries", tag="articles",
            responses={200: "article", 403: "forbidden", 404: "not_found"})
def get_article(article_id):
    return jsonify(article_json(articles.get_article(api_user(), article_id)))


@bp.put("/articles/<int:article_id>")
@documented("Change an article (its drafter); a changed revision voids earlier approvals",
            body=ArticleUpdate, tag="articles",
            responses={200: "article", 403: "forbidden", 404: "not_found",
                       409: "invalid_transition"})
def put_article(article_id):
    user = api_user()
    article = articles.get_article(user, article_id)
    data = parse_body(ArticleUpdate)
    articles.update_article(user, article, data, remove_cover=data.remove_cover)
    db.session.commit()
    return jsonify(article_json(article))


@bp.post("/articles/<int:article_id>/submit")
@documented("Submit for review (its drafter; the 1st review)", body=SubmitIn, tag="articles",
            responses={200: "pending_review", 403: "forbidden", 404: "not_found",
                       409: "checks_failed (error.checks lists them) or invalid_transition"})
def submit_article(article_id):
    user = api_user()
    article = articles.get_article(user, article_id)
    data = parse_body(SubmitIn)
    review.submit_article(user, article, data.confirmations, data.checklist)
    db.session.commit()
    return jsonify(article_json(article))


@bp.post("/articles/<int:article_id>/review")
@documented("Approve or return: 2nd review (reviewer), then sign-off (signer)", body=ReviewIn,
            tag="articles",
            responses={200: "article", 403: "forbidden or separation_of_duties",
                       404: "not_found", 409: "checks_failed, revision_changed or "
                                             "invalid_transition"})
def review_article(article_id):
    user = api_user()
    article = articles.get_article(user, article_id)
    data = parse_body(ReviewIn)
    review.review_article(user, article, data.decision, data.comment, data.content_hash)
    db.session.commit()  # a sign-off's deliveries are enqueued as it commits
    return jsonify(article_json(article))


@bp.get("/articles/<int:article_id>/compare")
@documented("The text of an earlier revision beside the current one: title, digest and body "
            "paragraph by paragraph, each side's changed parts marked (default: the revision "
            "last returned)", tag="articles", query={"from": "integer"},
            responses={200: "comparison {from, to, changed, fields: [{field, rows: [{op, old, "
                            "new}]}]}", 403: "forbidden",
                       404: "not_found (never returned, or that revision's text not kept)"})
def compare_article(article_id):
    article = articles.get_article(api_user(), article_id)
    return jsonify(compare.compare(article, query_int("from")))


@bp.get("/articles/<int:article_id>/previews")
@documented("For every target account: how the article will look there (title, text as the "
            "platform gets it, cover, video), whether staff post it by hand (a publishing "
            "task), and which of the platform's limits it breaks", tag="articles",
            responses={200: "previews {items: [{account_id, platform, by_task, title, text, "
                            "text_limit, cover, video, problems, notes}]}",
                       403: "forbidden", 404: "not_found"})
def article_previews(article_id):
    article = articles.get_article(api_user(), article_id)
    return jsonify({"items": [p.as_dict() for p in previews.target_previews(article)]})


@bp.get("/deliveries/<int:delivery_id>")
@documented("One delivery: status, attempts, the platform's post, the last error",
            tag="articles", responses={200: "delivery", 403: "forbidden", 404: "not_found"})
def get_delivery(delivery_id):
    return jsonify(delivery_json(operations.get_delivery(api_user(), delivery_id)))


@bp.post("/deliveries/<int:delivery_id>/retry")
@documented("Send a failed delivery again: the same approved revision (editor)",
            tag="articles",
            responses={202: "delivery, queued", 403: "forbidden", 404: "not_found",
                       409: "not_failed (only a failed delivery), revision_changed (the "
                            "article changed: it goes through the reviews again) or withdrawn"})
def retry_delivery(delivery_id):
    user = api_user()
    row = operations.get_delivery(user, delivery_id)
    operations.retry_delivery(user, row)
    db.session.commit()  # its job is enqueued as it commits
    return jsonify(delivery_json(row)), 202


@bp.post("/articles/<int:article_id>/withdraw")
@documented("Withdraw (撤稿) a published article from every platform it reached (editor, "
            "signer); each delivery ends withdrawn", body=WithdrawIn, tag="articles",
            responses={202: "article, withdrawal under way", 400: "invalid (reason)",
                       403: "forbidden", 404: "not_found",
                       409: "invalid_transition (nothing sent) or already_withdrawn"})
def withdraw_article(article_id):
    user = api_user()
    article = articles.get_article(user, article_id)
    data = parse_body(WithdrawIn)
    operations.withdraw_article(user, article, data.reason)
    db.session.commit()  # the withdraw jobs are enqueued as it commits
    return jsonify(article_json(article)), 202


@bp.get("/checks")
@documented("Check rules, severities and list sizes", tag="checks", responses={200: "rules"})
def get_checks():
    api_user()
    severities = check_lists.effective_severities()
    return jsonify({"rules": [{"rule": rule, "severity": severities[rule],
                               "default": spec[0]} for rule, spec in checks.RULES.items()],
                    "lists": check_lists.term_counts()})


@bp.get("/checks/lists/<name>")
@documented("The words (or domains) of one list (supervisor)", tag="checks",
            query={"limit": "integer", "offset": "integer"}, responses={200: "list"})
@api_roles("supervisor")
def get_list(name):
    query_name = query_choice_path(name)
    terms = sorted(check_lists.load_terms().get(query_name, []))
    limit, offset = page_params()
    return listing(terms[offset:offset + limit], len(terms))


@bp.post("/checks/lists/<name>")
@documented("Add and remove words on the banned, caution or advertising list, or allowed "
            "domains (supervisor)", body=TermsIn, tag="checks",
            responses={200: "counts", 403: "forbidden"})
@api_roles("supervisor")
def change_list(name):
    query_name = query_choice_path(name)
    data = parse_body(TermsIn)
    result = check_lists.update_terms(api_user(), query_name, data.add, data.remove)
    db.session.commit()
    return jsonify(result | {"total": check_lists.term_counts()[query_name]})


@bp.put("/checks/severities")
@documented("Set rules' severities, block or warn (supervisor)", body=SeveritiesIn,
            tag="checks", responses={200: "severities", 403: "forbidden"})
@api_roles("supervisor")
def put_severities():
    data = parse_body(SeveritiesIn)
    result = check_lists.set_severities(api_user(), dict(data.severities))
    db.session.commit()
    return jsonify({"severities": result})


def query_choice_path(name: str) -> str:
    if name not in TERM_LISTS:
        raise NotFound(_("No such list: %(lists)s", lists=", ".join(TERM_LISTS)))
    return name


@bp.post("/videos")
@body_limit("VIDEO_MAX_BYTES")
@documented("Upload a video (editor, source): the raw file as the body (any video/* or "
            "application/octet-stream type, Content-Length required; ?name= the file's name). "
            "Type, duration and resolution are read with ffprobe; a cover frame is taken",
            tag="articles",
            query={"name": "string"},
            responses={201: "video {id, sha256, size, mime, duration, width, height, frame}",
                       400: "invalid (fields.video: not a video, truncated upload)",
                       413: "too_large", 503: "ffprobe/ffmpeg not installed"})
def upload_video():
    user = api_user()
    video = videos.receive_video(user, request.stream, request.content_length,
                                 request.args.get("name", ""))
    db.session.commit()
    return jsonify(videos.video_json(video)), 201


@bp.get("/videos/<int:video_id>")
@documented("A video's facts as ffprobe read them", tag="articles",
            responses={200: "video", 404: "not_found"})
def get_video(video_id):
    return jsonify(videos.video_json(videos.get_video(api_user(), video_id)))


@bp.get("/videos/<int:video_id>/file")
@documented("The video file (HTTP ranges supported, so it plays)", tag="articles",
            responses={200: "the file", 206: "a range of it", 404: "not_found"})
def video_file(video_id):
    video = videos.get_video(api_user(), video_id)
    return send_file(videos.video_path(video), mimetype=video.mime, conditional=True,
                     etag=video.sha256)


@bp.post("/articles/<int:article_id>/comments")
@documented("Comment on a passage of the body (whoever may act at the article's stage; "
            "content_hash: the revision the reviewer saw, 409 revision_changed otherwise)",
            body=CommentIn, tag="articles",
            responses={201: "comment", 400: "invalid", 403: "forbidden", 404: "not_found",
                       409: "revision_changed"})
def comment_article(article_id):
    user = api_user()
    article = articles.get_article(user, article_id)
    data = parse_body(CommentIn)
    row = comments.add_comment(user, article, data.text, data.quote, data.start,
                               data.content_hash)
    db.session.commit()
    return jsonify(comments.comment_json(row)), 201


@bp.post("/articles/images")
@body_limit("PUBLISHER_COVER_MAX_BYTES", 1024)
@documented("Upload an image for an article's body (editors): the raw file as the request "
            "body, checked by its content (JPEG, PNG or GIF within the cover limit); answers "
            "the src to put in the body's <img>", tag="articles",
            responses={201: "image {id, src, width, height, mime}", 400: "invalid",
                       403: "forbidden", 413: "too_large"})
def upload_body_image():
    image = covers.store_body_image(api_user(), request.get_data())
    db.session.commit()
    return jsonify(covers.body_image_json(image)), 201
