"""Request bodies of the publisher API, validated strictly; pages validate with the same models."""
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from registry.schemas import Strict

from .checks import RULES, SELF_CHECK_ITEMS
from .models import TERM_LISTS

Rule = Literal[tuple(RULES)]  # type: ignore[valid-type]
CheckItem = Literal[SELF_CHECK_ITEMS]  # type: ignore[valid-type]
TermList = Literal[TERM_LISTS]  # type: ignore[valid-type]


def _text(max_length: int, min_length: int = 0):
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length,
                                            max_length=max_length)]


class ReviewRecordItem(Strict):
    stage: Literal[1, 2, 3]
    name: _text(80, 1)
    reviewed_at: AwareDatetime


class ArticleIn(Strict):
    # An empty title is saved and reported by the checks (missing_title), not refused here.
    title: _text(200) = ""
    body_html: Annotated[str, StringConstraints(max_length=500_000)]
    digest: _text(500) | None = None
    author: _text(80) | None = None
    source_url: _text(1000) | None = None
    # The Weibo post text (the title when absent); the link to source_url is appended.
    weibo_text: _text(500) | None = None
    cover_image_base64: str | None = None
    # An uploaded video (POST /api/v1/videos); its frame is the cover when none is given.
    video_id: int | None = None
    target_account_ids: list[int] = Field(min_length=1, max_length=50)
    publish_at: AwareDatetime | None = None
    # WeChat targets: 发布 "publish" or 群发 "mass" for this article; absent: each account's own.
    wechat_mode: Literal["publish", "mass"] | None = None
    review_record: list[ReviewRecordItem] | None = Field(default=None, max_length=10)


class ArticleUpdate(ArticleIn):
    """PUT: the whole article again; the cover stays unless replaced or removed."""

    remove_cover: bool = False
    remove_video: bool = False


class SubmitIn(Strict):
    confirmations: list[Rule] = Field(default_factory=list, max_length=len(RULES))
    # The self-check of rule 8, item by item; pages always send it, API clients may.
    checklist: list[CheckItem] | None = None


class ReviewIn(Strict):
    decision: Literal["approve", "reject"]
    comment: _text(2000) = ""
    # The revision the reviewer saw; a different current revision is 409 revision_changed.
    content_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


class CommentIn(Strict):
    quote: _text(2000)             # the passage of the body, as it reads
    text: _text(2000)
    start: int | None = None       # where the passage starts in the body's text (a repeat)
    content_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


class TermsIn(Strict):
    add: list[_text(100)] = Field(default_factory=list, max_length=100_000)
    remove: list[_text(100)] = Field(default_factory=list, max_length=100_000)


class SeveritiesIn(Strict):
    severities: dict[Rule, Literal["block", "warn"]]


class WithdrawIn(Strict):
    """撤稿: the reason is kept with the article and in the audit trail."""

    reason: _text(1000, 1)
