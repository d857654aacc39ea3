"""Evidence of updates on platforms without an API (视频号, 头条号, apps, Douyin without
authorisation): staff record the update's URL and a screenshot, and the update counts as a
post; a supervisor may reject the evidence, and the post then stops counting, the derived
figures as if it never had (registry.supervision.pending.remove_post)."""
import io
import os
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from govmedia import audit
from govmedia.auth import get_in_unit, require_roles, require_unit_access, scope_query
from govmedia.errors import Invalid, RuleConflict
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import utcnow
from registry.models import Account
from registry.posts import record_post
from registry.supervision.pending import remove_post

from .models import EVIDENCE_STATUSES, Evidence

SOURCE = "evidence"
KINDS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg")}


def evidence_dir() -> str:
    configured = current_app.config["EVIDENCE_DIR"]
    return configured or os.path.join(current_app.instance_path, "evidence")


def checked_screenshot(data: bytes | None) -> tuple[str, str]:
    """(extension, media type) of a PNG or JPEG, judged by its content, within the size limit."""
    limit = int(current_app.config["EVIDENCE_MAX_BYTES"])
    if not data:
        raise Invalid(_("Attach a screenshot of the update"),
                      fields={"screenshot": "required"})
    if len(data) > limit:
        raise Invalid(_("The screenshot is larger than %(mb)s MB", mb=round(limit / 2**20, 1)),
                      fields={"screenshot": "too_large"})
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()   # a truncated or forged file fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Invalid(_("The screenshot must be a PNG or JPEG image"),
                      fields={"screenshot": "not_an_image"}) from exc
    if kind not in KINDS:
        raise Invalid(_("The screenshot must be a PNG or JPEG image"),
                      fields={"screenshot": "not_png_or_jpeg"})
    return KINDS[kind]


def _checked_fields(published_at: datetime, title: str, url: str) -> None:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid(_("Enter the update's address (http or https)"), fields={"url": "invalid"})
    if not (title or "").strip():
        raise Invalid(_("Enter the update's title"), fields={"title": "required"})
    if published_at.tzinfo is None or published_at > utcnow() + timedelta(minutes=5):
        raise Invalid(_("The publication time cannot be in the future"),
                      fields={"published_at": "in_future"})


def _store(data: bytes, extension: str) -> str:
    folder = evidence_dir()
    os.makedirs(folder, exist_ok=True)
    name = f"{uuid.uuid4().hex}.{extension}"
    temporary = os.path.join(folder, f".{name}.part")
    with open(temporary, "wb") as fh:
        fh.write(data)
    os.replace(temporary, os.path.join(folder, name))   # never a half-written file
    return name


def record_evidence(actor: User, account: Account, published_at: datetime, title: str,
                    url: str, screenshot: bytes | None) -> Evidence:
    """A sponsor's or editor's evidence of an update of their unit's account: the post
    counts from now on."""
    require_roles(actor, "sponsor", "editor")
    require_unit_access(actor, account.unit_id)
    _checked_fields(published_at, title, url)
    extension, media_type = checked_screenshot(screenshot)
    name = _store(screenshot, extension)
    post_id = record_post(account.id, published_at, title.strip(), url, SOURCE,
                          created_by_id=actor.id, origin="manual")
    evidence = Evidence(account_id=account.id, unit_id=account.unit_id, post_id=post_id,
                        published_at=published_at, title=title.strip()[:500], url=url,
                        screenshot=name, screenshot_type=media_type, status="recorded",
                        created_by_id=actor.id)
    db.session.add(evidence)
    db.session.flush()
    audit.record("evidence.recorded", "account", account.id, unit_id=account.unit_id,
                 user=actor, after={"evidence_id": evidence.id, "url": url, "title": title})
    return evidence


def reject_evidence(actor: User, evidence: Evidence, reason: str) -> Evidence:
    """A supervisor rejects evidence: its post is removed and stops counting."""
    require_roles(actor, "supervisor")
    if not (reason or "").strip():
        raise Invalid(_("Give the reason for the rejection"), fields={"reason": "required"})
    if evidence.status == "rejected":
        raise RuleConflict(_("This evidence was already rejected"), code="already_rejected")
    if evidence.post_id is not None:
        remove_post(evidence.post_id)
    evidence.post_id = None
    evidence.status = "rejected"
    evidence.rejected_by_id, evidence.rejected_at = actor.id, utcnow()
    evidence.reject_reason = reason.strip()
    db.session.flush()
    audit.record("evidence.rejected", "account", evidence.account_id, unit_id=evidence.unit_id,
                 user=actor, after={"evidence_id": evidence.id, "reason": evidence.reject_reason})
    return evidence


def get_evidence(actor: User, evidence_id: int) -> Evidence:
    return get_in_unit(actor, Evidence, evidence_id, _("Evidence not found"))


def evidence_query(actor: User, *, unit_id: int | None = None, account_id: int | None = None,
                   status: str | None = None):
    query = scope_query(select(Evidence), Evidence.unit_id, actor, unit_id)
    if account_id is not None:
        query = query.where(Evidence.account_id == account_id)
    if status in EVIDENCE_STATUSES:
        query = query.where(Evidence.status == status)
    return query.order_by(Evidence.id.desc())


def screenshot_path(evidence: Evidence) -> str:
    return os.path.join(evidence_dir(), evidence.screenshot)
