"""Douyin (抖音) by its open platform: upload the video (in parts when large), create the
post, then wait for the platform's review; withdrawal deletes the post. An article without a
video goes out as an image-text post (图文) of its cover picture.

The HTTP calls, tokens and error codes are in adapters/douyin_client.py (docs/ADAPTERS.md).
A created post is visible only to its author until Douyin's review settles: the adapter then
raises `UnderReview` (an `UnconfirmedError`), and the job checks again later through the
queue's scheduler, never by sleeping.
"""
from __future__ import annotations

import hashlib
import os
import time
from datetime import datetime, timezone

from .base import Adapter, Content, ListedPost, PublishResult, SaveState
from .douyin_client import UNKNOWN_ITEM, DouyinClient
from .errors import PermanentError, RetryableError, UnconfirmedError
from .messages import N_, message

TEXT_MAX = 1000  # characters of the post's text (title, topics and mentions included)
UPLOAD_ID_SECONDS = 110 * 60  # an upload_id lives two hours: start again a little before
# video_status of /api/douyin/v1/video/video_data/: 4 under review, 5 public, 2 refused.
UNDER_REVIEW, PUBLIC, NOT_PUBLIC = 4, 5, 2
CHANGED_VIDEO = N_("The video file is not the one that was approved (%(how)s); upload the video "
                   "again and submit it for review")


class UnderReview(UnconfirmedError):
    """The post exists and Douyin is reviewing it: checked again after `retry_after`."""

    def __init__(self, item_id: str, retry_after: float):
        super().__init__(N_("Under Douyin's review (only the author sees the post for "
                            "now); updated when the review ends"))
        self.item_id = item_id
        self.retry_after = retry_after


def _check_bytes(path: str, size: int, content: Content) -> None:
    """The file is still the bytes the approval bound to (read in blocks, once, before the
    upload starts): a file changed on disk is never published."""
    if content.video_size is not None and size != content.video_size:
        raise PermanentError(CHANGED_VIDEO, params={"how": message(N_("its size differs"))})
    if content.video_sha256:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(block)
        if digest.hexdigest() != content.video_sha256:
            raise PermanentError(CHANGED_VIDEO,
                                 params={"how": message(N_("its content differs"))})


def post_text(content: Content) -> str:
    text = content.title
    if content.digest and content.digest not in text:
        text = f"{text} {content.digest}"
    return text[:TEXT_MAX]


class DouyinAdapter(Adapter):
    platform = "douyin"
    credential_fields = ("open_id", "access_token", "refresh_token")
    # Settings get_adapter passes as keyword arguments (lower-case names).
    extra_settings = ("DOUYIN_CLIENT_KEY", "DOUYIN_CLIENT_SECRET", "DOUYIN_PART_BYTES",
                      "DOUYIN_SINGLE_UPLOAD_MAX_BYTES", "DOUYIN_REVIEW_CHECK_SECONDS",
                      "DOUYIN_REFRESH_BEFORE_SECONDS")

    def __init__(self, credentials: dict, *, douyin_client_key: str = "",
                 douyin_client_secret: str = "", douyin_part_bytes: int = 20 * 1024 * 1024,
                 douyin_single_upload_max_bytes: int = 50 * 1024 * 1024,
                 douyin_review_check_seconds: float = 60.0,
                 douyin_refresh_before_seconds: float = 86400.0, **kwargs):
        super().__init__(credentials, **kwargs)
        self.part_bytes = max(1, int(douyin_part_bytes))
        self.single_max = int(douyin_single_upload_max_bytes)
        self.review_check = float(douyin_review_check_seconds)
        self.client = DouyinClient(self.credentials, base_url=self.base_url,
                                   timeout=self.timeout, client_key=douyin_client_key,
                                   client_secret=douyin_client_secret,
                                   refresh_before=float(douyin_refresh_before_seconds))

    @property
    def save_credentials(self):
        return self.client.on_credentials

    @save_credentials.setter
    def save_credentials(self, fn) -> None:
        """Called with the account's new tokens after a refresh (stored encrypted)."""
        self.client.on_credentials = fn

    # ---------------------------------------------------------------- publish
    def publish(self, content: Content, state: dict, save_state: SaveState) -> PublishResult:
        if state.get("revision") != content.revision:
            state.clear()
            state["revision"] = content.revision
        if not state.get("item_id"):
            if content.video_path:
                self._upload(content, state, save_state)
                data = self.client.call("POST", "/video/create/",
                                        N_("creating the Douyin video post"),
                                        commits=True,
                                        json={"video_id": state["video_id"],
                                              "text": post_text(content)})
            elif content.cover_image:
                # An image-text post (图文): the article's cover picture with the post's text.
                self._upload_image(content, state, save_state)
                data = self.client.call("POST", "/image/create/",
                                        N_("creating the Douyin image post"),
                                        commits=True,
                                        json={"image_id": state["image_id"],
                                              "text": post_text(content)})
            else:
                raise PermanentError(N_("A Douyin post needs a video or a picture: this article "
                                        "has neither a video nor a cover picture; add one and "
                                        "submit it for review again"))
            state["item_id"] = str(data["item_id"])
            save_state(state)
        return self._review(state)

    def _upload_image(self, content: Content, state: dict, save_state: SaveState) -> None:
        if state.get("image_id"):
            return
        name = content.cover_filename or "cover.jpg"
        mime = {"png": "image/png", "gif": "image/gif"}.get(name.rsplit(".", 1)[-1].lower(),
                                                            "image/jpeg")
        data = self.client.call("POST", "/image/upload/", N_("uploading the picture"),
                                image=(name, content.cover_image, mime))
        state["image_id"] = str((data.get("image") or {})["image_id"])
        save_state(state)

    def _upload(self, content: Content, state: dict, save_state: SaveState) -> None:
        if state.get("video_id"):
            return
        path = content.video_path
        if not os.path.isfile(path):
            raise PermanentError(N_("The video file does not exist: %(name)s"),
                                 params={"name": os.path.basename(path)})
        size = os.path.getsize(path)
        if not state.get("upload_id"):
            _check_bytes(path, size, content)
        if size <= min(self.single_max, self.part_bytes):
            data = self.client.call("POST", "/video/upload/", N_("uploading the video"),
                                    upload=(path, 0, size))
        else:
            data = self._upload_parts(path, size, state, save_state)
        state["video_id"] = str((data.get("video") or {})["video_id"])
        for key in ("upload_id", "upload_started", "parts_done"):
            state.pop(key, None)
        save_state(state)

    def _upload_parts(self, path: str, size: int, state: dict, save_state: SaveState) -> dict:
        started = float(state.get("upload_started") or 0)
        if not state.get("upload_id") or time.time() - started > UPLOAD_ID_SECONDS:
            data = self.client.call("POST", "/video/part/init/", N_("starting the upload in parts"))
            state.update(upload_id=str(data["upload_id"]), upload_started=time.time(),
                         parts_done=0)
            save_state(state)
        parts = -(-size // self.part_bytes)
        for number in range(int(state.get("parts_done") or 0) + 1, parts + 1):
            offset = (number - 1) * self.part_bytes
            part = message(N_("uploading part %(number)s of %(parts)s of the video"),
                           number=number, parts=parts)
            self.client.call("POST", "/video/part/upload/", part,
                             params={"upload_id": state["upload_id"], "part_number": number},
                             upload=(path, offset, min(self.part_bytes, size - offset)))
            state["parts_done"] = number  # a retry resumes after the last part Douyin took
            save_state(state)
        return self.client.call("POST", "/video/part/complete/",
                                N_("completing the upload in parts"),
                                params={"upload_id": state["upload_id"]})

    # ---------------------------------------------------------------- the platform's review
    def _review(self, state: dict) -> PublishResult:
        item_id = state["item_id"]
        data = self.client.call("POST", "/api/douyin/v1/video/video_data/",
                                N_("checking the video's review"),
                                json={"item_ids": [item_id]})
        found = next((v for v in data.get("list") or [] if str(v.get("item_id")) == item_id),
                     None)
        if found is None:
            raise RetryableError(N_("Douyin does not list the post yet; checked again later"),
                                 "video_data")
        status = found.get("video_status")
        if found.get("is_reviewed") is False or status == UNDER_REVIEW:
            raise UnderReview(item_id, self.review_check)
        if status == NOT_PUBLIC:
            raise PermanentError(N_("Douyin's review refused the post (not fit to be public): "
                                    "only the author sees it; change it and submit it for "
                                    "review again"), "video_status=2")
        state["share_url"] = found.get("share_url")
        return PublishResult(item_id, state["share_url"])

    # ---------------------------------------------------------------- after an unconfirmed send
    def find_existing(self, content: Content, state: dict) -> PublishResult | None:
        """Under review, or a create whose answer was lost: the account's list tells."""
        if state.get("item_id"):
            return self._review(state)
        if not state.get("video_id") and not state.get("image_id"):
            return None  # nothing was created without an uploaded video or picture
        cursor = 0
        for _page in range(3):
            data = self.client.call("GET", "/api/douyin/v1/video/video_list/",
                                    N_("listing the videos"),
                                    params={"cursor": cursor, "count": 20})
            for item in data.get("list") or []:
                if (state.get("video_id") and item.get("video_id") == state["video_id"]) or \
                        item.get("title") == post_text(content):
                    state["item_id"] = str(item["item_id"])
                    return self._review(state)
            if not data.get("has_more"):
                break
            cursor = data.get("cursor") or 0
        return None

    # ---------------------------------------------------------------- the activity sync
    def list_videos(self, cursor: int = 0, count: int = 20) -> tuple[list[ListedPost], int | None,
                                                                      int | None, bool]:
        """One page of the account's works, newest first (video_list): the public ones as
        listed posts, the create time of the oldest work still under review on the page (None:
        none), the next page's cursor and whether there is one. A work under review or refused
        is visible to its author only: it is no update (yet)."""
        data = self.client.call("GET", "/api/douyin/v1/video/video_list/",
                                N_("listing the videos"),
                                params={"cursor": cursor, "count": count})
        listed, reviewing = [], None
        for item in data.get("list") or []:
            created = int(item.get("create_time") or 0)
            status = item.get("video_status")
            if item.get("is_reviewed") is False or status == UNDER_REVIEW:
                reviewing = created if reviewing is None else min(reviewing, created)
            elif status != NOT_PUBLIC:
                listed.append(ListedPost(str(item["item_id"]),
                                         datetime.fromtimestamp(created, timezone.utc),
                                         item.get("title") or "", item.get("share_url") or None))
        return listed, reviewing, data.get("cursor"), bool(data.get("has_more"))

    # ---------------------------------------------------------------- withdrawal
    def withdraw(self, state: dict, post_id: str) -> None:
        try:
            self.client.call("POST", "/video/delete/", N_("deleting the Douyin video"),
                             json={"item_id": post_id})
        except PermanentError as exc:
            if exc.platform_code != UNKNOWN_ITEM:
                raise
            # The id came from Douyin when it was posted: unknown now means already deleted.
