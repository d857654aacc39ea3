"""Comments anchored to a passage: a reviewer, at the stage where they may act, selects a
passage of the body and says what is wrong with it. The quoted text and its place in the
body's text are kept with the revision, the round and the stage; the drafter reads them with
the return, and the page marks them in the body."""
import nh3
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from govmedia import audit
from govmedia.errors import Invalid
from govmedia.extensions import db
from govmedia.models import User
from registry.serialize import iso

from ..content import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES
from ..models import Article, ArticleComment
from ..passages import body_text, mark_ranges
from .articles import lock
from .review import STAGE_OF_STATUS, require_seen, review_refusal

MAX_QUOTE = 1000
MAX_TEXT = 2000


def _locate(text: str, quote: str, start: int | None) -> int:
    """Where the quote is in the body's text: at `start` if it is there (what the browser
    measured), else its occurrence nearest to it."""
    if start is not None and 0 <= start and text[start:start + len(quote)] == quote:
        return start
    found, at = [], text.find(quote)
    while at != -1:
        found.append(at)
        at = text.find(quote, at + 1)
    if not found:
        raise Invalid(_("The quoted passage is not in the body of this revision"),
                      fields={"quote": "not in the body"})
    return min(found, key=lambda position: abs(position - (start or 0)))


def add_comment(actor: User, article: Article, text: str, quote: str,
                start: int | None = None, seen_hash: str | None = None) -> ArticleComment:
    """A comment on a passage of the body, by whoever may act at the article's stage."""
    lock(article)
    refusal = review_refusal(actor, article)
    if refusal is not None:
        raise refusal
    require_seen(article, seen_hash)
    text, quote = (text or "").strip(), (quote or "")
    if not quote.strip():
        raise Invalid(_("Select a passage of the body to comment on"),
                      fields={"quote": "select a passage of the body"})
    if len(quote) > MAX_QUOTE:
        raise Invalid(_("The quoted passage is longer than %(n)s characters", n=MAX_QUOTE),
                      fields={"quote": f"at most {MAX_QUOTE} characters"})
    if not text:
        raise Invalid(_("Write what is wrong with the passage"),
                      fields={"text": "a comment needs its text"})
    if len(text) > MAX_TEXT:
        raise Invalid(_("The comment is longer than %(n)s characters", n=MAX_TEXT),
                      fields={"text": f"at most {MAX_TEXT} characters"})
    start = _locate(body_text(article.body_html), quote, start)
    stage = STAGE_OF_STATUS[article.status]
    comment = ArticleComment(
        article_id=article.id, revision=article.revision, content_hash=article.content_hash,
        round=article.round, stage=stage, user_id=actor.id,
        name=actor.display_name or actor.username, quote=quote, quote_start=start,
        quote_end=start + len(quote), text=text)
    db.session.add(comment)
    db.session.flush()
    audit.record("article.comment", "article", article.id,
                 after={"revision": article.revision, "stage": stage, "quote": quote,
                        "comment": text}, unit_id=article.unit_id, user=actor)
    return comment


def comments_of(article: Article) -> list[ArticleComment]:
    return db.session.scalars(select(ArticleComment).where(
        ArticleComment.article_id == article.id).order_by(ArticleComment.id)).all()


def marked_body(article: Article, comments: list[ArticleComment]) -> Markup:
    """The body with the passages commented on in this revision marked (older revisions'
    comments are listed, not marked: their text may have moved)."""
    ranges = [(c.quote_start, c.quote_end, {"class": "comment-anchor",
                                            "data-comments": str(c.id)})
              for c in comments if c.revision == article.revision]
    marked = mark_ranges(article.body_html or "", ranges)
    return Markup(nh3.clean(marked, tags=ALLOWED_TAGS | {"mark"},
                            attributes=dict(ALLOWED_ATTRIBUTES, mark={"class", "data-comments"}),
                            url_schemes=URL_SCHEMES, link_rel="noopener noreferrer"))


def comment_json(comment: ArticleComment) -> dict:
    return {"id": comment.id, "revision": comment.revision, "round": comment.round,
            "stage": comment.stage, "user_id": comment.user_id, "name": comment.name,
            "quote": comment.quote, "start": comment.quote_start, "end": comment.quote_end,
            "text": comment.text, "at": iso(comment.at)}
