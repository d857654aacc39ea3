"""An article's content: sanitized markup, the checks' view of it, the hash reviewers approve."""
import hashlib
import json
import re

import nh3
from sqlalchemy import select

from govmedia.extensions import db
from registry.models import Account

from . import checks
from .check_lists import current_rules
from .models import Article, ArticleImage
from .targets import task_targets
from .videos import limit_findings

ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "s", "h2", "h3", "h4", "blockquote",
                "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
                "span", "sub", "sup", "hr", "figure", "figcaption"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"},
                      "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
URL_SCHEMES = {"http", "https", "mailto"}


# A picture uploaded with the editor's image button (covers.BODY_IMAGE_PATH).
_BODY_IMAGE = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["'](/articles/images/(\d+))["']""",
                         re.IGNORECASE)
_IMG_WITHOUT_SRC = re.compile(r"<img\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def _image_source(tag: str, attribute: str, value: str) -> str | None:
    # An image the adapters can fetch: an absolute http(s) address or a path of this site.
    # Anything else ("x", "//host/…", "data:…") would 404 in the page and fail at the platform.
    if tag == "img" and attribute == "src":
        if value.startswith(("http://", "https://")) or (
                value.startswith("/") and not value.startswith("//")):
            return value
        return None
    return value


def sanitize_html(value: str) -> str:
    """Keep the article markup a WeChat article can carry; drop scripts, styles, event
    handlers and javascript: links (nh3, the Rust ammonia sanitizer), and images without an
    address one can fetch."""
    cleaned = nh3.clean(value or "", tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                        url_schemes=URL_SCHEMES, link_rel="noopener noreferrer",
                        attribute_filter=_image_source)
    return _IMG_WITHOUT_SRC.sub("", cleaned).strip()


def _platforms(article: Article) -> frozenset:
    if not article.target_account_ids:
        return frozenset()
    rows = db.session.scalars(select(Account.platform).where(
        Account.id.in_(article.target_account_ids)))
    return frozenset(rows)


def _api_platforms(article: Article) -> frozenset:
    """The platforms the product publishes to by API: a target that becomes a publishing task
    (never-authorised Douyin, no adapter) is posted by hand, in any form the platform takes."""
    if not article.target_account_ids:
        return frozenset()
    accounts = list(db.session.scalars(select(Account).where(
        Account.id.in_(article.target_account_ids))))
    by_hand = task_targets(accounts)
    return frozenset(a.platform for a in accounts if a.id not in by_hand)


def content_of(article: Article) -> checks.Content:
    return checks.Content(title=article.title or "", body_html=article.body_html or "",
                          digest=article.digest, author=article.author,
                          source_url=article.source_url, weibo_text=article.weibo_text,
                          has_cover=article.cover_id is not None or article.cover is not None,
                          platforms=_platforms(article),
                          cover_size=article.cover.size if article.cover is not None else None,
                          cover_mime=article.cover.mime if article.cover is not None else None,
                          pictures=body_picture_facts(article.body_html))


def body_picture_facts(body_html: str | None) -> tuple:
    """(src, mime, size) of the body's pictures uploaded with the editor's image button, whose
    address tells no file type: the platforms' limits judge them by what they are."""
    ids = {int(m.group(2)): m.group(1) for m in _BODY_IMAGE.finditer(body_html or "")}
    if not ids:
        return ()
    rows = db.session.execute(select(ArticleImage.id, ArticleImage.mime, ArticleImage.size)
                              .where(ArticleImage.id.in_(list(ids))))
    return tuple((ids[row.id], row.mime, row.size) for row in rows)


def run_article_checks(article: Article) -> list[dict]:
    version, matcher, severities = current_rules()
    findings = checks.run_checks(content_of(article), matcher, severities)
    severity = (severities or {}).get("video_limits", "block")
    findings += [f | {"severity": severity}
                 for f in limit_findings(article.video, _platforms(article),
                                         _api_platforms(article),
                                         has_cover=article.cover is not None)]
    article.checks = findings
    article.checks_version = version
    return findings


def compute_hash(article: Article) -> str:
    """What the reviewers approve: every field that reaches a platform (the cover's and the
    video's exact bytes by their SHA-256), and the targets."""
    cover = article.cover.sha256 if article.cover is not None else None
    payload = {"title": article.title, "body_html": article.body_html, "digest": article.digest,
               "author": article.author, "source_url": article.source_url,
               "weibo_text": article.weibo_text, "cover": cover,
               "targets": sorted(article.target_account_ids or []),
               "publish_at": article.publish_at.isoformat() if article.publish_at else None}
    if article.video is not None:  # (absent without one: the hashes of older articles stand)
        payload["video"] = article.video.sha256
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()
