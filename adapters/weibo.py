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

OFFICIAL_API = "https://api.weibo.com"
OFFICIAL_WEB = "https://m.weibo.cn"

# The sponsor must authorize the application again; the product cannot cure these.
TOKEN_EXPIRED = {
    21314: "授权令牌已被使用",
    21315: "授权令牌已过期",
    21316: "授权令牌不合法",
    21317: "授权令牌不合法",
    21319: "授权关系已被解除",
    21327: "授权令牌已过期",
    21332: "授权令牌无效",
}

RETRYABLE = {
    10002: ("微博服务暂停，稍后重试", None),
    10009: ("微博任务过多、系统繁忙，稍后重试", None),
    10022: ("IP 请求频次超过上限，稍后重试", 3600.0),
    10023: ("用户请求频次超过上限，稍后重试", 3600.0),
    10024: ("用户请求该接口的频次超过上限，稍后重试", 3600.0),
    20016: ("发布内容过于频繁，稍后重试", 600.0),
}

PERMANENT = {
    10004: "服务器 IP 受限，不能请求该资源",
    10005: "该接口需要应用获得授权",
    10008: "参数错误",
    10013: "不合法的微博用户",
    10014: "应用权限不足（应用的接口访问权限受限）",
    10016: "缺少必选参数",
    10017: "参数值非法（分享文本须包含应用安全域名下的链接）",
    10018: "请求长度超过限制",
    10020: "接口不存在，请检查 WEIBO_API_BASE_URL",
    20003: "用户不存在",
    20005: "不支持的图片类型，仅支持 JPG、GIF、PNG",
    20006: "图片太大（不超过 5M）",
    20007: "图片须以 multipart 上传",
    20008: "内容为空",
    20012: "文本过长（不超过 140 个字）",
    20015: "账号、IP 或应用非法，暂时无法完成此操作",
    20017: "重复内容（提交了相似的信息）",
    20018: "包含非法网址",
    20019: "重复内容（提交了相同的信息）",
    20020: "包含广告信息",
    20021: "包含非法内容",
    20022: "此 IP 地址上的行为异常",
    20031: "需要验证码，请登录微博处理",
    20034: "账号被锁定，请登录微博处理",
    20101: "微博不存在",
    20201: "评论不存在（可能已被删除）",
    20102: "不是该账号发布的微博",
    20111: "重复内容（不能发布相同的微博）",
    21301: "认证失败",
    21321: "未审核的应用使用人数超过限制",
    21337: "应用权限不足",
}

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
                raise UnconfirmedError(f"网关超时（{what}），不确定是否已发布，需先向平台核实",
                                       res.status_code)
            raise RetryableError(f"微博平台暂时不可用（HTTP {res.status_code}，{what}），稍后重试",
                                 res.status_code)
        if res.status_code >= 400:
            raise PermanentError(f"微博平台拒绝请求（HTTP {res.status_code}，{what}），请检查接口地址配置",
                                 res.status_code)
        if not isinstance(body, dict):
            message = f"微博平台返回了无法解析的内容（{what}）"
            if commits:
                raise UnconfirmedError(message + "，不确定是否已发布，需先向平台核实")
            raise RetryableError(message)
        return body

    @staticmethod
    def _map_error(body: dict, what: str, commits: bool):
        code = int(body["error_code"])
        errmsg = body.get("error")
        if code in TOKEN_EXPIRED:
            return AuthError(f"微博{TOKEN_EXPIRED[code]}，需由主办单位重新授权", code,
                             platform_message=errmsg, token_expired=True)
        if code in RETRYABLE:
            message, after = RETRYABLE[code]
            return RetryableError(message, code, platform_message=errmsg, retry_after=after)
        if code == 20032:
            # "Published, but the server is slow": it exists, we just have no id for it yet.
            return UnconfirmedError("微博已受理但服务器延迟，需先向平台核实", code,
                                    platform_message=errmsg)
        if code in (10001, 10003, 10010, 10011):
            message = f"微博系统错误（{what}）"
            if commits:
                return UnconfirmedError(message + "，不确定是否已发布，需先向平台核实", code,
                                        platform_message=errmsg)
            return RetryableError(message + "，稍后重试", code, platform_message=errmsg)
        if code in PERMANENT:
            return PermanentError(PERMANENT[code], code, platform_message=errmsg)
        return PermanentError(f"微博平台返回错误：{errmsg or code}", code, platform_message=errmsg)

    # ---------------------------------------------------------------- comments (the inbox)
    def comments_to_me(self, since_id: str | None, pages: int = 5) -> list[dict]:
        """Comments on the account's posts newer than `since_id`, oldest first (at most
        `pages` x 100 a call; the next pull continues from the newest one returned)."""
        found: list[dict] = []
        for page in range(1, pages + 1):
            params = {"count": 100, "page": page}
            if since_id:
                params["since_id"] = since_id
            body = self._request("GET", "comments/to_me.json", "查询收到的评论", params=params)
            comments = body.get("comments") or []
            found.extend(c for c in comments if isinstance(c, dict))
            if len(comments) < 100:
                break
        return sorted(found, key=lambda c: int(c.get("idstr") or c.get("id") or 0))

    def reply_comment(self, comment_id: str, status_id: str, text: str) -> str:
        """Reply to a comment (comments/reply); the reply's id."""
        body = self._request("POST", "comments/reply.json", "回复评论", commits=True,
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
        status = self._request("POST", "statuses/share.json", "分享到微博", commits=True,
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
            body = self._request("GET", "statuses/user_timeline.json", "查询微博列表",
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
        body = self._request("GET", "statuses/user_timeline.json", "查询微博列表", params=params)
        listed = []
        for status in body.get("statuses") or []:
            try:
                when = datetime.strptime(status.get("created_at") or "",
                                         "%a %b %d %H:%M:%S %z %Y")
            except ValueError as exc:
                raise PermanentError("微博返回了无法识别的发布时间", status.get("created_at")) \
                    from exc
            listed.append(ListedPost(str(status.get("idstr") or status["id"]), when,
                                     status.get("text") or "", self._post_url(status)))
        return listed

    # ---------------------------------------------------------------- withdrawal
    def withdraw(self, state: dict, post_id: str) -> None:
        try:
            self._request("POST", "statuses/destroy.json", "删除微博", data={"id": post_id})
        except PermanentError as exc:
            if exc.platform_code != 20101:
                raise
            # The id came from Weibo when it was posted: "does not exist" means already deleted.
