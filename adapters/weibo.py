"""Weibo: a thin client over requests for statuses/share, user_timeline and destroy.

No maintained SDK exists (the PyPI ones are 2014–2019 and clash on `weibo.py`), so the adapter
speaks the three endpoints itself and maps `error_code` to our error classes.
"""
from __future__ import annotations

import re
from datetime import datetime

import requests

from .base import Adapter, Content, ListedPost, PublishResult, SaveState, transport_error
from .errors import AuthError, PermanentError, RetryableError, UnconfirmedError
from .messages import (ANSWERED_ERROR, MAY_HAVE_PUBLISHED, N_, REFUSED, SYSTEM_ERROR, UNAVAILABLE,
                       UNREADABLE, WEIBO, about)

OFFICIAL_API = "https://api.weibo.com"
OFFICIAL_WEB = "https://m.weibo.cn"

# The sponsor must authorize the application again; the product cannot cure these. The
# words of every code are in adapters/messages.py (WEIBO).
TOKEN_EXPIRED = {21314, 21315, 21316, 21317, 21319, 21327, 21332}
# Retried later (hint in seconds).
RETRYABLE = {10002: None, 10009: None, 10022: 3600.0, 10023: 3600.0, 10024: 3600.0,
             20016: 600.0}
SYSTEM_ERRORS = {10001, 10003, 10010, 10011}   # the request may or may not have been done

_URL = re.compile(r"https?://\S+")


def _normalized(text: str) -> str:
    """The text without links (Weibo rewrites them to t.cn short links) and whitespace."""
    return re.sub(r"\s+", "", _URL.sub("", text or ""))


class WeiboAdapter(Adapter):
    platform = "weibo"
    credential_fields = ("access_token",)

    def __init__(self, credentials: dict, **kwargs):
        super().__init__(credentials, **kwargs)
        self.http = requests.Session()

    # ---------------------------------------------------------------- the one request helper
    def _request(self, method: str, path: str, what: str, *, commits: bool = False,
                 data: dict | None = None, params: dict | None = None, files=None) -> dict:
        url = f"{self.base_url}/2/{path}"
        token = {"access_token": self.credentials["access_token"]}
        try:
            if method == "GET":
                res = self.http.get(url, params={**token, **(params or {})}, timeout=self.timeout)
            else:
                res = self.http.post(url, data={**token, **(data or {})}, files=files,
                                     timeout=self.timeout)
        except requests.RequestException as exc:
            raise transport_error(exc, commits=commits, what=what) from exc
        try:
            body = res.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("error_code") is not None:
            raise self._map_error(body, what, commits)
        if res.status_code >= 500 or res.status_code == 429:
            if res.status_code == 504 and commits:
                raise UnconfirmedError(MAY_HAVE_PUBLISHED, res.status_code,
                                       params=about("weibo", what))
            raise RetryableError(UNAVAILABLE, res.status_code,
                                 params=about("weibo", what, status=res.status_code))
        if res.status_code >= 400:
            raise PermanentError(REFUSED, res.status_code, params=about(
                "weibo", what, status=res.status_code, setting="WEIBO_API_BASE_URL"))
        if not isinstance(body, dict):
            if commits:
                raise UnconfirmedError(MAY_HAVE_PUBLISHED, params=about("weibo", what))
            raise RetryableError(UNREADABLE, params=about("weibo", what))
        return body

    @staticmethod
    def _map_error(body: dict, what: str, commits: bool):
        code = int(body["error_code"])
        errmsg = body.get("error")
        if code in TOKEN_EXPIRED:
            return AuthError(WEIBO[code], code, platform_message=errmsg, token_expired=True)
        if code in RETRYABLE:
            return RetryableError(WEIBO[code], code, platform_message=errmsg,
                                  retry_after=RETRYABLE[code])
        if code == 20032:
            # "Published, but the server is slow": it exists, we just have no id for it yet.
            return UnconfirmedError(WEIBO[code], code, platform_message=errmsg)
        if code in SYSTEM_ERRORS:
            if commits:
                return UnconfirmedError(MAY_HAVE_PUBLISHED, code, platform_message=errmsg,
                                        params=about("weibo", what))
            return RetryableError(SYSTEM_ERROR, code, platform_message=errmsg,
                                  params=about("weibo", what))
        if code in WEIBO:
            return PermanentError(WEIBO[code], code, platform_message=errmsg)
        return PermanentError(ANSWERED_ERROR, code, platform_message=errmsg,
                              params=about("weibo", said=errmsg or str(code)))

    # ---------------------------------------------------------------- comments (the inbox)
    def comments_to_me(self, since_id: str | None, pages: int = 5) -> list[dict]:
        """Comments on the account's posts newer than `since_id`, oldest first (at most
        `pages` x 100 a call; the next pull continues from the newest one returned)."""
        found: list[dict] = []
        for page in range(1, pages + 1):
            params = {"count": 100, "page": page}
            if since_id:
                params["since_id"] = since_id
            body = self._request("GET", "comments/to_me.json", N_("reading the comments received"),
                                 params=params)
            comments = body.get("comments") or []
            found.extend(c for c in comments if isinstance(c, dict))
            if len(comments) < 100:
                break
        return sorted(found, key=lambda c: int(c.get("idstr") or c.get("id") or 0))

    def reply_comment(self, comment_id: str, status_id: str, text: str) -> str:
        """Reply to a comment (comments/reply); the reply's id."""
        body = self._request("POST", "comments/reply.json", N_("replying to a comment"),
                             commits=True,
                             data={"cid": comment_id, "id": status_id, "comment": text})
        return str(body.get("idstr") or body.get("id") or "")

    def _post_url(self, status: dict) -> str:
        web = self.account_options.get("web_base_url")
        if not web:
            # A gateway or stand-in at WEIBO_API_BASE_URL serves its own post pages.
            web = OFFICIAL_WEB if self.base_url == OFFICIAL_API else self.base_url
        return f"{web.rstrip('/')}/status/{status.get('idstr') or status['id']}"

    # ---------------------------------------------------------------- publish
    def publish(self, content: Content, state: dict, save_state: SaveState) -> PublishResult:
        if state.get("revision") != content.revision:
            state.clear()
            state["revision"] = content.revision
        if state.get("post_id"):
            return PublishResult(state["post_id"], state.get("post_url"))
        data = {"status": content.weibo_text}
        if self.account_options.get("rip"):
            data["rip"] = self.account_options["rip"]
        files = None
        if content.cover_image:
            name = content.cover_filename or "cover.jpg"
            files = {"pic": (name, content.cover_image)}
        status = self._request("POST", "statuses/share.json", N_("sharing to Weibo"), commits=True,
                               data=data, files=files)
        state["post_id"] = str(status.get("idstr") or status["id"])
        state["post_url"] = self._post_url(status)
        # The last step: its ids reach the caller in `state` and are stored with the outcome.
        return PublishResult(state["post_id"], state["post_url"])

    # ---------------------------------------------------------------- after an unconfirmed send
    def find_existing(self, content: Content, state: dict) -> PublishResult | None:
        """Search the account's recent posts for this text or link; updates `state` in place."""
        if state.get("post_id"):
            return PublishResult(state["post_id"], state.get("post_url"))
        wanted = _normalized(content.weibo_text)
        for page in (1, 2):
            body = self._request("GET", "statuses/user_timeline.json", N_("listing the posts"),
                                 params={"count": 50, "page": page})
            statuses = body.get("statuses") or []
            for status in statuses:
                text = status.get("text") or ""
                if (content.source_url and content.source_url in text) or (
                        wanted and _normalized(text) == wanted):
                    state["post_id"] = str(status.get("idstr") or status["id"])
                    state["post_url"] = self._post_url(status)
                    return PublishResult(state["post_id"], state["post_url"])
            if len(statuses) < 50:
                break
        return None

    # ---------------------------------------------------------------- listing (activity sync)
    def user_timeline(self, since_id: str | None, page: int,
                      count: int = 100) -> list[ListedPost]:
        """One page of the account's own statuses newer than `since_id`, newest first."""
        params = {"count": count, "page": page}
        if since_id:
            params["since_id"] = since_id
        body = self._request("GET", "statuses/user_timeline.json", N_("listing the posts"),
                             params=params)
        listed = []
        for status in body.get("statuses") or []:
            try:
                when = datetime.strptime(status.get("created_at") or "",
                                         "%a %b %d %H:%M:%S %z %Y")
            except ValueError as exc:
                raise PermanentError(N_("Weibo answered a publishing time it does not "
                                        "document"), status.get("created_at")) \
                    from exc
            listed.append(ListedPost(str(status.get("idstr") or status["id"]), when,
                                     status.get("text") or "", self._post_url(status)))
        return listed

    # ---------------------------------------------------------------- withdrawal
    def withdraw(self, state: dict, post_id: str) -> None:
        try:
            self._request("POST", "statuses/destroy.json", N_("deleting the post"),
                          data={"id": post_id})
        except PermanentError as exc:
            if exc.platform_code != 20101:
                raise
            # The id came from Weibo when it was posted: "does not exist" means already deleted.
