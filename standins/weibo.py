"""The Weibo API: share, user timeline and destroy, plus the page a status is shown on."""
from __future__ import annotations

import html
import math
import re
import secrets
from datetime import datetime, timedelta, timezone

from flask import Blueprint, jsonify, request

from standins.common import URL, host, image_kind, page
from standins.store import Store, current_store

bp = Blueprint("weibo", __name__)

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


def weibo_error(code: int, detail: str = ""):
    message = WEIBO_ERROR.get(code, "error")
    if "%s" in message:
        message = message.replace("%s", detail or "")
    status = 401 if 21300 <= code < 21400 else 403 if code in (10014, 10023, 10024) else 400
    return jsonify({"error": message, "error_code": code, "request": request.path}), status


def _weibo_length(text: str) -> int:
    """Weibo counts a Chinese character as 1 and an ASCII character as half."""
    return math.ceil(sum(0.5 if ord(c) < 128 else 1 for c in text))


def _weibo_user():
    """The user behind the request's access_token, or an error answer."""
    token = request.values.get("access_token")
    if not token:
        return None, weibo_error(10006)
    store = current_store()
    with store.lock:
        user = store.weibo_tokens.get(token)
        if user is None or user.get("state") == "revoked":
            return None, weibo_error(21332)
        if user.get("state") == "expired":
            return None, weibo_error(21327)
        return user, None


def _public_status(status: dict) -> dict:
    return {k: v for k, v in status.items() if not k.startswith("_")}


def _refused_text(store: Store, text: str | None):
    """The error answer for a status text share.json refuses, else None."""
    if not text:
        return weibo_error(10016, "status")
    if _weibo_length(text) > 140:
        return weibo_error(20012)
    links = URL.findall(text)
    domains = store.config["weibo_safe_domains"]
    if not links or (domains and not any(
            re.match(rf"https?://([^/]+\.)?{re.escape(d)}(/|$)", link)
            for link in links for d in domains)):
        return weibo_error(10017, text)
    return None


def _new_status(store: Store, user: dict, text: str, pic_data: bytes | None) -> dict:
    n = store.next_id()
    status_id = 4900000000000000 + n
    # Weibo rewrites links to t.cn short links in the text it returns.
    shown = URL.sub(lambda m: "http://t.cn/" + secrets.token_urlsafe(5)[:7], text)
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
        name = f"w{n}.{image_kind(pic_data)}"
        store.images[name] = pic_data
        url = f"{host()}/mmbiz/{name}"
        status.update({"thumbnail_pic": url, "bmiddle_pic": url, "original_pic": url,
                       "pic_ids": [name]})
    return status


@bp.post("/2/statuses/share.json")
def weibo_share():
    user, refused = _weibo_user()
    if refused:
        return refused
    store, text = current_store(), request.form.get("status")
    refused = _refused_text(store, text)
    if refused:
        return refused
    pic = request.files.get("pic")
    pic_data = pic.read() if pic is not None else None
    if pic is not None and image_kind(pic_data) is None:
        return weibo_error(20005)
    with store.lock:
        if any(s["_owner"] == user["uid"] and not s["_deleted"] and s["_original"] == text
               for s in store.statuses):
            return weibo_error(20019)
        status = _new_status(store, user, text, pic_data)
        store.statuses.append(status)
        return jsonify(_public_status(status))


@bp.get("/2/statuses/user_timeline.json")
def weibo_user_timeline():
    user, refused = _weibo_user()
    if refused:
        return refused
    count = max(1, min(int(request.args.get("count") or 20), 100))
    page_number = max(1, int(request.args.get("page") or 1))
    # since_id: only statuses newer than it (ids grow with time), as the real API.
    since_id = int(request.args.get("since_id") or 0)
    store = current_store()
    with store.lock:
        mine = [s for s in reversed(store.statuses)
                if s["_owner"] == user["uid"] and not s["_deleted"] and s["id"] > since_id]
        chosen = mine[(page_number - 1) * count:page_number * count]
        return jsonify({"statuses": [_public_status(s) for s in chosen],
                        "total_number": len(mine), "previous_cursor": 0, "next_cursor": 0})


@bp.post("/2/statuses/destroy.json")
def weibo_destroy():
    user, refused = _weibo_user()
    if refused:
        return refused
    wanted = request.form.get("id")
    if not wanted:
        return weibo_error(10016, "id")
    store = current_store()
    with store.lock:
        status = next((s for s in store.statuses if s["idstr"] == str(wanted)), None)
        if status is None or status["_deleted"]:
            return weibo_error(20101)
        if status["_owner"] != user["uid"]:
            return weibo_error(20102)
        status["_deleted"] = True
        return jsonify(_public_status(status))


@bp.get("/status/<status_id>")
def weibo_status_page(status_id):
    status = next((s for s in current_store().statuses if s["idstr"] == status_id), None)
    if status is None or status["_deleted"]:
        return page("微博不存在", "<p>该微博不存在或已被删除</p>", 404)
    text = URL.sub(lambda m: f'<a href="{html.escape(m.group(0))}">'
                             f'{html.escape(m.group(0))}</a>',
                   html.escape(status["_original"]))
    pic = (f'<p><img src="{html.escape(status["original_pic"])}" alt=""></p>'
           if status.get("original_pic") else "")
    return page(status["user"]["screen_name"],
                f"<h1>{html.escape(status['user']['screen_name'])}</h1><p>{text}</p>{pic}")
