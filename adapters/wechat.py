"""WeChat official accounts (公众号) on wechatpy 1.8.18: cover, body images, draft, publish or mass send.

Why it is built this way (see docs/ADAPTERS.md): wechatpy 1.8.18 sends its token fetch to the
real host whatever API_BASE_URL says, and retries 40001 without limit (a server that keeps
answering 40001 drives it into a RecursionError). `_Client` subclasses `WeChatClient`, keeps its
request, JSON and error code paths, sets `API_BASE_URL` per instance, fetches the token from
`{base}/cgi-bin/stable_token` itself, and refreshes a rejected token at most once per call.
"""
from __future__ import annotations

import hashlib
import html
import re
import threading
import time
from contextlib import contextmanager

import requests
from redis.exceptions import RedisError
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.redisstorage import RedisStorage

from .base import Adapter, Content, PublishResult, SaveState, transport_error
from .errors import AuthError, PermanentError, RetryableError, UnconfirmedError

TOKEN_ERRORS = {40001, 40014, 42001}

# Codes that prove the platform did not do the work: retry later (hint in seconds).
RETRYABLE = {
    -1: ("微信平台系统繁忙，稍后重试", None),
    45009: ("接口调用已达今日上限（每日配额），配额重置后重试", 3600.0),
    45011: ("接口调用过于频繁（分钟配额），稍后重试", 60.0),
    45066: ("群发请求过于频繁，请一分钟后重试", 60.0),
}

# Content, permission and configuration errors: never retried; shown to the editor.
PERMANENT = {
    40004: "不合法的媒体文件类型",
    40005: "不合法的文件类型（图片仅支持 jpg/png 等格式）",
    40006: "不合法的文件大小",
    40007: "无效的 media_id（素材或草稿不存在或已被使用）",
    40009: "图片大小超过限制",
    40113: "不支持的文件类型",
    40164: "服务器 IP 不在公众号的 IP 白名单中，请在公众平台「设置与开发—基本配置」中添加",
    41005: "缺少多媒体文件数据",
    44001: "多媒体文件为空",
    44003: "图文消息内容为空",
    45001: "多媒体文件大小超过限制",
    45002: "内容过长",
    45003: "标题过长（不超过 32 个字）",
    45004: "摘要过长（不超过 128 个字）",
    45005: "链接过长",
    45008: "图文消息超过限制",
    45028: "群发次数已用完（本期群发配额不足）",
    45065: "相同 clientmsgid 已存在群发记录",
    48001: "api功能未授权（公众号未获得该接口权限，请在公众平台开发者中心查看接口权限）",
    48004: "该接口已被封禁，请登录公众平台查看详情",
    50002: "公众号受限，可能因违规被封禁接口",
    53503: "该草稿未通过发布检测，请检查内容",
    53504: "需前往公众平台官网使用该草稿",
    53505: "请前往公众平台官网手动保存草稿成功后再发表",
    53600: "Article ID 无效",
}

# Errors of the token endpoint: the account's AppID/AppSecret or the server's IP are wrong.
TOKEN_FETCH = {
    40001: "AppSecret 错误，或 AppSecret 不属于该公众号",
    40002: "grant_type 不合法",
    40013: "AppID 无效",
    40125: "AppSecret 无效",
    40164: PERMANENT[40164],
    41002: "缺少 AppID",
    41004: "缺少 AppSecret",
}

PUBLISH_FAILED = {
    2: "原创声明失败",
    3: "发布失败（常规失败）",
    4: "平台审核不通过",
    5: "发布成功后已被用户删除",
    6: "发布成功后被系统封禁",
}


class _MemoryStorage(SessionStorage):
    """Process-wide token storage with expiry, for the embedded mode without Redis."""

    def __init__(self):
        self._data: dict[str, tuple[object, float | None]] = {}
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return default
            value, expires = item
            if expires is not None and expires <= time.monotonic():
                del self._data[key]
                return default
            return value

    def set(self, key, value, ttl=None):
        if value is None:
            return
        with self._lock:
            self._data[key] = (value, time.monotonic() + ttl if ttl else None)

    def delete(self, key):
        with self._lock:
            self._data.pop(key, None)

    def clear(self):
        with self._lock:
            self._data.clear()


_MEMORY = _MemoryStorage()
_LOCAL_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


def clear_local_tokens() -> None:
    """Forget the tokens cached in this process (tests; a stand-in that was reset)."""
    _MEMORY.clear()


def _local_lock(name: str) -> threading.Lock:
    with _LOCAL_LOCKS_GUARD:
        return _LOCAL_LOCKS.setdefault(name, threading.Lock())


class _Client(WeChatClient):
    """wechatpy's client with our base URL, token endpoint, shared storage and one refresh."""

    def __init__(self, appid: str, secret: str, *, base_url: str, redis, timeout: float):
        scope = hashlib.sha1(base_url.encode()).hexdigest()[:10]
        prefix = f"govmedia:wechat:{scope}"
        # Redis: every worker sees the same token. Without Redis (embedded mode) the storage is
        # process-wide, with the same key scheme so different base URLs stay apart.
        storage = (RedisStorage(redis, prefix=prefix) if redis is not None
                   else _PrefixedStorage(_MEMORY, prefix + ":"))
        super().__init__(appid, secret, session=storage, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = f"{base_url}/cgi-bin/"
        self.base_url = base_url
        self.redis = redis
        self.lock_name = f"{prefix}:{appid}:token-lock"

    @contextmanager
    def _token_lock(self):
        """One token fetch at a time for this account across every worker: a fetch by one
        worker can invalidate another's token, and the daily quota is small."""
        wait = self.timeout * 2 + 5
        if self.redis is not None:
            from redis.exceptions import LockError

            lock = self.redis.lock(self.lock_name, timeout=wait, blocking_timeout=wait)
            try:
                acquired = lock.acquire()
            except LockError as exc:  # pragma: no cover - redis-py raises only on misuse
                raise RetryableError("等待获取访问令牌超时，稍后重试", "lock") from exc
            if not acquired:
                raise RetryableError("等待获取访问令牌超时，稍后重试", "lock")
            try:
                yield
            finally:
                try:
                    lock.release()
                except LockError:
                    pass  # expired while we held it: the next holder proceeds, nothing to undo
        else:
            lock = _local_lock(self.lock_name)
            if not lock.acquire(timeout=wait):
                raise RetryableError("等待获取访问令牌超时，稍后重试", "lock")
            try:
                yield
            finally:
                lock.release()

    @property
    def access_token(self):
        token = self.session.get(self.access_token_key)
        if token:
            return token
        with self._token_lock():
            token = self.session.get(self.access_token_key)
            if token:  # another worker fetched it while we waited
                return token
            return self._fetch_stable(force_refresh=False)

    def fetch_access_token(self):
        """wechatpy's hook; ours goes to {base}/cgi-bin/stable_token with a timeout."""
        return self._fetch_stable(force_refresh=False)

    def _fetch_stable(self, *, force_refresh: bool) -> str:
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                "force_refresh": force_refresh}
        try:
            res = self._http.post(f"{self.base_url}/cgi-bin/stable_token", json=body,
                                  timeout=self.timeout)
        except requests.RequestException as exc:
            raise transport_error(exc, commits=False, what="获取访问令牌") from exc
        if res.status_code >= 500 or res.status_code == 429:
            raise RetryableError(f"获取访问令牌时平台返回 HTTP {res.status_code}", res.status_code)
        try:
            result = res.json()
        except ValueError as exc:
            raise RetryableError("获取访问令牌时平台返回了无法解析的内容", res.status_code) from exc
        code = int(result.get("errcode") or 0)
        if code:
            errmsg = result.get("errmsg")
            if code in RETRYABLE:
                message, after = RETRYABLE[code]
                raise RetryableError(message, code, platform_message=errmsg, retry_after=after)
            raise AuthError("获取访问令牌失败：" + TOKEN_FETCH.get(code, errmsg or "未知错误"),
                            code, platform_message=errmsg)
        token = result["access_token"]
        expires_in = int(result.get("expires_in") or 7200)
        # Stored a little shorter than its life so every worker renews before WeChat refuses it.
        self.session.set(self.access_token_key, token, max(60, expires_in - 300))
        return token

    def refresh_after_rejection(self, rejected: str) -> str:
        with self._token_lock():
            current = self.session.get(self.access_token_key)
            if current and current != rejected:  # another worker already renewed it
                return current
            self.session.delete(self.access_token_key)
            token = self._fetch_stable(force_refresh=False)
            if token == rejected:
                # WeChat still hands out the token it refuses: force a new one (limited per day).
                token = self._fetch_stable(force_refresh=True)
            return token

    def _request(self, method, url_or_endpoint, **kwargs):
        params = dict(kwargs.pop("params", None) or {})
        for attempt in (0, 1):
            call = dict(kwargs)
            call["params"] = dict(params)
            if attempt:  # the refreshed token, not the one a helper put in the query
                call["params"].pop("access_token", None)
            sent = call["params"].get("access_token") or self.access_token
            call["params"]["access_token"] = sent
            try:
                return super()._request(method, url_or_endpoint, **call)
            except WeChatClientException as exc:
                if exc.errcode is not None and int(exc.errcode) in TOKEN_ERRORS and attempt == 0:
                    self.refresh_after_rejection(sent)
                    continue
                raise


class _PrefixedStorage(SessionStorage):
    def __init__(self, inner: SessionStorage, prefix: str):
        self.inner, self.prefix = inner, prefix

    def get(self, key, default=None):
        return self.inner.get(self.prefix + key, default)

    def set(self, key, value, ttl=None):
        self.inner.set(self.prefix + key, value, ttl)

    def delete(self, key):
        self.inner.delete(self.prefix + key)


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

    def __init__(self, credentials: dict, **kwargs):
        super().__init__(credentials, **kwargs)
        self.client = _Client(self.credentials["app_id"], self.credentials["app_secret"],
                              base_url=self.base_url, redis=self.redis, timeout=self.timeout)

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
            raise RetryableError(f"任务队列（Redis）暂不可用，无法取得访问令牌（{what}），稍后重试",
                                 type(exc).__name__) from exc
        if not isinstance(result, (dict, str)):
            message = f"微信平台返回了无法解析的内容（{what}）"
            if commits:
                raise UnconfirmedError(message + "，不确定是否已发布，需先向平台核实")
            raise RetryableError(message)
        return result

    @staticmethod
    def _map_error(exc: WeChatClientException, what: str, commits: bool):
        code = exc.errcode
        if code is None:
            status = exc.response.status_code if exc.response is not None else None
            if status == 504 and commits:
                return UnconfirmedError(f"网关超时（{what}），不确定是否已发布，需先向平台核实", status)
            if status is not None and (status >= 500 or status == 429):
                return RetryableError(f"微信平台暂时不可用（HTTP {status}，{what}），稍后重试", status)
            return PermanentError(f"微信平台拒绝请求（HTTP {status}，{what}），请检查接口地址配置",
                                  status)
        code = int(code)
        errmsg = exc.errmsg if isinstance(exc.errmsg, str) else None
        if code in TOKEN_ERRORS:
            return AuthError("访问令牌被拒绝，重新获取一次后仍无效，请检查公众号 AppID、AppSecret 和接口权限",
                             code, platform_message=errmsg, retryable=False)
        if code in RETRYABLE:
            message, after = RETRYABLE[code]
            return RetryableError(message, code, platform_message=errmsg, retry_after=after)
        if code in PERMANENT:
            return PermanentError(PERMANENT[code], code, platform_message=errmsg)
        return PermanentError(f"微信平台返回错误：{errmsg or code}", code, platform_message=errmsg)

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
                result = self._call("新建草稿", self.client.post, "draft/add",
                                    data={"articles": [article]})
                state["draft_media_id"] = result["media_id"]
                save_state(state)
        if mode == "mass":
            return self._mass_send(content, state, save_state)
        if not state.get("publish_id"):
            result = self._call("发布草稿", self.client.post, "freepublish/submit",
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
                raise PermanentError("微信图文必须有封面图片，请上传封面或在正文中插入图片")
            data, name = self._image_bytes(content, html.unescape(first)), first
        filename, mime = _image_filename(data, name)
        result = self._call("上传封面", self.client.material.add, "image", (filename, data, mime))
        state["cover_media_id"] = result["media_id"]
        if result.get("url"):
            state["cover_url"] = result["url"]
        save_state(state)

    def _image_bytes(self, content: Content, src: str) -> bytes:
        if src in content.images:
            return content.images[src]
        if not src.startswith(("http://", "https://")):
            raise PermanentError(f"正文图片无法获取：{src}")
        try:
            res = requests.get(src, timeout=self.timeout)
        except requests.RequestException as exc:
            raise transport_error(exc, commits=False, what="下载正文图片") from exc
        if res.status_code >= 500:
            raise RetryableError(f"下载正文图片失败（HTTP {res.status_code}）：{src}", res.status_code)
        if res.status_code != 200:
            raise PermanentError(f"正文图片无法下载（HTTP {res.status_code}）：{src}", res.status_code)
        return res.content

    def _upload_body_images(self, content: Content, state: dict, save_state: SaveState) -> str:
        images: dict = state.setdefault("images", {})
        for match in _IMG_SRC.finditer(content.body_html):
            src = html.unescape(match.group(3))
            if src in images or "mmbiz.qpic.cn" in src:
                continue
            data = self._image_bytes(content, src)
            filename, mime = _image_filename(data, src)
            url = self._call("上传正文图片", self.client.media.upload_image,
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
        for attempt in range(self.poll_attempts):
            result = self._call("查询发布状态", self.client.post, "freepublish/get",
                                data={"publish_id": state["publish_id"]})
            status = int(result.get("publish_status", 1))
            if status == 0:  # the final ids are stored with the outcome, by the caller
                return self._settled(result, state, None)
            if status != 1:
                reason = PUBLISH_FAILED.get(status, f"发布失败（状态 {status}）")
                if result.get("fail_idx"):
                    reason += "，失败的文章序号：" + "、".join(str(i) for i in result["fail_idx"])
                # A retry after a fix starts again from a new draft.
                for key in ("publish_id", "msg_data_id", "draft_media_id"):
                    state.pop(key, None)
                save_state(state)
                raise PermanentError(reason, f"publish_status={status}")
            if attempt + 1 < self.poll_attempts:
                time.sleep(self.poll_interval)
        raise RetryableError(f"微信仍在发布中（已查询 {self.poll_attempts} 次），稍后继续查询",
                             "publish_status=1")

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
        # clientmsgid makes a resend after an unconfirmed send a no-op at WeChat (45065).
        client_msg_id = f"gm{content.article_id}-{content.revision}"[:64]
        state["clientmsgid"] = client_msg_id
        try:
            result = self._call(
                "群发", self.client.message.send_mass_article, None, state["draft_media_id"],
                is_to_all=True, send_ignore_reprint=int(bool(
                    self.account_options.get("send_ignore_reprint"))),
                client_msg_id=client_msg_id, commits=True)
        except PermanentError as exc:
            if exc.platform_code != 45065:
                raise
            state["msg_id"] = state.get("msg_id") or f"clientmsgid:{client_msg_id}"
            save_state(state)
            return PublishResult(str(state["msg_id"]), None)
        state["msg_id"] = str(result["msg_id"])
        if result.get("msg_data_id") is not None:
            state["msg_data_id"] = str(result["msg_data_id"])
        save_state(state)
        return PublishResult(state["msg_id"], None)

    # ---------------------------------------------------------------- after an unconfirmed send
    def find_existing(self, content: Content, state: dict) -> PublishResult | None:
        """Ask WeChat whether the article went out. Updates `state` in place with the ids it
        learns; the caller saves it."""
        if state.get("mode") == "mass" or self.account_options.get("mode") == "mass":
            msg_id = state.get("msg_id")
            if not msg_id or str(msg_id).startswith("clientmsgid:"):
                # Not queryable without msg_id; resending is safe: clientmsgid deduplicates.
                return PublishResult(str(msg_id), None) if msg_id else None
            result = self._call("查询群发状态", self.client.message.get_mass, msg_id)
            if result.get("msg_status") in ("SEND_SUCCESS", "SENDING"):
                return PublishResult(str(msg_id), None)
            return None
        if state.get("article_id"):
            return PublishResult(str(state["article_id"]), state.get("article_url"))
        if state.get("publish_id"):
            result = self._call("查询发布状态", self.client.post, "freepublish/get",
                                data={"publish_id": state["publish_id"]})
            status = int(result.get("publish_status", 1))
            if status == 0:
                return self._settled(result, state, None)
            if status == 1:
                raise RetryableError("微信仍在发布中，稍后再核实", "publish_status=1")
            return None
        found = self._search_published(content)
        if found is not None:
            state["article_id"], state["article_url"] = found.post_id, found.post_url
            return found
        if state.get("draft_media_id"):
            try:
                self._call("查询草稿", self.client.post, "draft/get",
                           data={"media_id": state["draft_media_id"]})
            except PermanentError as exc:
                if exc.platform_code != 40007:
                    raise
                # The draft is gone, so the submit reached WeChat; its result is not listed yet.
                raise RetryableError("草稿已提交发布，平台尚未列出结果，稍后再核实", 40007) from exc
        return None

    def _search_published(self, content: Content, pages: int = 3) -> PublishResult | None:
        for page in range(pages):
            result = self._call("查询已发布列表", self.client.post, "freepublish/batchget",
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

    # ---------------------------------------------------------------- withdrawal
    def withdraw(self, state: dict, post_id: str) -> None:
        if state.get("mode") == "mass":
            if str(post_id).startswith("clientmsgid:"):
                raise PermanentError("群发消息的 msg_id 未知，无法自动撤回，请登录公众平台手动删除")
            self._call("删除群发", self.client.message.delete_mass, post_id)
            return
        try:
            self._call("删除发布文章", self.client.post, "freepublish/delete",
                       data={"article_id": post_id, "index": 0})
        except PermanentError as exc:
            if exc.platform_code != 53600:
                raise
            # The id came from WeChat when it was published: invalid now means already deleted.
