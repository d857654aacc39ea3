"""Request bodies of the registry API, validated strictly; the OpenAPI document is built from them.

The strict base model and the users' and tokens' bodies are the core's (govmedia/schemas.py)."""
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, field_validator

from govmedia.schemas import LongText, OptText, Strict, Text, opt_text

from .models import PLATFORMS

Platform = Literal[PLATFORMS]  # type: ignore[valid-type]


class Contact(Strict):
    name: Text
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = ""
    title: OptText = None


class UnitIn(Strict):
    name: Text
    code: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                           max_length=40)] | None = None
    parent_id: int | None = None
    leader: opt_text(80) = None
    deputy_leader: opt_text(80) = None
    office: OptText = None
    contacts: list[Contact] = Field(default_factory=list, max_length=50)


class UnitPatch(Strict):
    """PATCH /units/{id}: only the fields given change; a parent_id alone moves the unit."""
    name: Text | None = None   # may be left out, never null

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value):
        if value is None:
            raise ValueError("may be left out, never null")
        return value
    code: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                           max_length=40)] | None = None
    parent_id: int | None = None
    leader: opt_text(80) = None
    deputy_leader: opt_text(80) = None
    office: OptText = None
    contacts: list[Contact] | None = Field(default=None, max_length=50)


class PlatformExceptionIn(Strict):
    platform: Platform
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2000)]


class Staff(Strict):
    name: Text
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = ""
    platform_role: Literal["admin", "operator"] = "operator"


class AccountIn(Strict):
    unit_id: int
    platform: Platform
    name: Text
    handle: Text
    opened_on: date
    verified_subject: OptText = None
    verification_expires_on: date | None = None
    office: OptText = None
    staff: list[Staff] = Field(default_factory=list, max_length=50)
    filed_on: date | None = None
    filing_reference: opt_text(120) = None
    # A mobile client's (platform `app`) filing number with the cyberspace administration
    # (网信备案号) and version (issue 16); refused on other platforms.
    app_filing_number: opt_text(120) = None
    app_version: opt_text(40) = None
    # A WeChat official account's mode (发布 publish, default; 群发 mass) and type (订阅号
    # subscription, default; 服务号 service: the mass-send quota); refused on other platforms.
    wechat_mode: Literal["publish", "mass"] | None = None
    wechat_type: Literal["subscription", "service"] | None = None


class WechatOptionsIn(Strict):
    """PUT /accounts/{id}/wechat: how the account's articles go out and its type (a field
    left out keeps its value)."""
    wechat_mode: Literal["publish", "mass"] | None = None
    wechat_type: Literal["subscription", "service"] | None = None


class AppDetailsIn(Strict):
    """PUT /accounts/{id}/app: a mobile client's filing number and version (both replaced;
    an empty or missing filing number leaves the app flagged)."""
    app_filing_number: opt_text(120) = None
    app_version: opt_text(40) = None


class Changes(Strict):
    name: Text | None = None
    handle: Text | None = None
    unit_id: int | None = None


class TakedownItemIn(Strict):
    kind: Literal["store", "link"]
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class EventIn(Strict):
    kind: Literal["change", "close", "reopen", "deregister"]
    event_date: date
    reason: LongText = ""
    changes: Changes | None = None
    # Optional details of the public notice (notices/): why, where to go instead, whom to ask.
    reason_category: Literal["unit_abolished", "merged", "cannot_maintain"] | None = None
    successor: LongText | None = None
    contact: OptText = None
    internal_note: LongText | None = None     # kept in the record, never published
    publish_notice: bool = True               # closing needs no notice under 004; opt out here
    takedown: list[TakedownItemIn] = Field(default_factory=list, max_length=100)


class FilingComplete(Strict):
    filed_on: date
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=120)]


class PostIn(Strict):
    published_at: AwareDatetime
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None


class StatsIn(Strict):
    as_of: date
    followers: Annotated[int, Field(ge=0)]
    reads: Annotated[int, Field(ge=0)] | None = None


class WechatCredentials(Strict):
    app_id: Text
    app_secret: Text
    # The server callback's (API.md Interaction): WeChat's own formats, checked here so a typo
    # is a 400 now, not every message refused later.
    token: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{3,32}$")] | None = None
    encoding_aes_key: Annotated[str, StringConstraints(
        pattern=r"^[A-Za-z0-9+/]{43}$")] | None = None


class WeiboCredentials(Strict):
    access_token: Text
