"""What a send job sends, decoded once per worker, and the checks that may stop it at the last moment.

The content hash binds every field that reaches a platform (and the cover's sha256, and the
targets), so an entry keyed by (article id, content hash) can never be stale. Refusals are
cached per rules version as well.
"""
import copy
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import bindparam, select

from adapters import Content
from govmedia.extensions import db
from govmedia.wording import N_, message

from .. import checks
from ..check_lists import current_rules
from ..content import content_of
from ..models import Article, ArticleImage, ArticleVideo, CheckConfig
from ..videos import video_dir

CACHE_SIZE = 64
_CONTENT: "OrderedDict[tuple, tuple]" = OrderedDict()
_REFUSALS: "OrderedDict[tuple, str | None]" = OrderedDict()
# The article's columns a send needs (the claim returns them on a cache miss).
CONTENT_COLUMNS = ("title", "body_html", "digest", "author", "source_url", "weibo_text",
                   "checks", "checks_version", "cover_mime", "cover_data", "video_file",
                   "video_sha256", "video_size")

CONTENT_QUERY = (
    select(Article.id, Article.content_hash, Article.title, Article.body_html, Article.digest,
           Article.author, Article.source_url, Article.weibo_text, Article.checks,
           Article.checks_version, ArticleImage.mime.label("cover_mime"),
           ArticleImage.data.label("cover_data"), ArticleVideo.filename.label("video_file"),
           ArticleVideo.sha256.label("video_sha256"), ArticleVideo.size.label("video_size"))
    .outerjoin(ArticleImage, ArticleImage.id == Article.cover_id)
    .outerjoin(ArticleVideo, ArticleVideo.id == Article.video_id)
    .where(Article.id == bindparam("article_id")))


def rules_version():
    """The content-check rules' version, read with the claim (a word banned since sign-off
    must stop the send; every change of the lists or severities gets a new version)."""
    return (select(CheckConfig.version).where(CheckConfig.id == 1).scalar_subquery()
            .label("rules_version"))


@dataclass(frozen=True)
class StoredChecks:
    """The findings stored on the article with the rules' version they were found under:
    every change of the content and every review stage runs the checks and stores them, so
    for the approved revision they are the checks of exactly what is sent."""

    version: str | None
    findings: tuple


def _remember(cache: OrderedDict, key, value):
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return value


def cached_article_ids() -> list[int]:
    """The articles this worker holds (the claim leaves their content out)."""
    return sorted({article_id for article_id, _hash in list(_CONTENT)})


def adapter_content(article) -> tuple[Content, StoredChecks]:
    """(adapter Content, stored checks) from a row with the article's content columns."""
    cover = (SimpleNamespace(mime=article.cover_mime, data=article.cover_data)
             if article.cover_data is not None else None)
    ext = {"image/png": "png", "image/gif": "gif"}.get(cover.mime, "jpg") if cover else None
    text = checks.Content(title=article.title or "", source_url=article.source_url,
                          weibo_text=article.weibo_text)
    content = Content(article_id=article.id, revision=article.content_hash, title=article.title,
                      body_html=article.body_html, digest=article.digest or "",
                      author=article.author or "", source_url=article.source_url,
                      cover_image=cover.data if cover else None,
                      cover_filename=f"cover-{article.id}.{ext}" if cover else None,
                      weibo_text=checks.weibo_post(text),
                      video_path=(os.path.join(video_dir(), article.video_file)
                                  if article.video_file else None),
                      video_sha256=article.video_sha256, video_size=article.video_size)
    return content, StoredChecks(article.checks_version, tuple(article.checks or ()))


def remember_claimed(row) -> None:
    """Keep the content a claim brought along (a cache miss rides on the claim)."""
    article = SimpleNamespace(id=row.article_id, content_hash=row.article_hash,
                              **{name: getattr(row, name) for name in CONTENT_COLUMNS})
    _remember(_CONTENT, (row.article_id, row.article_hash), adapter_content(article))


# An image inserted with the editor's image button (publisher/covers.py BODY_IMAGE_PATH).
_BODY_IMAGE = re.compile(r'<img\b[^>]*?\bsrc="(/articles/images/(\d+))"')


def with_body_images(content: Content, conn) -> Content:
    """The bytes of the body's own images, keyed by their src (the adapters upload them from
    there as from any other source; an image of an http(s) address they download)."""
    wanted = {src: int(number) for src, number in _BODY_IMAGE.findall(content.body_html or "")
              if src not in content.images}
    if wanted:
        rows = conn.execute(select(ArticleImage.id, ArticleImage.data).where(
            ArticleImage.id.in_(set(wanted.values()))))
        data = {row.id: row.data for row in rows}
        content.images = {**content.images, **{src: data[number] for src, number
                                                in wanted.items() if number in data}}
    return content


def cached_content(article_id: int, content_hash: str, conn) -> tuple[Content, StoredChecks]:
    """The article as approved at content_hash; a miss is one query on the job's connection."""
    key = (article_id, content_hash)
    hit = _CONTENT.get(key)
    if hit is None:
        article = conn.execute(CONTENT_QUERY, {"article_id": article_id}).first()
        if article.content_hash != content_hash:  # changed since the claim read it: no caching
            content, checked = adapter_content(article)
            return with_body_images(content, conn), checked
        hit = _remember(_CONTENT, key, adapter_content(article))
    _CONTENT.move_to_end(key)
    # a job of its own may not alter the cached one
    return with_body_images(copy.copy(hit[0]), conn), hit[1]


def pre_send_refusal(article_hash: str, delivery_hash: str, article_id: int,
                     stored: StoredChecks, version: str) -> dict | None:
    """Why this revision may not go out now (None: it may)."""
    if delivery_hash != article_hash:
        return message(N_("The article changed: this delivery's revision is no longer sent; "
                          "the changed article goes through the three reviews again"))
    key = (article_id, article_hash, version)
    if key in _REFUSALS:
        return _REFUSALS[key]
    if stored.version == version:  # the rules have not changed since the last check
        findings = list(stored.findings)
    else:  # a list or a severity changed since: check again with the rules as they are now
        version, matcher, severities = current_rules()
        key = (article_id, article_hash, version)
        article = db.session.get(Article, article_id)
        findings = checks.run_checks(content_of(article), matcher, severities)
    blocking = checks.blocking(findings)
    refusal = None
    if blocking:
        refusal = message(N_("The checks before sending found content that may not be "
                             "published: %(findings)s"),
                          findings="；".join(f.get("message", f["rule"]) for f in blocking[:3]))
    return _remember(_REFUSALS, key, refusal)
