"""Request bodies of the interaction API."""
from typing import Annotated

from pydantic import StringConstraints

from govmedia.schemas import Strict


class ReplyIn(Strict):
    # The platform's own limit (Weibo 140) is checked by the service, which knows the message.
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]
    answer_id: int | None = None   # the reference answer the reply is based on: counted


class AssignIn(Strict):
    assignee_id: int | None     # a person of the message's unit who may reply; null: nobody


Topic = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AnswerText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class AnswerIn(Strict):
    topic: Topic
    answer: AnswerText | None = None       # default: the reply sent to `message_id`
    message_id: int | None = None
    unit_id: int | None = None
    question: AnswerText | None = None


class AnswerPatch(Strict):
    topic: Topic | None = None
    answer: AnswerText | None = None
    retired: bool | None = None
