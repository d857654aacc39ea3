"""The tasks page for an account's staff: open tasks, the text to copy, the media to download,
and the form that completes a task with the post's link and a screenshot."""
import base64
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.pagination import paginate
from govmedia.types import today_shanghai
from registry.models import Account

from .complete import complete_task, get_task
from .models import PublishingTask
from .queries import tasks_query

bp = Blueprint("publisher_tasks", __name__)
_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
SHOWN = {"todo": ("open", "overdue"), "done": ("done",)}


def media_of(task: PublishingTask) -> list[dict]:
    """What the person downloads to post: the article's video, its cover and the images of
    its body."""
    article = task.article
    media = []
    if article.video_id is not None:
        media.append({"url": url_for("publisher.video_file_page", video_id=article.video_id),
                      "name": _("Video")})
    if article.cover_id is not None:
        media.append({"url": url_for("publisher.article_cover", article_id=article.id),
                      "name": _("Cover image")})
    for n, src in enumerate(dict.fromkeys(_IMG_SRC.findall(article.body_html or "")), 1):
        if src.startswith(("http://", "https://", "/")):
            media.append({"url": src, "name": _("Image %(n)s", n=n)})
    return media


@bp.get("/tasks")
@login_required
def tasks():
    user = current_user._get_current_object()
    show = request.args.get("show") if request.args.get("show") in SHOWN else "todo"
    as_of = today_shanghai()
    query = tasks_query(user, as_of=as_of)
    if show == "done":
        query = query.where(PublishingTask.done_at.is_not(None))
    else:
        query = query.where(PublishingTask.done_at.is_(None))
    page = paginate(query)
    names = dict(db.session.execute(select(Account.id, Account.name).where(
        Account.id.in_({t.account_id for t in page.items}))).all())
    return render_template("publisher/tasks.html", tasks=page.items, names=names, as_of=as_of,
                           show=show, media_of=media_of, **page.nav,
                           can_complete=user.has_role("admin", "sponsor", "editor"))


@bp.post("/tasks/<int:task_id>/complete")
@login_required
def task_complete(task_id):
    user = current_user._get_current_object()
    task = get_task(user, task_id)
    upload = request.files.get("screenshot")
    screenshot = base64.b64encode(upload.read()).decode() if upload and upload.filename else None
    try:
        complete_task(user, task, request.form.get("post_url"), screenshot,
                      removed=request.form.get("removed") == "1")
    except DomainError as err:
        if err.status in (401, 403, 404) and not err.fields:
            raise
        db.session.rollback()
        flash(_("Task %(id)s: %(message)s", id=task_id, message=err.message), "error")
    else:
        db.session.commit()
        flash(_("Task %(id)s is done.", id=task_id), "success")
    return redirect(url_for("publisher_tasks.tasks") + f"#task-{task_id}")


@bp.get("/tasks/<int:task_id>/screenshot")
@login_required
def task_screenshot(task_id):
    task = get_task(current_user._get_current_object(), task_id)
    if task.screenshot is None:
        abort(404)
    return task.screenshot, 200, {"Content-Type": task.screenshot_mime,
                                  "Cache-Control": "private, max-age=300"}
