"""Articles as drafted: create (or accept one pushed with its upstream reviews), edit, find, list.

Views, the API and the jobs call these functions; they raise govmedia.errors and add audit
entries to the caller's transaction, which commits or rolls back as a whole.
"""
from datetime import timedelta
from itertools import pairwise
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select

from govmedia import audit
from govmedia.auth import (get_in_unit, require_roles, require_unit_access, scope_query,
                           visible_unit_ids)
from govmedia.errors import Forbidden, Invalid, RuleConflict
from govmedia.extensions import db
from govmedia.listing import search
from govmedia.models import AuditEntry, User
from govmedia.types import utcnow
from registry.labels import label
from registry.models import Account

from .. import checks
from ..content import compute_hash, run_article_checks, sanitize_html
from ..covers import decode_cover, pending_cover, store_cover
from ..labels import status_label
from ..mass_quota import require_article_quota
from ..models import (
    ARTICLE_STATUSES,
    EDITABLE_STATUSES,
    REFIXABLE_STATUSES,
    Article,
    ArticleImage,
    ArticleReview,
)
from ..videos import get_video
from .operations import approve

TARGETS = "target_account_ids"


def resolve_targets(actor: User, ids: list[int]) -> tuple[int, list[Account]]:
    """The target accounts: existing, active, all of one unit the user acts for."""
    if not ids:
        raise Invalid(_("Choose at least one account to publish to"),
                      fields={TARGETS: "choose at least one account"})
    unique = list(dict.fromkeys(ids))
    accounts = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(unique)))}
    missing = [i for i in unique if i not in accounts]
    if missing:
        raise Invalid(_("Account %(id)s does not exist", id=missing[0]),
                      fields={TARGETS: f"account {missing[0]} not found"})
    units = visible_unit_ids(actor)
    for account_id in unique:
        if units is not None and accounts[account_id].unit_id not in units:
            raise Forbidden(_("Account %(id)s belongs to another unit", id=account_id),
                            fields={TARGETS: f"account {account_id} belongs to another unit"})
    for account_id in unique:
        account = accounts[account_id]
        if account.status != "active":
            raise Invalid(_("Account %(id)s is %(status)s and cannot publish", id=account_id,
                            status=label("status", account.status)),
                          fields={TARGETS: f"account {account_id} is {account.status}"})
    unit_ids = {accounts[i].unit_id for i in unique}
    if len(unit_ids) > 1:
        raise Invalid(_("The accounts published to must belong to one unit"),
                      fields={TARGETS: "accounts of one unit only"})
    return unit_ids.pop(), [accounts[i] for i in unique]


def _check_url(value: str | None, field: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(_("%(field)s must be an http(s) link", field=field),
                      fields={field: "expected an http(s) URL"})
    return value


def _check_publish_at(value):
    if value is not None and value < utcnow() - timedelta(minutes=5):
        raise Invalid(_("The scheduled publishing time has passed"),
                      fields={"publish_at": "in the past"})
    return value


def article_snapshot(article: Article) -> dict:
    return {"title": article.title, "status": article.status, "revision": article.revision,
            "content_hash": article.content_hash, "targets": article.target_account_ids,
            "cover": article.cover.sha256 if article.cover is not None else None,
            "video": article.video.sha256 if article.video is not None else None,
            "publish_at": article.publish_at, "wechat_mode": article.wechat_mode}


def _apply(article: Article, data, accounts: list[Account], cover_bytes: bytes | None,
           remove_cover: bool, kept_cover: ArticleImage | None = None) -> None:
    article.title = (data.title or "").strip()
    article.body_html = sanitize_html(data.body_html)
    article.digest = data.digest or None
    article.author = data.author or None
    article.source_url = _check_url(data.source_url, "source_url")
    article.weibo_text = data.weibo_text or None
    article.target_account_ids = [a.id for a in accounts]
    article.publish_at = _check_publish_at(data.publish_at)
    article.wechat_mode = getattr(data, "wechat_mode", None)
    if cover_bytes is not None:
        article.cover = store_cover(cover_bytes)
    elif kept_cover is not None:
        article.cover = kept_cover
    elif remove_cover:
        article.cover = None


def _apply_video(actor: User, article: Article, data) -> None:
    """A video given by id (one the user uploaded), or removed; without a cover of its own
    the article's cover is the frame ffmpeg took from the video."""
    video_id = getattr(data, "video_id", None)
    old = article.video
    if video_id is not None:
        video = get_video(actor, video_id)
        if video.created_by_id != actor.id and not actor.has_role("admin") and (
                old is None or old.id != video.id):
            raise Forbidden(_("Video %(id)s was uploaded by someone else", id=video_id),
                            fields={"video_id": "uploaded by another user"})
        article.video = video
    elif getattr(data, "remove_video", False):
        article.video = None
    new = article.video
    if old is not None and article.cover is not None and article.cover is old.frame and (
            new is None or new is not old):
        article.cover = None  # the old video's frame goes with it
    if new is not None and article.cover is None:
        article.cover = new.frame


def _cover_bytes(data) -> bytes | None:
    value = getattr(data, "cover_image_base64", None)
    return decode_cover(value) if value else None


def check_review_record(record) -> list:
    """流程前置: stages 1, 2 and 3 each once, by three different people, in order, not later than now."""
    problems = None
    stages = sorted(item.stage for item in record or [])
    names = [item.name.strip() for item in record or []]
    if stages != [1, 2, 3]:
        problems = "needs exactly one entry for each of stages 1, 2 and 3"
    elif len({n.casefold() for n in names}) != 3:
        problems = "stages 1, 2 and 3 need three different reviewers"
    else:
        ordered = sorted(record, key=lambda item: item.stage)
        if any(a.reviewed_at > b.reviewed_at for a, b in pairwise(ordered)):
            problems = "stages must be in order: 1, then 2, then 3"
        elif any(item.reviewed_at > utcnow() + timedelta(minutes=5) for item in ordered):
            problems = "reviewed_at is in the future"
    if problems:
        raise Invalid(_("The review record is incomplete: it needs the 1st, 2nd and 3rd "
                        "reviews, by three different people"),
                      fields={"review_record": problems})
    return sorted(record, key=lambda item: item.stage)


def _kept_cover(actor: User, image_id: int | None) -> ArticleImage | None:
    return pending_cover(actor, image_id) if image_id is not None else None


def create_article(actor: User, data, *, cover_image_id: int | None = None) -> Article:
    """A draft from an editor; or, from a source system with its upstream review record,
    an article approved at once with one queued delivery per target (002 §12(三)).
    `cover_image_id`: a cover the same user uploaded before (a form that had an error)."""
    require_roles(actor, "editor", "source")
    pushed = data.review_record is not None
    if pushed:
        if not actor.has_role("admin", "source"):
            raise Invalid(_("Only a source system may send a review record"),
                          fields={"review_record": "only a source system sends a review record"})
        record = check_review_record(data.review_record)
    elif not actor.has_role("admin", "editor"):
        raise Invalid(_("An article pushed by a source system needs its complete review record"),
                      fields={"review_record": "required: stages 1, 2 and 3"})
    unit_id, accounts = resolve_targets(actor, data.target_account_ids)
    cover = _cover_bytes(data)
    kept = _kept_cover(actor, cover_image_id)
    article = Article(unit_id=unit_id, created_by_id=actor.id,
                      origin="source" if pushed else "editor", status="draft", revision=1,
                      round=0, content_hash="")
    _apply(article, data, accounts, cover, False, kept)
    _apply_video(actor, article, data)
    db.session.add(article)
    db.session.flush()
    article.content_hash = compute_hash(article)
    findings = run_article_checks(article)
    if pushed:
        _accept_pushed(actor, article, record, findings)
    else:
        db.session.flush()
        audit.record("article.create", "article", article.id, after=article_snapshot(article),
                     unit_id=unit_id, user=actor)
    return article


def _accept_pushed(actor: User, article: Article, record, findings) -> None:
    """Reviewed upstream (流程前置): recorded as such, approved and queued at once."""
    blocking = checks.blocking(findings)
    if blocking:
        raise RuleConflict(_("The article failed the automated checks and cannot be published"),
                           code="checks_failed", extra={"checks": blocking})
    article.round = 1
    article.review_record = [{"stage": r.stage, "name": r.name.strip(),
                              "reviewed_at": r.reviewed_at.isoformat()} for r in record]
    for item in record:
        db.session.add(ArticleReview(
            article_id=article.id, round=1, stage=item.stage,
            decision="submit" if item.stage == 1 else "approve", user_id=None,
            name=item.name.strip(), comment="", revision=article.revision,
            content_hash=article.content_hash, upstream=True, at=item.reviewed_at,
            confirmations=[f["rule"] for f in checks.warnings(findings)]))
    article.submitted_at = record[0].reviewed_at
    require_article_quota(article)
    approve(article)
    db.session.flush()
    audit.record("article.push", "article", article.id, after=article_snapshot(article)
                 | {"review_record": article.review_record}, unit_id=article.unit_id,
                 user=actor)


def _void_round(article: Article, reason: str) -> int:
    count = 0
    for review in article.reviews:
        if review.round == article.round and review.voided_at is None and not review.upstream:
            review.voided_at = utcnow()
            review.void_reason = reason
            count += 1
    return count


def update_article(actor: User, article: Article, data, *, remove_cover: bool = False,
                   cover_image_id: int | None = None) -> Article:
    """The drafter changes the article; a changed revision voids the approvals of the round."""
    require_drafter(actor, article)
    # A failed or partly published article may be fixed: the fix goes through the three
    # reviews again and then only to the targets without a sent delivery (docs/FANOUT.md).
    refixable = article.status in REFIXABLE_STATUSES and article.withdraw_requested_at is None
    if article.status not in EDITABLE_STATUSES and not refixable:
        raise RuleConflict(_("The article is %(status)s and cannot be edited",
                             status=status_label(article.status)), code="invalid_transition")
    if getattr(data, "review_record", None) is not None:
        raise Invalid(_("A review record cannot be sent with an edit"),
                      fields={"review_record": "not accepted on edit"})
    before = article_snapshot(article)
    unit_id, accounts = resolve_targets(actor, data.target_account_ids)
    if unit_id != article.unit_id:
        raise Forbidden(_("The accounts published to must belong to the article's unit"),
                        fields={TARGETS: "accounts of the article's unit only"})
    _apply(article, data, accounts, _cover_bytes(data), remove_cover,
           _kept_cover(actor, cover_image_id))
    _apply_video(actor, article, data)
    db.session.flush()
    new_hash = compute_hash(article)
    voided = 0
    if new_hash != article.content_hash:
        article.content_hash = new_hash
        article.revision += 1
        if article.status in ("pending_review", "pending_signoff"):
            voided = _void_round(article, f"revision {article.revision} replaced the one reviewed")
            article.status = "draft"
        elif article.status == "returned" or refixable:
            article.status = "draft"
    run_article_checks(article)
    db.session.flush()
    audit.record("article.update", "article", article.id, before=before,
                 after=article_snapshot(article) | {"voided_reviews": voided},
                 unit_id=article.unit_id, user=actor)
    return article


def lock(article: Article) -> None:
    # Two people acting on one article at once (a double click, two signers): the second
    # waits for the first and then sees its result.
    db.session.refresh(article, with_for_update=True)


def require_drafter(actor: User, article: Article) -> None:
    lock(article)
    require_unit_access(actor, article.unit_id)
    if article.created_by_id != actor.id:
        raise Forbidden(_("Only the drafter may do this"))


def get_article(actor: User, article_id: int) -> Article:
    return get_in_unit(actor, Article, article_id, _("Article not found"))


# 撤稿: once a withdrawal is asked for, the article shows as withdrawn wherever its status
# shows (its own status keeps what the deliveries reached), and lists filter on it.
WITHDRAWN = "withdrawn"
LIST_STATUSES = (*ARTICLE_STATUSES, WITHDRAWN)


def shown_status(article: Article) -> str:
    return WITHDRAWN if article.withdraw_requested_at is not None else article.status


def articles_query(actor: User, *, status: str | None = None, unit_id: int | None = None,
                   q: str = ""):
    """The articles this user may see, newest change first; q: in the title."""
    query = search(scope_query(select(Article), Article.unit_id, actor, unit_id), q,
                   Article.title)
    if status == WITHDRAWN:
        query = query.where(Article.withdraw_requested_at.is_not(None))
    elif status:
        query = query.where(Article.status == status, Article.withdraw_requested_at.is_(None))
    return query.order_by(Article.updated_at.desc(), Article.id.desc())


def history(article: Article) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "article",
                                                       AuditEntry.object_id == article.id)
                              .order_by(AuditEntry.id)).all()


def target_accounts(article: Article) -> dict[int, Account]:
    return {a.id: a for a in db.session.scalars(select(Account).where(
        Account.id.in_(article.target_account_ids or [])))}


def publishable_accounts(user: User, unit_id: int | None = None) -> list[Account]:
    """The accounts the editor may choose: every active one (a platform without a publishing
    API gets a publishing task at sign-off, publisher/tasks)."""
    query = select(Account).where(Account.status == "active")
    if unit_id is not None:
        query = query.where(Account.unit_id == unit_id)
    elif (units := visible_unit_ids(user)) is not None:
        query = query.where(Account.unit_id.in_(units))
    return db.session.scalars(query.order_by(Account.unit_id, Account.platform,
                                             Account.id)).all()
