"""Stand-in WeChat and Weibo platforms: a local HTTP server with the real paths, fields and codes.

Used by the tests and by the embedded run so an article goes out end to end with no real
credentials. Everything lives in memory. Run it alone with

    python -m adapters.standin --port 8765

or inside a process with `serve_in_thread(host, port) -> (server, url)`; `server.shutdown()`
stops it. Control endpoints live under /_standin/ (see docs/ADAPTERS.md):

    POST /_standin/faults   {"path": "/cgi-bin/draft/add", "errcode": 45009, "times": 2}
                            {"path": ..., "http_status": 503} | {"delay": 3.0} |
                            {"after_commit_delay": 3.0} | {"revoke_tokens": true}
    GET  /_standin/posts    what was published, per platform, with counts
    GET  /_standin/calls    calls per path, and every token request
    POST /_standin/config   {"wechat_publish_polls": 1, "wechat_publish_seconds": 1.0,
                             "wechat_publish_outcome": 0, "weibo_safe_domains": []}
    POST /_standin/wechat/apps    {"appid", "secret"}
    POST /_standin/weibo/tokens   {"access_token", "uid", "screen_name", "state": valid|expired}
    POST /_standin/reset
"""
from __future__ import annotations

import argparse
import copy
import html
import itertools
import math
import re
import secrets
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from flask import Flask, Response, abort, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

DEFAULT_WECHAT_APPS = {"wx5a7e1d0c0standin": "standin-app-secret-0123456789abcdef"}
DEFAULT_WEIBO_TOKENS = {
    "2.00standin_weibo_token": {"uid": 7000000001, "screen_name": "某县发布（模拟）",
                                "state": "valid"},
}
DEFAULT_CONFIG = {
    # A publish job answers publish_status 1 for this many polls, or until this many seconds
    # have passed, then settles with the outcome (0 success; 2–6 the documented failures).
    "wechat_publish_polls": 1,
    "wechat_publish_seconds": 1.0,
    "wechat_publish_outcome": 0,
    "token_expires_in": 7200,
    # Empty: any http(s) link satisfies the share API's "link in a safe domain" rule.
    "weibo_safe_domains": [],
}
LABEL = "平台模拟器（stand-in），不是真实的微信或微博"

WECHAT_ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40004: "invalid media type",
    40007: "invalid media_id",
    40013: "invalid appid",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41005: "media data missing",
    42001: "access_token expired",
    44003: "empty news data",
    45002: "content size out of limit",
    45003: "title size out of limit",
    45004: "description size out of limit",
    45009: "reach max api daily quota limit",
    45065: "clientmsgid exist",
    47001: "data format error",
    48001: "api unauthorized",
    53503: "该草稿未通过发布检查",
    53600: "Article ID 无效",
}
WEIBO_ERROR = {
    10001: "system error!",
    10006: "source paramter(appkey) is missing",
    10009: "too many pending tasks, system is busy!",
    10014: "Insufficient app permissions!",
    10016: "miss required parameter (%s) , see doc for more info!",
    10017: "parameter (status)'s value invalid,expect (status must contain a url of the app's"
           " safe domain) , but get (%s) , see doc for more info!",
    10023: "User requests out of rate limit!",
    10024: "User requests for (%s) out of rate limit!",
    20003: "User does not exists!",
    20005: "Unsupported image type, only suport JPG, GIF, PNG!",
    20012: "Text too long, please input text less than 140 characters!",
    20019: "repeat content!",
    20101: "target weibo does not exist!",
    20102: "not your own weibo!",
    21327: "expired_token",
    21332: "invalid_access_token",
}
_URL = re.compile(r"https?://[^\s<>\"']+")
_IMG = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["'])(.*?)\1[^>]*>""", re.IGNORECASE | re.DOTALL)


def _weibo_length(text: str) -> int:
    """Weibo counts a Chinese character as 1 and an ASCII character as half."""
    return math.ceil(sum(0.5 if ord(c) < 128 else 1 for c in text))


def _image_kind(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


class _Store:
    def __init__(self, wechat_apps: dict, weibo_tokens: dict, config: dict):
        self.defaults = (dict(wechat_apps), copy.deepcopy(weibo_tokens), dict(config))
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            apps, tokens, config = self.defaults
            self.wechat_apps = dict(apps)
            self.weibo_tokens = copy.deepcopy(tokens)
            self.config = dict(config)
            self.tokens: dict[str, dict] = {}        # WeChat access tokens issued
            self.current: dict[tuple, str] = {}      # (appid, kind) -> latest token
            self.materials: dict[str, dict] = {}
            self.images: dict[str, bytes] = {}
            self.drafts: dict[str, dict] = {}
            self.publishes: dict[str, dict] = {}
            self.articles: dict[str, dict] = {}
            self.mass: dict[str, dict] = {}
            self.clientmsgids: dict[tuple, str] = {}
            self.statuses: list[dict] = []           # Weibo, oldest first
            self.faults: list[dict] = []
            self.calls: Counter = Counter()
            self.token_requests: list[dict] = []
            self.seq = itertools.count(1)

    def next_id(self) -> int:
        return next(self.seq)


def make_app(wechat_apps: dict | None = None, weibo_tokens: dict | None = None,
             config: dict | None = None) -> Flask:
    """The stand-in as a Flask app. Defaults: one WeChat app (DEFAULT_WECHAT_APPS) and one
    Weibo token (DEFAULT_WEIBO_TOKENS)."""
    app = Flask("adapters.standin")
    store = _Store(DEFAULT_WECHAT_APPS if wechat_apps is None else wechat_apps,
                   DEFAULT_WEIBO_TOKENS if weibo_tokens is None else weibo_tokens,
                   {**DEFAULT_CONFIG, **(config or {})})
    app.extensions["standin"] = store

    # ------------------------------------------------------------------ answers
    def wechat_error(code: int, errmsg: str | None = None):
        return jsonify({"errcode": code, "errmsg": errmsg or WECHAT_ERRMSG.get(code, "error")})

    def weibo_error(code: int, detail: str = ""):
        message = WEIBO_ERROR.get(code, "error")
        if "%s" in message:
            message = message.replace("%s", detail or "")
        status = 401 if 21300 <= code < 21400 else 403 if code in (10014, 10023, 10024) else 400
        return jsonify({"error": message, "error_code": code, "request": request.path}), status

    def platform_error(code: int, errmsg: str | None = None):
        if request.path.startswith("/2/"):
            if errmsg:
                return jsonify({"error": errmsg, "error_code": code, "request": request.path}), 400
            return weibo_error(code)
        return wechat_error(code, errmsg)

    def body_json() -> dict:
        data = request.get_json(force=True, silent=True)
        return data if isinstance(data, dict) else {}

    # ------------------------------------------------------------------ faults and counts
    def _fault_for(path: str) -> dict | None:
        with store.lock:
            for fault in store.faults:
                pattern = fault.get("path") or ""
                hit = path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern
                if hit and fault["times"] > 0:
                    fault["times"] -= 1
                    return dict(fault)
        return None

    @app.before_request
    def _before():
        if request.path.startswith("/_standin") or not request.path.startswith(("/cgi-bin/",
                                                                                 "/2/")):
            return None
        with store.lock:
            store.calls[request.path] += 1
        fault = _fault_for(request.path)
        request.environ["standin.fault"] = fault
        if not fault:
            return None
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
        if fault.get("http_status"):
            status = int(fault["http_status"])
            return Response(f"<html><body><h1>{status}</h1></body></html>", status=status,
                            mimetype="text/html")
        code = fault.get("errcode", fault.get("error_code"))
        if code is not None:
            return platform_error(int(code), fault.get("errmsg"))
        return None

    @app.after_request
    def _after(response):
        fault = request.environ.get("standin.fault")
        if fault and fault.get("after_commit_delay"):
            # The work is recorded; the answer is late, so the client gives up waiting.
            time.sleep(float(fault["after_commit_delay"]))
        return response

    # ------------------------------------------------------------------ WeChat tokens
    def _issue(appid: str, kind: str) -> dict:
        token = f"ST{secrets.token_hex(24)}" if kind == "stable" else secrets.token_hex(32)
        expires_in = int(store.config["token_expires_in"])
        old = store.current.get((appid, kind))
        if old in store.tokens:
            store.tokens[old]["valid"] = False  # a new token replaces the previous one
        store.tokens[token] = {"appid": appid, "kind": kind, "valid": True,
                               "expires_at": time.time() + expires_in}
        store.current[(appid, kind)] = token
        return {"access_token": token, "expires_in": expires_in}

    def _check_app(appid, secret, grant_type):
        if grant_type != "client_credential":
            return wechat_error(40002)
        if appid not in store.wechat_apps:
            return wechat_error(40013)
        if store.wechat_apps[appid] != secret:
            return wechat_error(40125)
        return None

    @app.get("/cgi-bin/token")
    def wechat_token():
        args = request.args
        with store.lock:
            store.token_requests.append({"path": request.path, "appid": args.get("appid"),
                                         "force_refresh": True})
            refused = _check_app(args.get("appid"), args.get("secret"), args.get("grant_type"))
            if refused:
                return refused
            return jsonify(_issue(args["appid"], "classic"))

    @app.post("/cgi-bin/stable_token")
    def wechat_stable_token():
        data = body_json()
        force = bool(data.get("force_refresh"))
        with store.lock:
            store.token_requests.append({"path": request.path, "appid": data.get("appid"),
                                         "force_refresh": force})
            refused = _check_app(data.get("appid"), data.get("secret"), data.get("grant_type"))
            if refused:
                return refused
            current = store.current.get((data["appid"], "stable"))
            info = store.tokens.get(current) if current else None
            if not force and info and info["valid"] and info["expires_at"] > time.time():
                return jsonify({"access_token": current,
                                "expires_in": int(info["expires_at"] - time.time())})
            return jsonify(_issue(data["appid"], "stable"))

    def _caller():
        """The appid behind the request's access_token, or an error answer."""
        token = request.args.get("access_token")
        if not token:
            return None, wechat_error(41001)
        with store.lock:
            info = store.tokens.get(token)
            if info is None or not info["valid"]:
                return None, wechat_error(40001)
            if info["expires_at"] <= time.time():
                return None, wechat_error(42001)
            return info["appid"], None

    # ------------------------------------------------------------------ WeChat media
    def _host() -> str:
        return request.host_url.rstrip("/")

    def _upload():
        appid, refused = _caller()
        if refused:
            return None, None, refused
        media = request.files.get("media")
        if media is None:
            return None, None, wechat_error(41005)
        data = media.read()
        kind = _image_kind(data)
        if kind is None:
            return None, None, wechat_error(40005, "invalid file type")
        return appid, (data, kind), None

    @app.post("/cgi-bin/material/add_material")
    def wechat_add_material():
        if request.args.get("type") not in ("image", "thumb", "voice", "video"):
            return wechat_error(40004)
        appid, image, refused = _upload()
        if refused:
            return refused
        data, kind = image
        with store.lock:
            n = store.next_id()
            media_id = f"MATERIAL{n:06d}{secrets.token_hex(8)}"
            name = f"m{n}.{kind}"
            store.images[name] = data
            store.materials[media_id] = {"appid": appid, "type": request.args["type"],
                                         "url": f"{_host()}/mmbiz/{name}"}
            return jsonify({"media_id": media_id, "url": store.materials[media_id]["url"]})

    @app.post("/cgi-bin/media/uploadimg")
    def wechat_uploadimg():
        _appid, image, refused = _upload()
        if refused:
            return refused
        data, kind = image
        with store.lock:
            name = f"i{store.next_id()}.{kind}"
            store.images[name] = data
            return jsonify({"url": f"{_host()}/mmbiz/{name}"})

    @app.get("/mmbiz/<name>")
    def wechat_image(name):
        data = store.images.get(name)
        if data is None:
            abort(404)
        return Response(data, mimetype=f"image/{'jpeg' if name.endswith('jpg') else name[-3:]}")

    # ------------------------------------------------------------------ WeChat drafts and publishing
    @app.post("/cgi-bin/draft/add")
    def wechat_draft_add():
        appid, refused = _caller()
        if refused:
            return refused
        articles = body_json().get("articles")
        if not isinstance(articles, list) or not articles:
            return wechat_error(44003)
        stored = []
        with store.lock:
            uploaded = {url for url in (f"{_host()}/mmbiz/{n}" for n in store.images)}
            for article in articles:
                if (article.get("article_type") or "news") == "news":
                    material = store.materials.get(article.get("thumb_media_id") or "")
                    if material is None or material["appid"] != appid:
                        return wechat_error(40007)
                if not article.get("title") or len(article["title"]) > 32:
                    return wechat_error(45003)
                if len(article.get("digest") or "") > 128:
                    return wechat_error(45004)
                content = article.get("content") or ""
                if not content:
                    return wechat_error(44003)
                if len(content) >= 20000:
                    return wechat_error(45002)
                # WeChat filters out images that were not uploaded through media/uploadimg.
                content = _IMG.sub(lambda m: m.group(0) if m.group(2) in uploaded else "",
                                   content)
                stored.append({**article, "content": content})
            media_id = f"DRAFT{store.next_id():06d}{secrets.token_hex(8)}"
            store.drafts[media_id] = {"appid": appid, "articles": stored,
                                      "update_time": int(time.time())}
            return jsonify({"media_id": media_id})

    @app.post("/cgi-bin/draft/get")
    def wechat_draft_get():
        appid, refused = _caller()
        if refused:
            return refused
        with store.lock:
            draft = store.drafts.get(body_json().get("media_id") or "")
            if draft is None or draft["appid"] != appid:
                return wechat_error(40007)
            return jsonify({"news_item": draft["articles"]})

    def _take_draft(appid: str, media_id: str):
        draft = store.drafts.get(media_id or "")
        if draft is None or draft["appid"] != appid:
            return None
        # A draft that is published or mass-sent leaves the draft box.
        return store.drafts.pop(media_id)

    @app.post("/cgi-bin/freepublish/submit")
    def wechat_submit():
        appid, refused = _caller()
        if refused:
            return refused
        with store.lock:
            draft = _take_draft(appid, body_json().get("media_id"))
            if draft is None:
                return wechat_error(40007)
            publish_id = str(2247483000 + store.next_id())
            store.publishes[publish_id] = {
                "appid": appid, "articles": draft["articles"], "polls": 0,
                "created": time.monotonic(), "status": 1, "article_id": None,
                "outcome": int(store.config["wechat_publish_outcome"])}
            return jsonify({"errcode": 0, "errmsg": "ok", "publish_id": publish_id,
                            "msg_data_id": str(2247483000 + store.next_id())})

    def _settle(publish_id: str, host: str, polled: bool):
        job = store.publishes[publish_id]
        if job["status"] != 1:
            return job
        if polled:
            job["polls"] += 1
        due = (job["polls"] > int(store.config["wechat_publish_polls"]) or
               time.monotonic() - job["created"] >= float(store.config["wechat_publish_seconds"]))
        if not due:
            return job
        job["status"] = job["outcome"]
        if job["status"] == 0:
            article_id = f"ARTICLE{store.next_id():06d}{secrets.token_hex(6)}"
            job["article_id"] = article_id
            store.articles[article_id] = {
                "appid": job["appid"], "articles": job["articles"], "deleted": False,
                "publish_id": publish_id, "update_time": int(time.time()),
                "url": f"{host}/s/{article_id}", "seq": store.next_id()}
        return job

    @app.post("/cgi-bin/freepublish/get")
    def wechat_publish_get():
        appid, refused = _caller()
        if refused:
            return refused
        publish_id = str(body_json().get("publish_id") or "")
        with store.lock:
            if publish_id not in store.publishes or store.publishes[publish_id]["appid"] != appid:
                return wechat_error(40007, "invalid publish_id")
            job = _settle(publish_id, _host(), polled=True)
            answer = {"publish_id": publish_id, "publish_status": job["status"], "fail_idx": []}
            if job["status"] == 0:
                article = store.articles[job["article_id"]]
                answer["article_id"] = job["article_id"]
                answer["article_detail"] = {"count": len(article["articles"]), "item": [
                    {"idx": i + 1, "article_url": article["url"]}
                    for i in range(len(article["articles"]))]}
            elif job["status"] >= 2:
                answer["fail_idx"] = [1]
            return jsonify(answer)

    @app.post("/cgi-bin/freepublish/batchget")
    def wechat_batchget():
        appid, refused = _caller()
        if refused:
            return refused
        data = body_json()
        offset, count = int(data.get("offset") or 0), int(data.get("count") or 20)
        if not 1 <= count <= 20:
            return wechat_error(47001)
        no_content = int(data.get("no_content") or 0)
        with store.lock:
            for publish_id in list(store.publishes):
                _settle(publish_id, _host(), polled=False)
            mine = sorted((a for a in store.articles.items()
                           if a[1]["appid"] == appid and not a[1]["deleted"]),
                          key=lambda item: -item[1]["seq"])
            items = []
            for article_id, article in mine[offset:offset + count]:
                news = []
                for item in article["articles"]:
                    entry = {k: item.get(k, "") for k in (
                        "title", "author", "digest", "content", "content_source_url",
                        "thumb_media_id")}
                    entry.update({"show_cover_pic": 1, "need_open_comment":
                                  item.get("need_open_comment", 0), "only_fans_can_comment":
                                  item.get("only_fans_can_comment", 0), "url": article["url"],
                                  "is_deleted": False})
                    if no_content:
                        entry.pop("content")
                    news.append(entry)
                items.append({"article_id": article_id, "update_time": article["update_time"],
                              "content": {"news_item": news,
                                          "create_time": article["update_time"],
                                          "update_time": article["update_time"]}})
            return jsonify({"total_count": len(mine), "item_count": len(items), "item": items})

    @app.post("/cgi-bin/freepublish/delete")
    def wechat_publish_delete():
        appid, refused = _caller()
        if refused:
            return refused
        with store.lock:
            article = store.articles.get(str(body_json().get("article_id") or ""))
            if article is None or article["appid"] != appid or article["deleted"]:
                return wechat_error(53600)
            article["deleted"] = True
            return jsonify({"errcode": 0, "errmsg": "ok"})

    @app.get("/s/<article_id>")
    def wechat_article_page(article_id):
        article = store.articles.get(article_id)
        if article is None or article["deleted"]:
            return _page("该内容已被发布者删除", "<p>该内容已被发布者删除</p>", 404)
        first = article["articles"][0]
        return _page(first.get("title", ""), f"<h1>{html.escape(first.get('title', ''))}</h1>"
                     f"<p>{html.escape(first.get('author') or '')}</p>{first.get('content', '')}")

    # ------------------------------------------------------------------ WeChat mass send
    @app.post("/cgi-bin/message/mass/sendall")
    def wechat_sendall():
        appid, refused = _caller()
        if refused:
            return refused
        data = body_json()
        media_id = (data.get("mpnews") or {}).get("media_id")
        with store.lock:
            client_id = data.get("clientmsgid")
            if client_id and (appid, client_id) in store.clientmsgids:
                return wechat_error(45065)
            draft = _take_draft(appid, media_id)
            if data.get("msgtype") != "mpnews" or draft is None:
                return wechat_error(40007)
            msg_id = str(1000000000 + store.next_id())
            store.mass[msg_id] = {"appid": appid, "articles": draft["articles"],
                                  "deleted": False, "clientmsgid": client_id,
                                  "seq": store.next_id()}
            if client_id:
                store.clientmsgids[(appid, client_id)] = msg_id
            return jsonify({"errcode": 0, "errmsg": "send job submission success",
                            "msg_id": int(msg_id), "msg_data_id": int(msg_id) + 7})

    @app.post("/cgi-bin/message/mass/get")
    def wechat_mass_get():
        appid, refused = _caller()
        if refused:
            return refused
        with store.lock:
            msg_id = str(body_json().get("msg_id") or "")
            sent = store.mass.get(msg_id)
            if sent is None or sent["appid"] != appid:
                return wechat_error(40007, "invalid msg_id")
            return jsonify({"msg_id": int(msg_id), "msg_status": "SEND_SUCCESS"})

    @app.post("/cgi-bin/message/mass/delete")
    def wechat_mass_delete():
        appid, refused = _caller()
        if refused:
            return refused
        with store.lock:
            sent = store.mass.get(str(body_json().get("msg_id") or ""))
            if sent is None or sent["appid"] != appid:
                return wechat_error(40007, "invalid msg_id")
            sent["deleted"] = True
            return jsonify({"errcode": 0, "errmsg": "ok"})

    # ------------------------------------------------------------------ Weibo
    def _weibo_user():
        token = request.values.get("access_token")
        if not token:
            return None, weibo_error(10006)
        with store.lock:
            user = store.weibo_tokens.get(token)
            if user is None or user.get("state") == "revoked":
                return None, weibo_error(21332)
            if user.get("state") == "expired":
                return None, weibo_error(21327)
            return user, None

    def _public_status(status: dict) -> dict:
        return {k: v for k, v in status.items() if not k.startswith("_")}

    @app.post("/2/statuses/share.json")
    def weibo_share():
        user, refused = _weibo_user()
        if refused:
            return refused
        text = request.form.get("status")
        if not text:
            return weibo_error(10016, "status")
        if _weibo_length(text) > 140:
            return weibo_error(20012)
        links = _URL.findall(text)
        domains = store.config["weibo_safe_domains"]
        if not links or (domains and not any(
                re.match(rf"https?://([^/]+\.)?{re.escape(d)}(/|$)", link)
                for link in links for d in domains)):
            return weibo_error(10017, text)
        pic = request.files.get("pic")
        pic_data = pic.read() if pic is not None else None
        if pic is not None and _image_kind(pic_data) is None:
            return weibo_error(20005)
        with store.lock:
            if any(s["_owner"] == user["uid"] and not s["_deleted"] and s["_original"] == text
                   for s in store.statuses):
                return weibo_error(20019)
            n = store.next_id()
            status_id = 4900000000000000 + n
            # Weibo rewrites links to t.cn short links in the text it returns.
            shown = _URL.sub(lambda m: "http://t.cn/" + secrets.token_urlsafe(5)[:7], text)
            created = datetime.now(timezone(timedelta(hours=8)))
            status = {
                "created_at": created.strftime("%a %b %d %H:%M:%S +0800 %Y"),
                "id": status_id, "idstr": str(status_id), "mid": str(status_id),
                "text": shown, "source": '<a href="https://open.weibo.com" rel="nofollow">'
                                         '政务发布（模拟）</a>',
                "favorited": False, "truncated": False, "reposts_count": 0,
                "comments_count": 0, "attitudes_count": 0,
                "user": {"id": user["uid"], "idstr": str(user["uid"]),
                         "screen_name": user.get("screen_name", ""),
                         "name": user.get("screen_name", "")},
                "_owner": user["uid"], "_deleted": False, "_original": text,
            }
            if pic_data is not None:
                name = f"w{n}.{_image_kind(pic_data)}"
                store.images[name] = pic_data
                url = f"{_host()}/mmbiz/{name}"
                status.update({"thumbnail_pic": url, "bmiddle_pic": url, "original_pic": url,
                               "pic_ids": [name]})
            store.statuses.append(status)
            return jsonify(_public_status(status))

    @app.get("/2/statuses/user_timeline.json")
    def weibo_user_timeline():
        user, refused = _weibo_user()
        if refused:
            return refused
        count = max(1, min(int(request.args.get("count") or 20), 100))
        page = max(1, int(request.args.get("page") or 1))
        with store.lock:
            mine = [s for s in reversed(store.statuses)
                    if s["_owner"] == user["uid"] and not s["_deleted"]]
            chosen = mine[(page - 1) * count:page * count]
            return jsonify({"statuses": [_public_status(s) for s in chosen],
                            "total_number": len(mine), "previous_cursor": 0, "next_cursor": 0})

    @app.post("/2/statuses/destroy.json")
    def weibo_destroy():
        user, refused = _weibo_user()
        if refused:
            return refused
        wanted = request.form.get("id")
        if not wanted:
            return weibo_error(10016, "id")
        with store.lock:
            status = next((s for s in store.statuses if s["idstr"] == str(wanted)), None)
            if status is None or status["_deleted"]:
                return weibo_error(20101)
            if status["_owner"] != user["uid"]:
                return weibo_error(20102)
            status["_deleted"] = True
            return jsonify(_public_status(status))

    @app.get("/status/<status_id>")
    def weibo_status_page(status_id):
        status = next((s for s in store.statuses if s["idstr"] == status_id), None)
        if status is None or status["_deleted"]:
            return _page("微博不存在", "<p>该微博不存在或已被删除</p>", 404)
        text = _URL.sub(lambda m: f'<a href="{html.escape(m.group(0))}">'
                                  f'{html.escape(m.group(0))}</a>',
                        html.escape(status["_original"]))
        pic = (f'<p><img src="{html.escape(status["original_pic"])}" alt=""></p>'
               if status.get("original_pic") else "")
        return _page(status["user"]["screen_name"],
                     f"<h1>{html.escape(status['user']['screen_name'])}</h1><p>{text}</p>{pic}")

    # ------------------------------------------------------------------ pages
    def _page(title: str, body: str, status: int = 200) -> Response:
        page = (f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(title)}</title></head><body>"
                f"<p><strong>{LABEL}</strong></p>{body}</body></html>")
        return Response(page, status=status, mimetype="text/html")

    @app.get("/")
    def index():
        posts = _posts()
        rows = "".join(
            f'<li>微信：<a href="{html.escape(p["url"] or "")}">{html.escape(p["title"])}</a>'
            f'{"（已删除）" if p["deleted"] else ""}</li>' for p in posts["wechat"]["items"])
        rows += "".join(
            f'<li>微博：<a href="/status/{p["id"]}">{html.escape(p["text"])}</a>'
            f'{"（已删除）" if p["deleted"] else ""}</li>' for p in posts["weibo"]["items"])
        return _page("平台模拟器", f"<h1>平台模拟器</h1><ul>{rows or '<li>尚无发布</li>'}</ul>")

    # ------------------------------------------------------------------ control
    def _posts() -> dict:
        with store.lock:
            wechat = [{"kind": "publish", "article_id": article_id, "appid": a["appid"],
                       "title": a["articles"][0].get("title", ""), "url": a["url"],
                       "publish_id": a["publish_id"], "deleted": a["deleted"],
                       "content": a["articles"][0].get("content", ""),
                       "content_source_url": a["articles"][0].get("content_source_url", "")}
                      for article_id, a in store.articles.items()]
            wechat += [{"kind": "mass", "msg_id": msg_id, "appid": m["appid"],
                        "title": m["articles"][0].get("title", ""), "url": None,
                        "clientmsgid": m["clientmsgid"], "deleted": m["deleted"],
                        "content": m["articles"][0].get("content", "")}
                       for msg_id, m in store.mass.items()]
            weibo = [{"id": s["idstr"], "uid": s["_owner"], "text": s["_original"],
                      "shown_text": s["text"], "pic": bool(s.get("original_pic")),
                      "deleted": s["_deleted"]} for s in store.statuses]
            publishing = sum(1 for p in store.publishes.values() if p["status"] == 1)
        return {"wechat": {"count": len(wechat), "live": sum(not p["deleted"] for p in wechat),
                           "publishing": publishing, "items": wechat},
                "weibo": {"count": len(weibo), "live": sum(not p["deleted"] for p in weibo),
                          "items": weibo}}

    @app.get("/_standin/posts")
    def control_posts():
        return jsonify(_posts())

    @app.get("/_standin/calls")
    def control_calls():
        with store.lock:
            return jsonify({"calls": dict(store.calls),
                            "token_requests": list(store.token_requests)})

    @app.post("/_standin/faults")
    def control_faults():
        data = body_json()
        with store.lock:
            if data.get("revoke_tokens"):
                for info in store.tokens.values():
                    info["valid"] = False
            if data.get("path"):
                fault = {k: v for k, v in data.items() if k != "revoke_tokens"}
                fault["times"] = int(data.get("times", 1))
                store.faults.append(fault)
            return jsonify({"faults": store.faults})

    @app.delete("/_standin/faults")
    def control_clear_faults():
        with store.lock:
            store.faults.clear()
        return jsonify({"faults": []})

    @app.post("/_standin/config")
    def control_config():
        data = body_json()
        unknown = sorted(set(data) - set(DEFAULT_CONFIG))
        if unknown:
            return jsonify({"error": f"unknown settings: {', '.join(unknown)}"}), 400
        with store.lock:
            store.config.update(data)
            return jsonify(store.config)

    @app.post("/_standin/wechat/apps")
    def control_wechat_app():
        data = body_json()
        with store.lock:
            store.wechat_apps[data["appid"]] = data["secret"]
        return jsonify({"appid": data["appid"]})

    @app.post("/_standin/weibo/tokens")
    def control_weibo_token():
        data = body_json()
        with store.lock:
            store.weibo_tokens[data["access_token"]] = {
                "uid": int(data.get("uid") or 7000000000 + store.next_id()),
                "screen_name": data.get("screen_name") or "模拟账号",
                "state": data.get("state") or "valid"}
        return jsonify({"access_token": data["access_token"]})

    @app.post("/_standin/reset")
    def control_reset():
        store.reset()
        return jsonify({"reset": True})

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # the tests and the embedded run stay readable
        pass


def serve_in_thread(host: str = "127.0.0.1", port: int = 0, app: Flask | None = None):
    """Start the stand-in on a daemon thread; port 0 picks a free one. Returns (server, url);
    `server.shutdown()` stops it and `server.app` is the Flask app."""
    app = app or make_app()
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    server.app = app
    thread = threading.Thread(target=server.serve_forever, name="govmedia-standin", daemon=True)
    thread.start()
    return server, f"http://{host}:{server.server_port}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Stand-in WeChat and Weibo platforms")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    app = make_app()
    server = make_server(args.host, args.port, app, threaded=True)
    appid, secret = next(iter(DEFAULT_WECHAT_APPS.items()))
    print(f"stand-in platforms on http://{args.host}:{server.server_port}/ ({LABEL})\n"
          f"  WECHAT_API_BASE_URL=WEIBO_API_BASE_URL=http://{args.host}:{server.server_port}\n"
          f"  WeChat app_id={appid} app_secret={secret}\n"
          f"  Weibo access_token={next(iter(DEFAULT_WEIBO_TOKENS))}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
