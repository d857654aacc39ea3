"""The WeChat official-account API: tokens, media, drafts, free publishing and mass send."""
from __future__ import annotations

import html
import re
import secrets
import time

from flask import Blueprint, Response, abort, jsonify, request

from standins.common import body_json, host, image_kind, page
from standins.store import Store, current_store

bp = Blueprint("wechat", __name__)

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
    45066: "clientmsgid retry too fast",
    47001: "data format error",
    48001: "api unauthorized",
    53503: "该草稿未通过发布检查",
    53600: "Article ID 无效",
    61500: "date format error",
    89503: "此次调用需要管理员确认，请耐心等候",
    89507: "该IP调用求请求已被公众号管理员拒绝，请1小时后再试，建议调用前与管理员沟通确认",
    61501: "date range error",
}
_IMG = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["'])(.*?)\1[^>]*>""", re.IGNORECASE | re.DOTALL)


def wechat_error(code: int, errmsg: str | None = None):
    return jsonify({"errcode": code, "errmsg": errmsg or WECHAT_ERRMSG.get(code, "error")})


# ---------------------------------------------------------------------- tokens
def _issue(store: Store, appid: str, kind: str) -> dict:
    token = f"ST{secrets.token_hex(24)}" if kind == "stable" else secrets.token_hex(32)
    expires_in = int(store.config["token_expires_in"])
    old = store.current.get((appid, kind))
    if old in store.tokens:
        store.tokens[old]["valid"] = False  # a new token replaces the previous one
    store.tokens[token] = {"appid": appid, "kind": kind, "valid": True,
                           "expires_at": time.time() + expires_in}
    store.current[(appid, kind)] = token
    return {"access_token": token, "expires_in": expires_in}


def _check_app(store: Store, appid, secret, grant_type):
    if grant_type != "client_credential":
        return wechat_error(40002)
    if appid not in store.wechat_apps:
        return wechat_error(40013)
    if store.wechat_apps[appid] != secret:
        return wechat_error(40125)
    return None


@bp.get("/cgi-bin/token")
def wechat_token():
    store, args = current_store(), request.args
    with store.lock:
        store.token_requests.append({"path": request.path, "appid": args.get("appid"),
                                     "force_refresh": True})
        refused = _check_app(store, args.get("appid"), args.get("secret"),
                             args.get("grant_type"))
        if refused:
            return refused
        return jsonify(_issue(store, args["appid"], "classic"))


@bp.post("/cgi-bin/stable_token")
def wechat_stable_token():
    store, data = current_store(), body_json()
    force = bool(data.get("force_refresh"))
    with store.lock:
        store.token_requests.append({"path": request.path, "appid": data.get("appid"),
                                     "force_refresh": force})
        refused = _check_app(store, data.get("appid"), data.get("secret"),
                             data.get("grant_type"))
        if refused:
            return refused
        current = store.current.get((data["appid"], "stable"))
        info = store.tokens.get(current) if current else None
        if not force and info and info["valid"] and info["expires_at"] > time.time():
            return jsonify({"access_token": current,
                            "expires_in": int(info["expires_at"] - time.time())})
        return jsonify(_issue(store, data["appid"], "stable"))


def _caller():
    """The appid behind the request's access_token, or an error answer."""
    token = request.args.get("access_token")
    if not token:
        return None, wechat_error(41001)
    store = current_store()
    with store.lock:
        info = store.tokens.get(token)
        if info is None or not info["valid"]:
            return None, wechat_error(40001)
        if info["expires_at"] <= time.time():
            return None, wechat_error(42001)
        return info["appid"], None


# ---------------------------------------------------------------------- media
def _upload():
    appid, refused = _caller()
    if refused:
        return None, None, refused
    media = request.files.get("media")
    if media is None:
        return None, None, wechat_error(41005)
    data = media.read()
    kind = image_kind(data)
    if kind is None:
        return None, None, wechat_error(40005, "invalid file type")
    return appid, (data, kind), None


@bp.post("/cgi-bin/material/add_material")
def wechat_add_material():
    if request.args.get("type") not in ("image", "thumb", "voice", "video"):
        return wechat_error(40004)
    appid, image, refused = _upload()
    if refused:
        return refused
    data, kind = image
    store = current_store()
    with store.lock:
        n = store.next_id()
        media_id = f"MATERIAL{n:06d}{secrets.token_hex(8)}"
        name = f"m{n}.{kind}"
        store.images[name] = data
        store.materials[media_id] = {"appid": appid, "type": request.args["type"],
                                     "url": f"{host()}/mmbiz/{name}"}
        return jsonify({"media_id": media_id, "url": store.materials[media_id]["url"]})


@bp.post("/cgi-bin/media/uploadimg")
def wechat_uploadimg():
    _appid, image, refused = _upload()
    if refused:
        return refused
    data, kind = image
    store = current_store()
    with store.lock:
        name = f"i{store.next_id()}.{kind}"
        store.images[name] = data
        return jsonify({"url": f"{host()}/mmbiz/{name}"})


@bp.get("/mmbiz/<name>")
def wechat_image(name):
    data = current_store().images.get(name)
    if data is None:
        abort(404)
    return Response(data, mimetype=f"image/{'jpeg' if name.endswith('jpg') else name[-3:]}")


# ---------------------------------------------------------------------- drafts
def _checked_article(store: Store, appid: str, article: dict, uploaded: set):
    """(the article as the draft box keeps it, None) or (None, the error answer)."""
    if (article.get("article_type") or "news") == "news":
        material = store.materials.get(article.get("thumb_media_id") or "")
        if material is None or material["appid"] != appid:
            return None, wechat_error(40007)
    if not article.get("title") or len(article["title"]) > 64:  # the 公众号后台 editor's limit
        return None, wechat_error(45003)
    if len(article.get("digest") or "") > 128:
        return None, wechat_error(45004)
    content = article.get("content") or ""
    if not content:
        return None, wechat_error(44003)
    if len(content) >= 20000:
        return None, wechat_error(45002)
    # WeChat filters out images that were not uploaded through media/uploadimg.
    content = _IMG.sub(lambda m: m.group(0) if m.group(2) in uploaded else "", content)
    return {**article, "content": content}, None


@bp.post("/cgi-bin/draft/add")
def wechat_draft_add():
    appid, refused = _caller()
    if refused:
        return refused
    articles = body_json().get("articles")
    if not isinstance(articles, list) or not articles:
        return wechat_error(44003)
    stored = []
    store = current_store()
    with store.lock:
        uploaded = {url for url in (f"{host()}/mmbiz/{n}" for n in store.images)}
        for article in articles:
            kept, refused = _checked_article(store, appid, article, uploaded)
            if refused:
                return refused
            stored.append(kept)
        media_id = f"DRAFT{store.next_id():06d}{secrets.token_hex(8)}"
        store.drafts[media_id] = {"appid": appid, "articles": stored,
                                  "update_time": int(time.time())}
        return jsonify({"media_id": media_id})


@bp.post("/cgi-bin/draft/get")
def wechat_draft_get():
    appid, refused = _caller()
    if refused:
        return refused
    store = current_store()
    with store.lock:
        draft = store.drafts.get(body_json().get("media_id") or "")
        if draft is None or draft["appid"] != appid:
            return wechat_error(40007)
        return jsonify({"news_item": draft["articles"]})


def _take_draft(store: Store, appid: str, media_id: str):
    draft = store.drafts.get(media_id or "")
    if draft is None or draft["appid"] != appid:
        return None
    # A draft that is published or mass-sent leaves the draft box.
    return store.drafts.pop(media_id)


# ---------------------------------------------------------------------- free publishing
@bp.post("/cgi-bin/freepublish/submit")
def wechat_submit():
    appid, refused = _caller()
    if refused:
        return refused
    store = current_store()
    with store.lock:
        draft = _take_draft(store, appid, body_json().get("media_id"))
        if draft is None:
            return wechat_error(40007)
        publish_id = str(2247483000 + store.next_id())
        store.publishes[publish_id] = {
            "appid": appid, "articles": draft["articles"], "polls": 0,
            "created": time.monotonic(), "status": 1, "article_id": None,
            "outcome": int(store.config["wechat_publish_outcome"])}
        return jsonify({"errcode": 0, "errmsg": "ok", "publish_id": publish_id,
                        "msg_data_id": str(2247483000 + store.next_id())})


def _settle(store: Store, publish_id: str, host_url: str, polled: bool):
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
            "url": f"{host_url}/s/{article_id}", "seq": store.next_id()}
    return job


@bp.post("/cgi-bin/freepublish/get")
def wechat_publish_get():
    appid, refused = _caller()
    if refused:
        return refused
    publish_id = str(body_json().get("publish_id") or "")
    store = current_store()
    with store.lock:
        if publish_id not in store.publishes or store.publishes[publish_id]["appid"] != appid:
            return wechat_error(40007, "invalid publish_id")
        job = _settle(store, publish_id, host(), polled=True)
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


def _published_item(article_id: str, article: dict, no_content: int) -> dict:
    """One entry of freepublish/batchget's `item` list."""
    news = []
    for item in article["articles"]:
        entry = {k: item.get(k, "") for k in (
            "title", "author", "digest", "content", "content_source_url", "thumb_media_id")}
        entry.update({"show_cover_pic": 1, "need_open_comment":
                      item.get("need_open_comment", 0), "only_fans_can_comment":
                      item.get("only_fans_can_comment", 0), "url": article["url"],
                      "is_deleted": False})
        if no_content:
            entry.pop("content")
        news.append(entry)
    return {"article_id": article_id, "update_time": article["update_time"],
            "content": {"news_item": news, "create_time": article["update_time"],
                        "update_time": article["update_time"]}}


@bp.post("/cgi-bin/freepublish/batchget")
def wechat_batchget():
    appid, refused = _caller()
    if refused:
        return refused
    data = body_json()
    offset, count = int(data.get("offset") or 0), int(data.get("count") or 20)
    if not 1 <= count <= 20:
        return wechat_error(47001)
    no_content = int(data.get("no_content") or 0)
    store = current_store()
    with store.lock:
        for publish_id in list(store.publishes):
            _settle(store, publish_id, host(), polled=False)
        mine = sorted((a for a in store.articles.items()
                       if a[1]["appid"] == appid and not a[1]["deleted"]),
                      key=lambda item: -item[1]["seq"])
        items = [_published_item(article_id, article, no_content)
                 for article_id, article in mine[offset:offset + count]]
        return jsonify({"total_count": len(mine), "item_count": len(items), "item": items})


@bp.post("/cgi-bin/freepublish/delete")
def wechat_publish_delete():
    appid, refused = _caller()
    if refused:
        return refused
    store = current_store()
    with store.lock:
        article = store.articles.get(str(body_json().get("article_id") or ""))
        if article is None or article["appid"] != appid or article["deleted"]:
            return wechat_error(53600)
        article["deleted"] = True
        return jsonify({"errcode": 0, "errmsg": "ok"})


@bp.get("/s/<article_id>")
def wechat_article_page(article_id):
    article = current_store().articles.get(article_id)
    if article is None or article["deleted"]:
        return page("该内容已被发布者删除", "<p>该内容已被发布者删除</p>", 404)
    first = article["articles"][0]
    return page(first.get("title", ""), f"<h1>{html.escape(first.get('title', ''))}</h1>"
                f"<p>{html.escape(first.get('author') or '')}</p>{first.get('content', '')}")


# ---------------------------------------------------------------------- mass send
@bp.post("/cgi-bin/message/mass/sendall")
def wechat_sendall():
    appid, refused = _caller()
    if refused:
        return refused
    data = body_json()
    media_id = (data.get("mpnews") or {}).get("media_id")
    store = current_store()
    with store.lock:
        client_id = data.get("clientmsgid")
        key = (appid, client_id)
        if client_id and key in store.clientmsgids:
            # As WeChat: the existing send's msg_id comes with the refusal.
            return jsonify({"errcode": 45065, "errmsg": WECHAT_ERRMSG[45065],
                            "msg_id": int(store.clientmsgids[key])})
        if client_id and key in store.mass_refused:
            store.mass_refused.discard(key)
            return wechat_error(89507)
        if client_id and key in store.mass_pending:
            return wechat_error(89503)  # still waiting for the administrator
        draft = _take_draft(store, appid, media_id)
        if data.get("msgtype") != "mpnews" or draft is None:
            return wechat_error(40007)
        to_all = bool((data.get("filter") or {}).get("is_to_all"))
        if store.config.get("wechat_mass_protect") and to_all and client_id:
            store.mass_pending[key] = {"appid": appid, "articles": draft["articles"],
                                       "clientmsgid": client_id, "requested_at": time.time()}
            return wechat_error(89503)
        msg_id = _mass_record(store, appid, draft["articles"], client_id)
        return jsonify({"errcode": 0, "errmsg": "send job submission success",
                        "msg_id": int(msg_id),
                        "msg_data_id": int(store.mass[msg_id]["msg_data_id"])})


def _mass_record(store: Store, appid: str, articles: list, client_id: str | None) -> str:
    msg_id = str(1000000000 + store.next_id())
    store.mass[msg_id] = {"appid": appid, "articles": articles, "deleted": False,
                          "clientmsgid": client_id, "seq": store.next_id(),
                          "msg_data_id": str(int(msg_id) + 7), "sent_at": time.time()}
    if client_id:
        store.clientmsgids[(appid, client_id)] = msg_id
    return msg_id


def confirm_mass(store: Store, appid: str, client_id: str | None, confirm: bool) -> list[str]:
    """The administrator answers on their phone (the stand-in's control endpoint): confirmed
    sends go out; refused ones are void. Returns the msg_ids sent."""
    sent = []
    with store.lock:
        for key in [k for k in store.mass_pending
                    if k[0] == appid and (client_id is None or k[1] == client_id)]:
            pending = store.mass_pending.pop(key)
            if confirm:
                sent.append(_mass_record(store, appid, pending["articles"], key[1]))
            else:
                store.mass_refused.add(key)
    return sent


@bp.post("/cgi-bin/message/mass/get")
def wechat_mass_get():
    appid, refused = _caller()
    if refused:
        return refused
    store = current_store()
    with store.lock:
        msg_id = str(body_json().get("msg_id") or "")
        sent = store.mass.get(msg_id)
        if sent is None or sent["appid"] != appid:
            return wechat_error(40007, "invalid msg_id")
        return jsonify({"msg_id": int(msg_id), "msg_status": "SEND_SUCCESS"})


@bp.post("/cgi-bin/message/mass/delete")
def wechat_mass_delete():
    appid, refused = _caller()
    if refused:
        return refused
    store = current_store()
    with store.lock:
        sent = store.mass.get(str(body_json().get("msg_id") or ""))
        if sent is None or sent["appid"] != appid:
            return wechat_error(40007, "invalid msg_id")
        sent["deleted"] = True
        return jsonify({"errcode": 0, "errmsg": "ok"})
