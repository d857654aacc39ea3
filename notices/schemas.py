"""Request bodies of the notices API (validated strictly, like the registry's)."""
from datetime import date
from typing import Annotated, Literal

from pydantic import StringConstraints

from govmedia.schemas import Strict

NoticeText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=5000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class AmendmentIn(Strict):
    text: NoticeText
    note: Note | None = None


class WithdrawIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2,
                                             max_length=2000)]


class TakedownIn(Strict):
    kind: Literal["store", "link"]
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class TakedownDoneIn(Strict):
    done_on: date
