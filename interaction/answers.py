"""The knowledge base of reference answers (答复口径): saved from answered messages, offered
for similar new ones, edited, retired, and counted each time a reply uses one.

Chinese has no spaces, so the question and topic are cut into words with jieba and stored
space-separated in `terms`; PostgreSQL's own full-text search ('simple' configuration, a GIN
index) then ranks the answers sharing the most words with a new message.
"""
from __future__ import annotations

import re

import jieba
from flask_babel import gettext as _
from sqlalchemy import desc, func, select, update

from govmedia import audit
from govmedia.auth import get_in_unit, require_roles, require_unit_access, scope_query
from govmedia.errors import Invalid
from govmedia.extensions import db
from govmedia.listing import search
from govmedia.models import User

from .models import Message, ReferenceAnswer

SUGGESTIONS = 5
TOPIC_MAX, TEXT_MAX = 200, 2000   # as interaction.schemas: the same limits on the pages
_WORD = re.compile(r"\w", re.UNICODE)
# Words too common in messages to the government to tell two questions apart.
_STOP = {"请问", "您好", "你好", "怎么", "什么", "如何", "哪里", "可以", "需要", "一下", "我们",
         "你们", "谢谢", "是否", "没有", "现在", "这个", "那个", "的", "了", "吗", "呢", "啊"}


def terms_of(*texts: str) -> list[str]:
    """The distinct words of the texts (jieba's search mode also yields the parts of long
    words: 公积金 gives 公积, 积金 and 公积金), without punctuation and stop words."""
    words = []
    for text in texts:
        for word in jieba.cut_for_search(text or ""):
            word = word.strip().lower()
            if word and _WORD.search(word) and word not in _STOP and word not in words:
                words.append(word)
    return words


def _query_of(words: list[str], joiner: str):
    # websearch syntax: "a b c" needs every word, "a or b or c" any one; its parser drops
    # anything that is not a word.
    return func.websearch_to_tsquery("simple", joiner.join(words))


def _ranked(unit_id: int, query, limit: int, skip=()) -> list:
    vector = ReferenceAnswer.terms_tsv
    rank = func.ts_rank(vector, query).label("rank")
    statement = (select(ReferenceAnswer, rank).where(
        ReferenceAnswer.unit_id == unit_id, ReferenceAnswer.retired.is_(False),
        vector.op("@@")(query))
        .order_by(desc("rank"), ReferenceAnswer.uses.desc(), ReferenceAnswer.id).limit(limit))
    if skip:
        statement = statement.where(ReferenceAnswer.id.not_in(skip))
    return db.session.execute(statement).all()


def suggestions(message: Message, limit: int = SUGGESTIONS) -> list[tuple[ReferenceAnswer, float]]:
    """The unit's active answers closest to the message, best first, with their rank. Answers
    that hold every word of the message come first (few rows to rank: fast over a large
    base), then those that hold some of them."""
    words = terms_of(message.text)
    if not words:
        return []
    rows = _ranked(message.unit_id, _query_of(words, " "), limit) if len(words) > 1 else []
    if len(rows) < limit:
        rows += _ranked(message.unit_id, _query_of(words, " or "), limit - len(rows),
                        skip=[answer.id for answer, _rank in rows])
    return [(answer, float(score)) for answer, score in rows]


def answers_query(actor: User, *, unit_id: int | None = None, include_retired: bool = False,
                  q: str | None = None):
    """The answers of the units in reach, most used first; `q`: those whose topic, question
    or answer holds it."""
    query = scope_query(select(ReferenceAnswer), ReferenceAnswer.unit_id, actor, unit_id)
    if not include_retired:
        query = query.where(ReferenceAnswer.retired.is_(False))
    query = search(query, q, ReferenceAnswer.topic, ReferenceAnswer.question,
                   ReferenceAnswer.answer)
    return query.order_by(ReferenceAnswer.uses.desc(), ReferenceAnswer.id)


def get_answer(actor: User, answer_id: int) -> ReferenceAnswer:
    return get_in_unit(actor, ReferenceAnswer, answer_id, _("No such reference answer"))


def _check_writer(actor: User, unit_id: int) -> None:
    require_roles(actor, "sponsor", "editor")
    require_unit_access(actor, unit_id)


def _checked(field: str, value: str | None, limit: int, *, missing: str | None = None) -> str:
    """A text field stripped and within its limit (the API's schema says the same); `missing`:
    the message when it must not be empty."""
    value = (value or "").strip()
    if missing is not None and not value:
        raise Invalid(missing, fields={field: "required"})
    if len(value) > limit:
        raise Invalid(_("At most %(n)s characters", n=limit),
                      fields={field: f"at most {limit} characters"})
    return value


def save_answer(actor: User, *, topic: str, answer: str, unit_id: int | None = None,
                question: str = "", message: Message | None = None) -> ReferenceAnswer:
    """A new reference answer; from a message, its unit and text (and the reply sent to it
    when no answer text is given)."""
    if message is not None:
        unit_id, question = message.unit_id, question or message.text
        sent = [r.text for r in message.replies if r.status == "sent"]
        answer = answer or (sent[-1] if sent else "")
    if unit_id is None:
        raise Invalid(_("Name the unit or the message the answer belongs to"),
                      fields={"unit_id": "required without message_id"})
    _check_writer(actor, unit_id)
    topic = _checked("topic", topic, TOPIC_MAX, missing=_("Give the reference answer a topic"))
    answer = _checked("answer", answer, TEXT_MAX, missing=_("The answer text is empty"))
    question = _checked("question", question, TEXT_MAX)
    row = ReferenceAnswer(unit_id=unit_id, topic=topic, question=question, answer=answer,
                          terms=" ".join(terms_of(topic, question)), created_by_id=actor.id,
                          source_message_id=message.id if message is not None else None)
    db.session.add(row)
    db.session.flush()
    audit.record("answer.create", "reference_answer", row.id, after={"topic": topic},
                 unit_id=unit_id, user=actor)
    return row


def change_answer(actor: User, row: ReferenceAnswer, *, topic: str | None = None,
                  answer: str | None = None, retired: bool | None = None) -> ReferenceAnswer:
    _check_writer(actor, row.unit_id)
    before = {"topic": row.topic, "answer": row.answer, "retired": row.retired}
    if topic is not None:
        row.topic = _checked("topic", topic, TOPIC_MAX,
                             missing=_("Give the reference answer a topic"))
    if answer is not None:
        row.answer = _checked("answer", answer, TEXT_MAX, missing=_("The answer text is empty"))
    if retired is not None:
        row.retired = retired
    row.terms = " ".join(terms_of(row.topic, row.question))
    db.session.flush()
    audit.record("answer.change", "reference_answer", row.id, before=before,
                 after={"topic": row.topic, "answer": row.answer, "retired": row.retired},
                 unit_id=row.unit_id, user=actor)
    return row


def count_use(actor: User, answer_id: int, message: Message) -> None:
    """A reply used this answer: counted once per reply, in the reply's transaction."""
    row = get_answer(actor, answer_id)
    if row.unit_id != message.unit_id or row.retired:
        raise Invalid(_("That reference answer is not one of this unit's current answers"),
                      fields={"answer_id": "not an active answer of the message's unit"})
    db.session.execute(update(ReferenceAnswer).where(ReferenceAnswer.id == row.id)
                       .values(uses=ReferenceAnswer.uses + 1))
