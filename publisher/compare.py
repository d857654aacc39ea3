"""The version that was returned beside the one resubmitted: the text of every submitted
revision is kept (ArticleRevision), and two revisions compare field by field — title,
digest, body paragraph by paragraph, and inside a changed paragraph character by character
(Chinese has no spaces to split words on)."""
from difflib import SequenceMatcher

from flask_babel import gettext as _
from sqlalchemy import select

from govmedia.errors import NotFound
from govmedia.extensions import db

from .models import Article, ArticleReview, ArticleRevision
from .passages import paragraphs


def record_revision(article: Article) -> ArticleRevision:
    """Keep the text of the article's current revision (once per revision)."""
    row = db.session.scalar(select(ArticleRevision).where(
        ArticleRevision.article_id == article.id, ArticleRevision.revision == article.revision))
    if row is None:
        row = ArticleRevision(article_id=article.id, revision=article.revision,
                              content_hash=article.content_hash, title=article.title or "",
                              digest=article.digest, body_html=article.body_html or "")
        db.session.add(row)
        db.session.flush()
    return row


def returned_revision(article: Article) -> int | None:
    """The revision of the article's latest return, or None if it was never returned."""
    return db.session.scalar(select(ArticleReview.revision).where(
        ArticleReview.article_id == article.id, ArticleReview.decision == "reject")
        .order_by(ArticleReview.id.desc()).limit(1))


def _segments(text: str, spans) -> list[dict]:
    return [{"text": text[a:b], "changed": changed} for a, b, changed in spans if b > a]


def _inline(old: str, new: str) -> tuple[list[dict], list[dict]]:
    """One changed line on each side, what was deleted and what was inserted marked."""
    old_spans, new_spans = [], []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        old_spans.append((i1, i2, tag != "equal"))
        new_spans.append((j1, j2, tag != "equal"))
    return _segments(old, old_spans), _segments(new, new_spans)


def _whole(text: str, changed: bool) -> list[dict]:
    return [{"text": text, "changed": changed}]


def diff_lines(old: list[str], new: list[str]) -> list[dict]:
    """Rows of the two columns: {"op": equal|replace|delete|insert, "old", "new"}, each side
    a list of {"text", "changed"} segments (None where the side has no line)."""
    rows = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [{"op": "equal", "old": _whole(a, False), "new": _whole(b, False)}
                     for a, b in zip(old[i1:i2], new[j1:j2], strict=True)]
            continue
        left, right = old[i1:i2], new[j1:j2]
        paired = min(len(left), len(right)) if tag == "replace" else 0
        for a, b in zip(left[:paired], right[:paired], strict=True):
            old_segments, new_segments = _inline(a, b)
            rows.append({"op": "replace", "old": old_segments, "new": new_segments})
        rows += [{"op": "delete", "old": _whole(a, True), "new": None} for a in left[paired:]]
        rows += [{"op": "insert", "old": None, "new": _whole(b, True)} for b in right[paired:]]
    return rows


def _side(title, digest, body_html) -> dict:
    return {"title": [title] if title else [], "digest": [digest] if digest else [],
            "body": paragraphs(body_html)}


def compare(article: Article, from_revision: int | None = None) -> dict:
    """The kept text of `from_revision` (default: the revision last returned) beside the
    article's current text. NotFound when that revision's text was not kept."""
    if from_revision is None:
        from_revision = returned_revision(article)
        if from_revision is None:
            raise NotFound(_("This article was never returned: there is no version to compare "
                             "with"), fields={"from": "no returned revision"})
    old = db.session.scalar(select(ArticleRevision).where(
        ArticleRevision.article_id == article.id, ArticleRevision.revision == from_revision))
    if old is None:
        raise NotFound(_("The text of revision %(n)s was not kept", n=from_revision),
                       fields={"from": f"revision {from_revision} not kept"})
    before = _side(old.title, old.digest, old.body_html)
    after = _side(article.title, article.digest, article.body_html)
    fields = [{"field": name, "rows": diff_lines(before[name], after[name])}
              for name in ("title", "digest", "body")]
    return {"from": {"revision": old.revision, "content_hash": old.content_hash},
            "to": {"revision": article.revision, "content_hash": article.content_hash},
            "changed": any(row["op"] != "equal" for f in fields for row in f["rows"]),
            "fields": fields}


def page_comparison(article: Article) -> dict | None:
    """For the article page: the returned version beside the current one, once the drafter
    has changed it (None before, or when the returned text was not kept)."""
    returned = returned_revision(article)
    if returned is None or returned == article.revision:
        return None
    try:
        return compare(article, returned)
    except NotFound:
        return None
