"""Publisher operations: articles through the three reviews (rule 8) and the content checks (rule 9).

Views, the API and (next) the sending jobs call these functions; they raise govmedia.errors
and add audit entries to the caller's transaction, which commits or rolls back as a whole.
"""
import base64
import binascii
import hashlib
import io
import json
import uuid
from datetime import timedelta
from itertools import pairwise
from urllib.parse import urlsplit

import nh3
from flask import current_app
from sqlalchemy import delete, func, or_, select

from govmedia import audit
from govmedia.auth import require_roles, require_unit_access, scope_query, visible_unit_ids
from govmedia.errors import Forbidden, Invalid, NotFound, RuleConflict
from govmedia.extensions import db
from govmedia.models import AuditEntry, User
from govmedia.types import utcnow
from registry.models import Account

from . import checks
from .models import (
    EDITABLE_STATUSES,
    PUBLISHABLE_PLATFORMS,
    REFIXABLE_STATUSES,
    TERM_LISTS,
    Article,
    ArticleImage,
    ArticleReview,
    CheckConfig,
    CheckTerm,
    Delivery,
)

# --- sanitizing ----------------------------------------------------------------------------

ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "s", "h2", "h3", "h4", "blockquote",
                "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
                "span", "sub", "sup", "hr", "figure", "figcaption"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"},
                      "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(value: str) -> str:
    """Keep the article markup a WeChat article can carry; drop scripts, styles, event
    handlers and javascript: links (nh3, the Rust ammonia sanitizer)."""
    return nh3.clean(value or "", tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=URL_SCHEMES, link_rel="noopener noreferrer").strip()


# --- cover images ----------------------------------------------------------------------------

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}
MAX_PIXELS = 40_000_000


def cover_limit() -> int:
    return int(current_app.config.get("PUBLISHER_COVER_MAX_BYTES", 5 * 1024 * 1024))


def decode_cover(value: str) -> bytes:
    """Standard base64 without a data: prefix (shared/API.md)."""
    text = value.strip()
    if text.startswith("data:"):
        raise Invalid("封面图片须为纯 base64，不带 data: 前缀 (cover_image_base64: no data: prefix)",
                      fields={"cover_image_base64": "standard base64 without a data: prefix"})
    if len(text) > cover_limit() * 4 // 3 + 8:
        raise _too_large()
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("封面图片不是合法的 base64 (cover_image_base64: not valid base64)",
                      fields={"cover_image_base64": "not valid base64"}) from None


def _too_large() -> Invalid:
    mib = cover_limit() / (1024 * 1024)
    return Invalid(f"封面图片超过 {mib:g} MB 上限 (cover_image_base64: larger than {mib:g} MiB)",
                   fields={"cover_image_base64": f"larger than {mib:g} MiB"})


def validate_image(data: bytes) -> tuple[str, int, int]:
    """(mime, width, height) of a real JPEG, PNG or GIF within the limits; Invalid otherwise."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > cover_limit():
        raise _too_large()
    not_image = Invalid("封面图片不是有效的图片文件（支持 JPEG、PNG、GIF） "
                        "(cover_image_base64: not a JPEG, PNG or GIF image)",
                        fields={"cover_image_base64": "not a JPEG, PNG or GIF image"})
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format, img.size
            if fmt not in IMAGE_FORMATS:
                raise not_image
            if width * height > MAX_PIXELS:
                raise Invalid("封面图片像素过多 (cover_image_base64: too many pixels)",
                              fields={"cover_image_base64": f"more than {MAX_PIXELS} pixels"})
            img.load()  # decode it all: a truncated or corrupt file fails here
    except Invalid:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise not_image from None
    return IMAGE_FORMATS[fmt], width, height


def store_cover(data: bytes) -> ArticleImage:
    mime, width, height = validate_image(data)
    image = ArticleImage(sha256=hashlib.sha256(data).hexdigest(), mime=mime, width=width,
                         height=height, size=len(data), data=data)
    db.session.add(image)
    return image


# --- check lists and severities ----------------------------------------------------------

def check_config() -> CheckConfig | None:
    return db.session.get(CheckConfig, 1)


def load_terms() -> dict[str, list[str]]:
    """The supervisors' lists; the built-in defaults until a supervisor first edits them."""
    if check_config() is None:
        return {"banned": [], "caution": [], "advertising": list(checks.DEFAULT_ADVERTISING),
                "domain": list(checks.DEFAULT_DOMAINS)}
    terms: dict[str, list[str]] = {name: [] for name in TERM_LISTS}
    for name, term in db.session.execute(select(CheckTerm.list, CheckTerm.term)):
        terms.setdefault(name, []).append(term)
    return terms


def current_rules() -> tuple[str, checks.Matcher, dict]:
    """(version, compiled matcher, severities): one small query when the matcher is cached."""
    config = check_config()
    version = config.version if config else "defaults"
    severities = dict(checks.DEFAULT_SEVERITIES)
    if config is not None:
        severities.update(config.severities or {})
    return version, checks.compiled_matcher(version, load_terms), severities


def ensure_config(actor: User) -> CheckConfig:
    """The settings row, created with the default lists on a supervisor's first change."""
    require_roles(actor, "supervisor")
    config = db.session.get(CheckConfig, 1, with_for_update=True)
    if config is None:
        config = CheckConfig(id=1, version=uuid.uuid4().hex, severities={},
                             updated_by_id=actor.id)
        db.session.add(config)
        db.session.flush()
        rows = [{"list": "advertising", "term": t, "created_by_id": actor.id}
                for t in checks.DEFAULT_ADVERTISING]
        rows += [{"list": "domain", "term": t, "created_by_id": actor.id}
                 for t in checks.DEFAULT_DOMAINS]
        db.session.execute(CheckTerm.__table__.insert(), rows)
    return config


def _clean_term(list_name: str, term: str) -> str:
    term = term.strip()
    if list_name == "domain":
        term = term.lower().removeprefix("http://").removeprefix("https://").split("/")[0]
        term = term.lstrip(".").rstrip(".")
    return term


def update_terms(actor: User, list_name: str, add=(), remove=()) -> dict:
    """Add and remove words (or domains) on one list; returns the counts changed."""
    if list_name not in TERM_LISTS:
        raise Invalid("未知的词表 (unknown list)", fields={"list": "one of " + ", ".join(TERM_LISTS)})
    config = ensure_config(actor)
    wanted = {_clean_term(list_name, t) for t in add} - {""}
    too_long = sorted(t for t in wanted if len(t) > 100)
    if too_long:
        raise Invalid("词条过长（最多 100 字） (term longer than 100 characters)",
                      fields={"add": "too long: " + too_long[0][:20]})
    existing = set(db.session.scalars(select(CheckTerm.term).where(CheckTerm.list == list_name)))
    new = sorted(wanted - existing)
    if new:
        db.session.execute(CheckTerm.__table__.insert(), [
            {"list": list_name, "term": t, "created_by_id": actor.id, "created_at": utcnow()}
            for t in new])
    gone = sorted(({_clean_term(list_name, t) for t in remove} & existing) - set(new))
    for start in range(0, len(gone), 500):
        db.session.execute(delete(CheckTerm).where(CheckTerm.list == list_name,
                                                   CheckTerm.term.in_(gone[start:start + 500])))
    if new or gone:
        config.version = uuid.uuid4().hex
        config.updated_by_id = actor.id
        db.session.flush()
        audit.record("checks.terms", "check_list", None, user=actor,
                     after={"list": list_name, "added": len(new), "removed": len(gone),
                            "sample_added": new[:20], "sample_removed": gone[:20]})
    return {"added": len(new), "removed": len(gone)}


def set_severities(actor: User, severities: dict[str, str]) -> dict:
    config = ensure_config(actor)
    unknown = sorted(set(severities) - set(checks.RULES))
    if unknown:
        raise Invalid("未知的检查规则 (unknown rule)", fields={"severities": "unknown: " + ", ".join(unknown)})
    bad = sorted(r for r, s in severities.items() if s not in checks.SEVERITIES)
    if bad:
        raise Invalid("级别须为 block 或 warn", fields={"severities": "block or warn: " + ", ".join(bad)})
    before = dict(config.severities or {})
    merged = dict(before)
    merged.update(severities)
    merged = {r: s for r, s in merged.items() if s != checks.DEFAULT_SEVERITIES[r]}
    if merged != before:
        config.severities = merged
        config.version = uuid.uuid4().hex
        config.updated_by_id = actor.id
        db.session.flush()
        audit.record("checks.severities", "check_list", None, before=before, after=merged,
                     user=actor)
    return effective_severities()


def effective_severities() -> dict[str, str]:
    return current_rules()[2]


def term_counts() -> dict[str, int]:
    if check_config() is None:
        return {name: len(terms) for name, terms in load_terms().items()}
    counts = dict(db.session.execute(select(CheckTerm.list, func.count())
                                     .group_by(CheckTerm.list)).all())
    return {name: counts.get(name, 0) for name in TERM_LISTS}


# --- articles ------------------------------------------------------------------------------

def _platforms(article: Article) -> frozenset:
    if not article.target_account_ids:
        return frozenset()
    rows = db.session.scalars(select(Account.platform).where(
        Account.id.in_(article.target_account_ids)))
    return frozenset(rows)


def content_of(article: Article) -> checks.Content:
    return checks.Content(title=article.title or "", body_html=article.body_html or "",
                          digest=article.digest, author=article.author,
                          source_url=article.source_url, weibo_text=article.weibo_text,
                          has_cover=article.cover_id is not None or article.cover is not None,
                          platforms=_platforms(article))


def run_article_checks(article: Article) -> list[dict]:
    version, matcher, severities = current_rules()
    findings = checks.run_checks(content_of(article), matcher, severities)
    article.checks = findings
    article.checks_version = version
    return findings


def compute_hash(article: Article) -> str:
    """What the reviewers approve: every field that reaches a platform, and the targets."""
    cover = article.cover.sha256 if article.cover is not None else None
    payload = {"title": article.title, "body_html": article.body_html, "digest": article.digest,
               "author": article.author, "source_url": article.source_url,
               "weibo_text": article.weibo_text, "cover": cover,
               "targets": sorted(article.target_account_ids or []),
               "publish_at": article.publish_at.isoformat() if article.publish_at else None}
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def resolve_targets(actor: User, ids: list[int]) -> tuple[int, list[Account]]:
    """The target accounts: existing, active, publishable, all of one unit the user acts for."""
    if not ids:
        raise Invalid("请至少选择一个发布账号 (target_account_ids: choose at least one)",
                      fields={"target_account_ids": "choose at least one account"})
    unique = list(dict.fromkeys(ids))
    accounts = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(unique)))}
    missing = [i for i in unique if i not in accounts]
    if missing:
        raise Invalid(f"账号 {missing[0]} 不存在 (target_account_ids: account {missing[0]} not found)",
                      fields={"target_account_ids": f"account {missing[0]} not found"})
    units = visible_unit_ids(actor)
    for account_id in unique:
        account = accounts[account_id]
        if units is not None and account.unit_id not in units:
            raise Forbidden(f"账号 {account_id} 属于其他单位 (target_account_ids: account "
                            f"{account_id} belongs to another unit)",
                            fields={"target_account_ids": f"account {account_id} belongs to "
                                                          "another unit"})
    for account_id in unique:
        account = accounts[account_id]
        if account.status != "active":
            raise Invalid(f"账号 {account_id} 状态为 {account.status}，不能发布 "
                          f"(target_account_ids: account {account_id} is {account.status})",
                          fields={"target_account_ids": f"account {account_id} is {account.status}"})
        if account.platform not in PUBLISHABLE_PLATFORMS:
            raise Invalid(f"暂不支持向 {account.platform} 账号发布 (target_account_ids: account "
                          f"{account_id} is on {account.platform}; wechat and weibo only)",
                          fields={"target_account_ids": f"account {account_id} is on "
                                                        f"{account.platform}; wechat and weibo only"})
    unit_ids = {accounts[i].unit_id for i in unique}
    if len(unit_ids) > 1:
        raise Invalid("发布账号须属于同一单位 (target_account_ids: accounts of one unit only)",
                      fields={"target_account_ids": "accounts of one unit only"})
    return unit_ids.pop(), [accounts[i] for i in unique]


def _check_url(value: str | None, field: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"{field} 须为 http(s) 链接 ({field}: expected an http(s) URL)",
                      fields={field: "expected an http(s) URL"})
    return value


def _check_publish_at(value):
    if value is not None and value < utcnow() - timedelta(minutes=5):
        raise Invalid("定时发布时间已过 (publish_at: in the past)",
                      fields={"publish_at": "in the past"})
    return value


def article_snapshot(article: Article) -> dict:
    return {"title": article.title, "status": article.status, "revision": article.revision,
            "content_hash": article.content_hash, "targets": article.target_account_ids,
            "cover": article.cover.sha256 if article.cover is not None else None,
            "publish_at": article.publish_at}


def _apply(article: Article, data, accounts: list[Account], cover_bytes: bytes | None,
           remove_cover: bool) -> None:
    article.title = (data.title or "").strip()
    article.body_html = sanitize_html(data.body_html)
    article.digest = data.digest or None
    article.author = data.author or None
    article.source_url = _check_url(data.source_url, "source_url")
    article.weibo_text = data.weibo_text or None
    article.target_account_ids = [a.id for a in accounts]
    article.publish_at = _check_publish_at(data.publish_at)
    if cover_bytes is not None:
        article.cover = store_cover(cover_bytes)
    elif remove_cover:
        article.cover = None


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
        raise Invalid("审核记录不完整：须有一审、二审、三审，且由三位不同人员完成 (review_record: " + problems + ")",
                      fields={"review_record": problems})
    return sorted(record, key=lambda item: item.stage)


def create_article(actor: User, data) -> Article:
    """A draft from an editor; or, from a source system with its upstream review record,
    an article approved at once with one queued delivery per target (002 §12(三))."""
    require_roles(actor, "editor", "source")
    pushed = data.review_record is not None
    if pushed:
        if not actor.has_role("admin", "source"):
            raise Invalid("只有来源系统（source）可以提交审核记录 (review_record: for source systems only)",
                          fields={"review_record": "only a source system sends a review record"})
        record = check_review_record(data.review_record)
    elif not actor.has_role("admin", "editor"):
        raise Invalid("来源系统推送的稿件须附完整审核记录 (review_record: required)",
                      fields={"review_record": "required: stages 1, 2 and 3"})
    unit_id, accounts = resolve_targets(actor, data.target_account_ids)
    cover = _cover_bytes(data)
    article = Article(unit_id=unit_id, created_by_id=actor.id,
                      origin="source" if pushed else "editor", status="draft", revision=1,
                      round=0, content_hash="")
    _apply(article, data, accounts, cover, False)
    db.session.add(article)
    db.session.flush()
    article.content_hash = compute_hash(article)
    findings = run_article_checks(article)
    if pushed:
        blocking = checks.blocking(findings)
        if blocking:
            raise RuleConflict("稿件未通过自动检查，不能发布 (checks_failed)", code="checks_failed",
                               extra={"checks": blocking})
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
        _approve(article)
        db.session.flush()
        audit.record("article.push", "article", article.id, after=article_snapshot(article)
                     | {"review_record": article.review_record}, unit_id=unit_id, user=actor)
    else:
        db.session.flush()
        audit.record("article.create", "article", article.id, after=article_snapshot(article),
                     unit_id=unit_id, user=actor)
    return article


def _void_round(article: Article, reason: str) -> int:
    count = 0
    for review in article.reviews:
        if review.round == article.round and review.voided_at is None and not review.upstream:
            review.voided_at = utcnow()
            review.void_reason = reason
            count += 1
    return count


def update_article(actor: User, article: Article, data, *, remove_cover: bool = False) -> Article:
    """The drafter changes the article; a changed revision voids the approvals of the round."""
    _require_drafter(actor, article)
    # A failed or partly published article may be fixed: the fix goes through the three
    # reviews again and then only to the targets without a sent delivery (docs/FANOUT.md).
    refixable = article.status in REFIXABLE_STATUSES and article.withdraw_requested_at is None
    if article.status not in EDITABLE_STATUSES and not refixable:
        raise RuleConflict(f"稿件状态为 {article.status}，不能修改 (an article that is "
                           f"{article.status} cannot be edited)", code="invalid_transition")
    if getattr(data, "review_record", None) is not None:
        raise Invalid("修改稿件时不能提交审核记录", fields={"review_record": "not accepted on edit"})
    before = article_snapshot(article)
    unit_id, accounts = resolve_targets(actor, data.target_account_ids)
    if unit_id != article.unit_id:
        raise Forbidden("发布账号须属于稿件所在单位 (target_account_ids: another unit)",
                        fields={"target_account_ids": "accounts of the article's unit only"})
    _apply(article, data, accounts, _cover_bytes(data), remove_cover)
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


def _lock(article: Article) -> None:
    # Two people acting on one article at once (a double click, two signers): on PostgreSQL
    # the second waits for the first and then sees its result; SQLite serialises writers.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.refresh(article, with_for_update=True)


def _require_drafter(actor: User, article: Article) -> None:
    _lock(article)
    require_unit_access(actor, article.unit_id)
    if article.created_by_id != actor.id:
        raise Forbidden("只有起草人可以修改或提交稿件 (only the drafter may do this)")


def submit_article(actor: User, article: Article, confirmations=(), checklist=None) -> list:
    """1st review: the drafter's self-check. Blocking findings, and warnings the drafter has
    not confirmed, stop it (409 checks_failed listing them)."""
    _require_drafter(actor, article)
    if article.status not in ("draft", "returned"):
        raise RuleConflict(f"稿件状态为 {article.status}，不能提交 (an article that is "
                           f"{article.status} cannot be submitted)", code="invalid_transition")
    unknown = sorted(set(confirmations) - set(checks.RULES))
    if unknown:
        raise Invalid("未知的检查规则 (confirmations: unknown rule)",
                      fields={"confirmations": "unknown rule " + unknown[0]})
    if checklist is not None:
        missing = [item for item in checks.SELF_CHECK_ITEMS if item not in checklist]
        if missing:
            raise Invalid("请逐项确认自查清单 (checklist: confirm every item)",
                          fields={"checklist": "not confirmed: " + ", ".join(missing)})
    findings = run_article_checks(article)
    confirmed = set(confirmations)
    stopping = checks.blocking(findings) + [f for f in checks.warnings(findings)
                                            if f["rule"] not in confirmed]
    if stopping:
        db.session.flush()
        raise RuleConflict("稿件未通过自动检查：须修改禁止发布的内容，并逐项确认提醒 (checks_failed)",
                           code="checks_failed", extra={"checks": stopping})
    article.round += 1
    article.status = "pending_review"
    article.submitted_at = utcnow()
    warned = sorted({f["rule"] for f in checks.warnings(findings)})
    db.session.add(ArticleReview(
        article_id=article.id, round=article.round, stage=1, decision="submit",
        user_id=actor.id, name=actor.display_name or actor.username, comment="",
        revision=article.revision, content_hash=article.content_hash,
        checklist=list(checklist) if checklist is not None else None, confirmations=warned))
    db.session.flush()
    audit.record("article.submit", "article", article.id,
                 after={"round": article.round, "revision": article.revision,
                        "content_hash": article.content_hash, "confirmed_warnings": warned,
                        "checklist": checklist}, unit_id=article.unit_id, user=actor)
    return findings


STAGE_OF_STATUS = {"pending_review": 2, "pending_signoff": 3}
ROLE_OF_STAGE = {2: "reviewer", 3: "signer"}


def acted_stages(article: Article, user: User) -> set[int]:
    """Every stage this person acted at on this article, in any round, voided or not."""
    stages = {r.stage for r in article.reviews if r.user_id == user.id}
    if article.created_by_id == user.id:
        stages.add(1)
    return stages


def review_refusal(actor: User, article: Article):
    """None when the user may act at the article's current stage, else the error to raise."""
    stage = STAGE_OF_STATUS.get(article.status)
    if stage is None:
        return RuleConflict(f"稿件状态为 {article.status}，不在审核中 (an article that is "
                            f"{article.status} is not awaiting review)", code="invalid_transition")
    if not actor.has_role("admin", ROLE_OF_STAGE[stage]):
        return Forbidden("没有执行此操作的权限 (your roles do not allow this)")
    if not actor.sees_all_units and actor.unit_id != article.unit_id:
        return Forbidden("只能操作本单位的数据 (this belongs to another unit)")
    if article.created_by_id == actor.id:
        return Forbidden("起草人不能审核自己的稿件 (the drafter never reviews the article)",
                         code="separation_of_duties")
    other = acted_stages(article, actor) - {stage}
    if other:
        return Forbidden(f"同一稿件一人只能在一个审核环节操作，您已在第 {min(other)} 审操作过 "
                         f"(you acted at stage {min(other)} of this article)",
                         code="separation_of_duties")
    return None


def review_article(actor: User, article: Article, decision: str, comment: str = "",
                   seen_hash: str | None = None) -> Article:
    """2nd review (reviewer) or sign-off (signer): approve or return with a reason."""
    _lock(article)
    refusal = review_refusal(actor, article)
    if refusal is not None:
        raise refusal
    stage = STAGE_OF_STATUS[article.status]
    if seen_hash and seen_hash != article.content_hash:
        raise RuleConflict("稿件在您查看后已被修改，请重新审阅 (the article changed since you saw it)",
                           code="revision_changed")
    comment = (comment or "").strip()
    if decision == "reject" and not comment:
        raise Invalid("退回须说明理由 (comment: a return needs a reason)",
                      fields={"comment": "a return needs a reason"})
    if decision == "approve":
        _require_prior_approvals(article, stage)
        blocking = checks.blocking(run_article_checks(article))
        if blocking:
            db.session.flush()
            raise RuleConflict("稿件未通过自动检查，不能通过 (checks_failed)", code="checks_failed",
                               extra={"checks": blocking})
    db.session.add(ArticleReview(
        article_id=article.id, round=article.round, stage=stage, decision=decision,
        user_id=actor.id, name=actor.display_name or actor.username, comment=comment,
        revision=article.revision, content_hash=article.content_hash))
    before = article.status
    if decision == "reject":
        article.status = "returned"
    elif stage == 2:
        article.status = "pending_signoff"
    else:
        _approve(article)
    db.session.flush()
    action = {"reject": "article.return", "approve": "article.review" if stage == 2
              else "article.signoff"}[decision]
    audit.record(action, "article", article.id, before={"status": before},
                 after={"status": article.status, "stage": stage, "round": article.round,
                        "revision": article.revision, "content_hash": article.content_hash,
                        "comment": comment}, unit_id=article.unit_id, user=actor)
    return article


def _require_prior_approvals(article: Article, stage: int) -> None:
    # Approvals bind to the revision: every earlier stage of this round saw this very hash.
    current = [r for r in article.reviews if r.round == article.round and r.voided_at is None]
    for earlier in range(1, stage):
        if not any(r.stage == earlier and r.decision in ("submit", "approve")
                   and r.content_hash == article.content_hash for r in current):
            raise RuleConflict("前一审核环节未审阅当前版本 (an earlier stage did not see this revision)",
                               code="invalid_transition")


def _approve(article: Article) -> list[Delivery]:
    """Approved: one queued delivery per target, in this same transaction; the caller
    enqueues them after commit (publisher.delivery.dispatch) and the sweep catches any that
    could not be. A fixed revision goes only to the targets without a sent delivery."""
    accounts = db.session.scalars(select(Account).where(
        Account.id.in_(article.target_account_ids or []))).all()
    unavailable = [a.id for a in accounts if a.status != "active"]
    if unavailable or len(accounts) != len(set(article.target_account_ids or [])):
        raise RuleConflict(f"发布账号 {unavailable[:1] or ''} 已不可用 (a target account is no "
                           "longer active)", code="invalid_target",
                           fields={"target_account_ids": "no longer active: "
                                   + ", ".join(map(str, unavailable))})
    article.status = "approved"
    article.approved_at = utcnow()
    reached = set(db.session.scalars(select(Delivery.account_id).where(
        Delivery.article_id == article.id, Delivery.status == "sent"))) if article.id else set()
    # A scheduled publish time: the delivery is due then (RQ's scheduler, and the sweep).
    due = article.publish_at if article.publish_at and article.publish_at > utcnow() else None
    rows = []
    for account in sorted(accounts, key=lambda a: article.target_account_ids.index(a.id)):
        if account.id in reached:
            continue
        row = Delivery(article_id=article.id, account_id=account.id, platform=account.platform,
                       revision=article.revision, content_hash=article.content_hash,
                       status="queued", attempts=0, platform_ids={}, next_attempt_at=due)
        db.session.add(row)
        rows.append(row)
    if not rows and reached:
        from .delivery import outcome

        db.session.flush()
        article.status = outcome(article)
    return rows


def queued_delivery_ids(article: Article) -> list[int]:
    """The deliveries a sign-off (or push) just created, for the caller to enqueue after
    commit."""
    return list(db.session.scalars(select(Delivery.id).where(
        Delivery.article_id == article.id, Delivery.revision == article.revision,
        Delivery.status == "queued", Delivery.enqueued_at.is_(None))))


def get_article(actor: User, article_id: int) -> Article:
    article = db.session.get(Article, article_id)
    if article is None:
        raise NotFound("稿件不存在 (article not found)")
    require_unit_access(actor, article.unit_id)
    return article


def articles_query(actor: User, *, status: str | None = None, unit_id: int | None = None):
    query = scope_query(select(Article), Article.unit_id, actor, unit_id)
    if status:
        query = query.where(Article.status == status)
    return query.order_by(Article.updated_at.desc(), Article.id.desc())


def queues(actor: User) -> dict[str, list[Article]]:
    """What waits for this person: to review, to sign, returned to them, their drafts."""
    base = articles_query(actor)
    result = {"to_review": [], "to_sign": [], "returned": [], "drafts": []}
    if actor.has_role("admin", "reviewer", "signer"):
        waiting = db.session.scalars(base.where(or_(Article.status == "pending_review",
                                                    Article.status == "pending_signoff"))).all()
        for article in waiting:
            if review_refusal(actor, article) is None:
                key = "to_review" if article.status == "pending_review" else "to_sign"
                result[key].append(article)
    mine = db.session.scalars(base.where(Article.created_by_id == actor.id,
                                         Article.status.in_(("returned", "draft")))).all()
    for article in mine:
        result["returned" if article.status == "returned" else "drafts"].append(article)
    return result


def history(article: Article) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "article",
                                                       AuditEntry.object_id == article.id)
                              .order_by(AuditEntry.id)).all()
