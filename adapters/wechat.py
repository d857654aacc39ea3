"""WeChat official accounts (公众号) on wechatpy 1.8.18: cover, body images, draft, publish or mass send.

The client (token, base URL) is adapters/wechat_client.py; the error codes
adapters/wechat_codes.py (docs/ADAPTERS.md).
"""
from __future__ import annotations

import html
import re
import time
from datetime import date, datetime, time as dtime, timedelta, timezone

import requests
from redis.exceptions import RedisError
from wechatpy.exceptions import WeChatClientException

from .base import Adapter, Content, ListedPost, PublishResult, SaveState, transport_error
from .errors import AuthError, Pending, PermanentError, RetryableError, UnconfirmedError
from .wechat_client import WechatClient, clear_local_tokens  # noqa: F401  (tests clear tokens)
from .messages import (ANSWERED_ERROR, MAY_HAVE_PUBLISHED, N_, REFUSED, UNAVAILABLE, UNREADABLE,
                       WECHAT, about, message, step)
from .wechat_codes import (CUSTOM_SEND, MASS_AWAITING_CONFIRMATION, MASS_CLIENTMSGID_EXISTS,
                           MASS_CONFIRM_CHECK_SECONDS, PERMANENT, PUBLISH_FAILED, RETRYABLE,
                           TOKEN_ERRORS)

_IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def _image_filename(data: bytes, hint: str | None) -> tuple[str, str]:
    if data[:3] == b"\xff\xd8\xff":
        ext, mime = "jpg", "image/jpeg"
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        ext, mime = "png", "image/png"
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        ext, mime = "gif", "image/gif"
    else:
        ext, mime = "jpg", "application/octet-stream"
    name = (hint or "").rsplit("/", 1)[-1].split("?", 1)[0] or f"image.{ext}"
    if "." not in name:
        name = f"{name}.{ext}"
    return name, mime


class WechatAdapter(Adapter):
    platform = "wechat"
    credential_fields = ("app_id", "app_secret")
    # 群发保护: how long WeChat waits for the administrator's confirmation (30 minutes), and
    # a minute's grace for the last look.
    mass_confirm_window = 31 * 60.0

    def __init__(self, credentials: dict, **kwargs):
        super().__init__(credentials, **kwargs)
        self.client = WechatClient(self.credentials["app_id"], self.credentials["app_secret"],
                              base_url=self.base_url, redis=self.redis, timeout=self.timeout)

    @staticmethod
    def listed_id(state: dict, post_id: str) -> str | None:
        """freepublish/batchget lists a publish by its article_id; a mass send shows only in
        datacube, as "{msg_data_id}_{index}" (our sends have one article)."""
        if state.get("mode") == "mass":
            return f"{state['msg_data_id']}_1" if state.get("msg_data_id") else None
        return str(post_id) if post_id else None

    # ---------------------------------------------------------------- calls and their errors
    def _call(self, what: str, fn, *args, commits: bool = False, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except requests.RequestException as exc:
            raise transport_error(exc, commits=commits, what=what) from exc
        except WeChatClientException as exc:
            raise self._map_error(exc, what, commits) from exc
        except RedisError as exc:
            # The shared token lives in Redis and is read before a request leaves (or after
            # WeChat refused it): Redis away means nothing was sent.
            raise RetryableError(N_("The task queue (Redis) is unavailable, so the access token "
                                    "cannot be read (%(step)s); retried later"),
                                 type(exc).__name__, params={"step": step(what)}) from exc
        if not isinstance(result, (dict, str)):
            if commits:
                raise UnconfirmedError(MAY_HAVE_PUBLISHED, params=about("wechat", what))
            raise RetryableError(UNREADABLE, params=about("wechat", what))
        return result

    @staticmethod
    def _map_error(exc: WeChatClientException, what: str, commits: bool):
        code = exc.errcode
        if code is None:
            status = exc.response.status_code if exc.response is not None else None
            if status == 504 and commits:
                return UnconfirmedError(MAY_HAVE_PUBLISHED, status, params=about("wechat", what))
            if status is not None and (status >= 500 or status == 429):
                return RetryableError(UNAVAILABLE, status,
                                      params=about("wechat", what, status=status))
            return PermanentError(REFUSED, status, params=about(
                "wechat", what, status=status, setting="WECHAT_API_BASE_URL"))
        code = int(code)
        errmsg = exc.errmsg if isinstance(exc.errmsg, str) else None
        if code in TOKEN_ERRORS:
            return AuthError(N_("The access token was refused again after fetching a new one; "
                                "check the official account's AppID, AppSecret and API "
                                "permissions"), code, platform_message=errmsg, retryable=False)
        if code in RETRYABLE:
            return RetryableError(WECHAT[code], code, platform_message=errmsg,
                                  retry_after=RETRYABLE[code])
        if code in PERMANENT:
            return PermanentError(WECHAT[code], code, platform_message=errmsg)
        return PermanentError(ANSWERED_ERROR, code, platform_message=errmsg,
                              params=about("wechat", said=errmsg or str(code)))

    # ---------------------------------------------------------------- customer-service reply
    def send_text(self, openid: str, text: str) -> None:
        """A customer-service text message (message/custom/send) to one follower: a reply to a
        message from the public, accepted by WeChat within 48 hours of the follower's last one."""
        try:
            self._call(N_("sending a customer-service message"), self.client.message.send_text,
                       openid, text, commits=True)
        except PermanentError as exc:
            if exc.platform_code not in CUSTOM_SEND:
                raise
            raise PermanentError(WECHAT[exc.platform_code], exc.platform_code,
                                 platform_message=exc.platform_message) from exc

    # ---------------------------------------------------------------- publish
    def publish(self, content: Content, state: dict, save_state: SaveState) -> PublishResult:
        if state.get("revision") != content.revision:
            # Ids saved for another revision (a fixed article) must not be reused.
            state.clear()
            state["revision"] = content.revision
        mode = self.account_options.get("mode", "publish")
        state.setdefault("mode", mode)
        if mode == "mass":
            if state.get("msg_id"):
                return PublishResult(str(state["msg_id"]), state.get("article_url"))
        elif state.get("article_id"):
            return PublishResult(str(state["article_id"]), state.get("article_url"))

        if not state.get("publish_id"):
            self._upload_cover(content, state, save_state)
            body = self._upload_body_images(content, state, save_state)
            if not state.get("draft_media_id"):
                article = {
                    "article_type": "news",
                    "title": content.title,
                    "author": content.author or "",
                    "digest": content.digest or "",
                    "content": body,
                    "content_source_url": content.source_url or "",
                    "thumb_media_id": state["cover_media_id"],
                    "need_open_comment": int(bool(self.account_options.get("open_comment"))),
                    "only_fans_can_comment": 0,
                }
                result = self._call(N_("adding the draft"), self.client.post, "draft/add",
                                    data={"articles": [article]})
                state["draft_media_id"] = result["media_id"]
                save_state(state)
        if mode == "mass":
            return self._mass_send(content, state, save_state)
        if not state.get("publish_id"):
            result = self._call(N_("publishing the draft"), self.client.post, "freepublish/submit",
                                data={"media_id": state["draft_media_id"]}, commits=True)
            state["publish_id"] = str(result["publish_id"])
            if result.get("msg_data_id") is not None:
                state["msg_data_id"] = str(result["msg_data_id"])
            save_state(state)
        return self._poll(state, save_state)

    def _upload_cover(self, content: Content, state: dict, save_state: SaveState) -> None:
        if state.get("cover_media_id"):
            return
        data, name = content.cover_image, content.cover_filename
        if not data:
            # WeChat requires a cover; like its own editor, take the first body image.
            first = next((m.group(3) for m in _IMG_SRC.finditer(content.body_html)), None)
            if first is None:
                raise PermanentError(N_("A WeChat article needs a cover picture: upload a cover or "
                                        "put a picture in the body"))
            data, name = self._image_bytes(content, html.unescape(first)), first
        filename, mime = _image_filename(data, name)
        result = self._call(N_("uploading the cover"),
                            self.client.material.add, "image", (filename, data, mime))
        state["cover_media_id"] = result["media_id"]
        if result.get("url"):
            state["cover_url"] = result["url"]
        save_state(state)

    def _image_bytes(self, content: Content, src: str) -> bytes:
        if src in content.images:
            return content.images[src]
        if not src.startswith(("http://", "https://")):
            raise PermanentError(N_("A picture of the body cannot be fetched: %(src)s"),
                                 params={"src": src})
        try:
            res = requests.get(src, timeout=self.timeout)
        except requests.RequestException as exc:
            raise transport_error(exc, commits=False,
                                  what=N_("downloading a picture of the body")) from exc
        if res.status_code >= 500:
            raise RetryableError(N_("Downloading a picture of the body failed (HTTP %(status)s): "
                                    "%(src)s"), res.status_code,
                                 params={"status": res.status_code, "src": src})
        if res.status_code != 200:
            raise PermanentError(N_("A picture of the body cannot be downloaded (HTTP %(status)s): "
                                    "%(src)s"), res.status_code,
                                 params={"status": res.status_code, "src": src})
        return res.content

    def _upload_body_images(self, content: Content, state: dict, save_state: SaveState) -> str:
        images: dict = state.setdefault("images", {})
        for match in _IMG_SRC.finditer(content.body_html):
            src = html.unescape(match.group(3))
            if src in images or "mmbiz.qpic.cn" in src:
                continue
            data = self._image_bytes(content, src)
            filename, mime = _image_filename(data, src)
            url = self._call(N_("uploading a picture of the body"), self.client.media.upload_image,
                             (filename, data, mime))
            images[src] = url
            save_state(state)

        def rewrite(m: re.Match) -> str:
            src = html.unescape(m.group(3))
            new = images.get(src)
            return f"{m.group(1)}{m.group(2)}{html.escape(new, quote=True)}{m.group(2)}" \
                if new else m.group(0)

        return _IMG_SRC.sub(rewrite, content.body_html)

    def _poll(self, state: dict, save_state: SaveState) -> PublishResult:
        """One look at the publish job: settled, failed, or `Pending` (asked again later by a
        scheduled follow-up: a worker never sleeps while WeChat publishes)."""
        result = self._call(N_("checking the publish status"), self.client.post, "freepublish/get",
                            data={"publish_id": state["publish_id"]})
        status = int(result.get("publish_status", 1))
        if status == 0:  # the final ids are stored with the outcome, by the caller
            return self._settled(result, state, None)
        if status != 1:
            reason = (message(WECHAT[f"publish_status={status}"]) if status in PUBLISH_FAILED
                      else message(N_("Publishing failed (status %(status)s)"), status=status))
            if result.get("fail_idx"):
                reason = message(N_("%(reason)s; the failed articles: %(articles)s"),
                                 reason=reason,
                                 articles=", ".join(str(i) for i in result["fail_idx"]))
            # A retry after a fix starts again from a new draft.
            for key in ("publish_id", "msg_data_id", "draft_media_id"):
                state.pop(key, None)
            save_state(state)
            raise PermanentError("%(reason)s", f"publish_status={status}",
                                 params={"reason": reason})
        raise self._still_publishing(state)

    def _still_publishing(self, state: dict) -> Pending:
        """Checks come every poll interval for the first `poll_attempts`, then ten times
        slower (a publish that takes minutes is not asked about every two seconds)."""
        checks = int(state.get("publish_checks") or 0) + 1
        state["publish_checks"] = checks
        slower = 1 if checks < self.poll_attempts else 10
        return Pending(N_("WeChat is publishing (checked %(checks)s times); checked again "
                          "later"), "publish_status=1", params={"checks": checks},
                       check_after=self.poll_interval * slower)

    @staticmethod
    def _settled(result: dict, state: dict, save_state: SaveState | None) -> PublishResult:
        items = (result.get("article_detail") or {}).get("item") or []
        url = items[0].get("article_url") if items else None
        state["article_id"] = str(result["article_id"])
        state["article_url"] = url
        if save_state is not None:
            save_state(state)
        return PublishResult(state["article_id"], url)

    def _mass_send(self, content: Content, state: dict, save_state: SaveState) -> PublishResult:
        """message/mass/sendall to all followers. The `clientmsgid` is the delivery's own
        (account_options["clientmsgid"], kept in the state once used): WeChat refuses a second
        send with it (45065, naming the first send's msg_id), so a resend after an unconfirmed
        send, or a look after 群发保护, never sends twice (docs/ADAPTERS.md)."""
        client_msg_id = (state.get("clientmsgid") or self.account_options.get("clientmsgid")
                         or f"gm{content.article_id}-{content.revision}")[:64]
        if state.get("clientmsgid") != client_msg_id:
            state["clientmsgid"] = client_msg_id
            save_state(state)
        result = self._call(N_("mass sending"),
                            self._sendall, state["draft_media_id"], client_msg_id,
                            commits=True)
        code = int(result.get("errcode") or 0)
        if code in MASS_AWAITING_CONFIRMATION:
            raise self._awaiting_confirmation(state, save_state, code)
        if code == MASS_CLIENTMSGID_EXISTS:
            # Sent already (an earlier try, or the administrator confirmed): its msg_id, when
            # WeChat names it, makes it queryable and deletable like any other.
            msg_id = result.get("msg_id")
            state["msg_id"] = str(msg_id) if msg_id else (
                state.get("msg_id") or f"clientmsgid:{client_msg_id}")
        else:
            state["msg_id"] = str(result["msg_id"])
            if result.get("msg_data_id") is not None:
                state["msg_data_id"] = str(result["msg_data_id"])
        state.pop("protect_since", None)
        save_state(state)
        return PublishResult(str(state["msg_id"]), None)

    def _sendall(self, media_id: str, client_msg_id: str) -> dict:
        """The send itself; the two answers that are not failures come back as data."""
        try:
            return self.client.message.send_mass_article(
                None, media_id, is_to_all=True, send_ignore_reprint=int(bool(
                    self.account_options.get("send_ignore_reprint"))),
                client_msg_id=client_msg_id)
        except WeChatClientException as exc:
            code = int(exc.errcode) if exc.errcode is not None else None
            if code not in (MASS_CLIENTMSGID_EXISTS, *MASS_AWAITING_CONFIRMATION):
                raise
            body = {}
            if exc.response is not None:
                try:
                    body = exc.response.json()
                except ValueError:
                    body = {}
            return {**(body if isinstance(body, dict) else {}), "errcode": code}

    def _awaiting_confirmation(self, state: dict, save_state: SaveState, code: int):
        """群发保护: an administrator must confirm the send on their phone within 30 minutes.
        Until then the delivery waits (`Pending`, its text says so) and asks again with the
        same clientmsgid once a minute (45066: not faster); confirmed, WeChat answers 45065
        with the msg_id. Past the window the send is void: a failure, retried by hand."""
        now = time.time()
        since = float(state.get("protect_since") or now)
        waited = now - since
        if waited > self.mass_confirm_window:
            state.pop("protect_since", None)
            save_state(state)
            return PermanentError(N_(
                "Mass-send protection: the account's administrator did not confirm this mass "
                "send within 30 minutes (or refused it) and WeChat cancelled it; to send it "
                "still, the administrator should watch WeChat on their phone and retry"), code)
        state["protect_since"] = since
        save_state(state)
        minutes = max(0, int((self.mass_confirm_window - waited) // 60))
        return Pending(N_("Waiting for the account's administrator to confirm the mass send in "
                          "WeChat on their phone (mass-send protection); not confirmed within "
                          "about %(minutes)s minutes, the mass send is cancelled"), code,
                       params={"minutes": minutes},
                       check_after=MASS_CONFIRM_CHECK_SECONDS, note=True)

    # ---------------------------------------------------------------- after an unconfirmed send
    def find_existing(self, content: Content, state: dict) -> PublishResult | None:
        """Ask WeChat whether the article went out. Updates `state` in place with the ids it
        learns; the caller saves it."""
        if state.get("mode") == "mass" or self.account_options.get("mode") == "mass":
            msg_id = state.get("msg_id")
            if not msg_id or str(msg_id).startswith("clientmsgid:"):
                # Not queryable without msg_id; resending is safe: clientmsgid deduplicates.
                return PublishResult(str(msg_id), None) if msg_id else None
            result = self._call(N_("checking the mass send"), self.client.message.get_mass, msg_id)
            if result.get("msg_status") in ("SEND_SUCCESS", "SENDING"):
                return PublishResult(str(msg_id), None)
            return None
        if state.get("article_id"):
            return PublishResult(str(state["article_id"]), state.get("article_url"))
        if state.get("publish_id"):
            result = self._call(N_("checking the publish status"),
                                self.client.post, "freepublish/get",
                                data={"publish_id": state["publish_id"]})
            status = int(result.get("publish_status", 1))
            if status == 0:
                return self._settled(result, state, None)
            if status == 1:
                raise self._still_publishing(state)
            return None
        found = self._search_published(content)
        if found is not None:
            state["article_id"], state["article_url"] = found.post_id, found.post_url
            return found
        if state.get("draft_media_id"):
            try:
                self._call(N_("reading the draft"), self.client.post, "draft/get",
                           data={"media_id": state["draft_media_id"]})
            except PermanentError as exc:
                if exc.platform_code != 40007:
                    raise
                # The draft is gone, so the submit reached WeChat; its result is not listed yet.
                raise RetryableError(N_("The draft was submitted for publishing and WeChat does "
                                        "not list the result yet; checked again later"),
                                     40007) from exc
        return None

    def _search_published(self, content: Content, pages: int = 3) -> PublishResult | None:
        for page in range(pages):
            result = self._call(N_("listing the published articles"),
                                self.client.post, "freepublish/batchget",
                                data={"offset": page * 20, "count": 20, "no_content": 0})
            items = result.get("item") or []
            for item in items:
                for news in (item.get("content") or {}).get("news_item") or []:
                    if news.get("is_deleted"):
                        continue
                    if news.get("title") != content.title:
                        continue
                    if content.source_url and news.get("content_source_url") not in (
                            None, "", content.source_url):
                        continue
                    return PublishResult(str(item["article_id"]), news.get("url"))
            if len(items) < 20:
                break
        return None

    # ---------------------------------------------------------------- listing (activity sync)
    def list_published(self, offset: int, count: int = 20) -> tuple[list[ListedPost], int]:
        """One page of freepublish/batchget (发布 items, newest first) and the total."""
        result = self._call(N_("listing the published articles"),
                            self.client.post, "freepublish/batchget",
                            data={"offset": offset, "count": count, "no_content": 1})
        listed = []
        for item in result.get("item") or []:
            news = [n for n in (item.get("content") or {}).get("news_item") or []
                    if not n.get("is_deleted")]
            if not news:
                continue
            when = datetime.fromtimestamp(int(item.get("update_time") or 0), timezone.utc)
            listed.append(ListedPost(str(item["article_id"]), when, news[0].get("title") or "",
                                     news[0].get("url") or None))
        return listed, int(result.get("total_count") or 0)

    def mass_sent_on(self, day: date) -> list[ListedPost]:
        """The mass-sent (群发) articles of one day, which no list API returns, from the data
        API (datacube/getarticlesummary: one day a call, yesterday at the latest)."""
        result = self._call(N_("reading the mass-sent articles' data"), self.client.post,
                            f"{self.base_url}/datacube/getarticlesummary",
                            data={"begin_date": day.isoformat(), "end_date": day.isoformat()})
        # The data API gives the day, not the time: noon Beijing stands for it.
        when = datetime.combine(day, dtime(12), tzinfo=timezone(timedelta(hours=8)))
        seen, listed = set(), []
        for row in result.get("list") or []:
            msgid = str(row.get("msgid") or "")
            if msgid and msgid not in seen:  # a row per article and day of figures
                seen.add(msgid)
                listed.append(ListedPost(msgid, when, row.get("title") or "", None))
        return listed

    # ---------------------------------------------------------------- withdrawal
    def withdraw(self, state: dict, post_id: str) -> None:
        if state.get("mode") == "mass":
            if str(post_id).startswith("clientmsgid:"):
                raise PermanentError(N_("The mass send's msg_id is unknown, so it cannot be "
                                        "withdrawn automatically; delete it on the WeChat "
                                        "platform by hand"))
            self._call(N_("deleting the mass send"), self.client.message.delete_mass, post_id)
            return
        try:
            self._call(N_("deleting the published article"), self.client.post, "freepublish/delete",
                       data={"article_id": post_id, "index": 0})
        except PermanentError as exc:
            if exc.platform_code != 53600:
                raise
            # The id came from WeChat when it was published: invalid now means already deleted.
