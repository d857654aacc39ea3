"""Completing a publishing task: the post's URL (on the platform's own host), an optional
screenshot, the post recorded for the update rule, the delivery sent and the article closed."""
import base64
import binascii
import io

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from adapters.platforms import facts, post_url_problem
from govmedia import audit
from govmedia.auth import get_in_unit, require_roles, require_unit_access
from govmedia.errors import Invalid, RuleConflict
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import utcnow
from registry.models import Account, Post
from registry.posts import record_post

from ..fanout.settle import close_article_of
from ..states import DeliveryStatus as S
from ..models import Delivery
from .models import PublishingTask

SCREENSHOT = "screenshot_base64"
SCREENSHOT_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
MAX_PIXELS = 40_000_000


def get_task(actor: User, task_id: int) -> PublishingTask:
    return get_in_unit(actor, PublishingTask, task_id, _("Task not found"))


def screenshot_limit() -> int:
    return int(current_app.config["PUBLISHING_TASK_SCREENSHOT_MAX_BYTES"])


def decode_screenshot(value: str) -> tuple[bytes, str]:
    """A PNG or JPEG in standard base64, checked by its content (Pillow), within the limit."""
    limit = screenshot_limit()
    mib = f"{limit / (1024 * 1024):g}"
    too_large = Invalid(_("The screenshot is larger than %(mib)s MB", mib=mib),
                        fields={SCREENSHOT: f"larger than {mib} MiB"})
    text = "".join((value or "").split())
    if len(text) > limit * 4 // 3 + 8:
        raise too_large
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(_("The screenshot is not valid base64"),
                      fields={SCREENSHOT: "not valid base64"}) from None
    if len(data) > limit:
        raise too_large
    not_image = Invalid(_("The screenshot is not a PNG or JPEG image"),
                        fields={SCREENSHOT: "not a PNG or JPEG image"})
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in SCREENSHOT_FORMATS:
                raise not_image
            if img.size[0] * img.size[1] > MAX_PIXELS:
                raise not_image
            mime = SCREENSHOT_FORMATS[img.format]
            img.load()  # a truncated or corrupt file fails here
    except Invalid:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError):
        raise not_image from None
    return data, mime


def _check_post_url(task: PublishingTask, post_url: str) -> str:
    post_url = (post_url or "").strip()
    if not post_url:
        raise Invalid(_("Paste the link of the post"), fields={"post_url": "required"})
    problem = post_url_problem(task.platform, post_url)
    if problem:
        hosts = "、".join(facts(task.platform).post_hosts)
        raise Invalid(_("The link is not a post on this platform (expected a link on %(hosts)s)",
                        hosts=hosts or "http(s)"), fields={"post_url": problem})
    taken = db.session.scalar(select(PublishingTask.id).where(
        PublishingTask.post_url == post_url, PublishingTask.id != task.id,
        PublishingTask.kind == "publish"))
    if taken is not None:
        raise Invalid(_("This link was already recorded for task %(id)s: paste the link of "
                        "this account's post", id=taken),
                      fields={"post_url": f"already recorded for task {taken}"})
    # A post another account recorded (its task, the activity sync, evidence): the link of
    # the wrong account's post. The platforms without an API do not name the account in a
    # post's link, so this is what can be known.
    owner = db.session.scalar(
        select(Account.name).join(Post, Post.account_id == Account.id)
        .where(Post.url == post_url, Post.account_id != task.account_id).limit(1))
    if owner is not None:
        raise Invalid(_("This link is a post of another account, “%(account)s”: paste the link "
                        "of this account's post", account=owner),
                      fields={"post_url": "a post of another account"})
    return post_url


def complete_task(actor: User, task: PublishingTask, post_url: str | None,
                  screenshot_base64: str | None = None, removed: bool = False) -> bool:
    """Mark the task done, in the caller's transaction. A `publish` task needs the post's URL;
    a `takedown` task needs `removed` (the person confirms the post is gone). Returns False
    when the task was already done with the same URL (a repeated request: nothing changes);
    409 already_done when it was done otherwise."""
    require_roles(actor, "sponsor", "editor")
    require_unit_access(actor, task.unit_id)
    db.session.refresh(task, with_for_update=True)
    if task.cancelled_at is not None:
        raise RuleConflict(_("The article was withdrawn before this task was done: nothing "
                             "to post"), code="task_cancelled")
    if task.kind == "publish":
        post_url = _check_post_url(task, post_url)
    elif not removed:
        raise Invalid(_("Confirm that the post was removed from the platform"),
                      fields={"removed": "must be true"})
    if task.done_at is not None:
        if task.kind == "takedown" or task.post_url == post_url:
            return False
        raise RuleConflict(_("The task was already done with another link"),
                           code="already_done")
    if screenshot_base64:
        task.screenshot, task.screenshot_mime = decode_screenshot(screenshot_base64)
        task.screenshot_bytes = len(task.screenshot)
    now = utcnow()
    task.done_at, task.done_by_id = now, actor.id
    delivery = db.session.get(Delivery, task.delivery_id, with_for_update=True)
    if task.kind == "publish":
        task.post_url = post_url
        _sent_by_hand(actor, task, delivery, now)
    else:
        delivery.status, delivery.withdraw_state, delivery.withdrawn_at = S.WITHDRAWN, None, now
    db.session.flush()
    audit.record(f"task.{task.kind}.done", "article", task.article_id, unit_id=task.unit_id,
                 user=actor, after={"task_id": task.id, "delivery_id": delivery.id,
                                    "account_id": task.account_id, "platform": task.platform,
                                    "post_url": task.post_url,
                                    "screenshot": task.screenshot_mime})
    if task.kind == "publish":
        close_article_of(task.article_id)
    return True


def _sent_by_hand(actor: User, task: PublishingTask, delivery: Delivery, now) -> None:
    """The delivery is sent with the pasted link, and the account's update is recorded by
    the registry's one post function (rule 5: it counts for the update rule)."""
    delivery.status, delivery.post_url, delivery.sent_at = S.SENT, task.post_url, now
    delivery.last_error = delivery.last_error_detail = None
    record_post(task.account_id, now, task.title or delivery.article.title, task.post_url,
                "task", created_by_id=actor.id)
