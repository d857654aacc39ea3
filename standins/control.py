"""The /_standin/ control endpoints, fault injection and call counting, and the index page."""
from __future__ import annotations

import html
import time

from flask import Blueprint, Response, jsonify, request

from standins.common import body_json, page
from standins.douyin import PREFIXES as DOUYIN_PREFIXES, douyin_error, douyin_posts
from standins.store import DEFAULT_CONFIG, current_store
from standins.wechat import confirm_mass, wechat_error
from standins.weibo import weibo_error

# The endpoints and their bodies are listed in docs/ADAPTERS.md ("Stand-in platforms").
bp = Blueprint("control", __name__)


def platform_error(code: int, errmsg: str | None = None):
    """An injected error, in the shape of the platform the request was for."""
    if request.path.startswith(DOUYIN_PREFIXES):
        return douyin_error(code, errmsg)
    if request.path.startswith("/2/"):
        if errmsg:
            return jsonify({"error": errmsg, "error_code": code, "request": request.path}), 400
        return weibo_error(code)
    return wechat_error(code, errmsg)


# ---------------------------------------------------------------------- faults and counts
def _fault_for(path: str) -> dict | None:
    store = current_store()
    with store.lock:
        for fault in store.faults:
            pattern = fault.get("path") or ""
            hit = path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern
            if hit and fault["times"] > 0:
                fault["times"] -= 1
                return dict(fault)
    return None


# App-wide, not blueprint-only: a platform path with no route is counted and faulted too.
@bp.before_app_request
def count_and_inject():
    if request.path.startswith("/_standin") or not request.path.startswith(
            ("/cgi-bin/", "/2/", "/datacube/", *DOUYIN_PREFIXES)):
        return None
    store = current_store()
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


@bp.after_app_request
def answer_late(response):
    fault = request.environ.get("standin.fault")
    if fault and fault.get("after_commit_delay"):
        # The work is recorded; the answer is late, so the client gives up waiting.
        time.sleep(float(fault["after_commit_delay"]))
    return response


# ---------------------------------------------------------------------- what was published
def _wechat_posts(store) -> list[dict]:
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
    return wechat


def posts() -> dict:
    store = current_store()
    with store.lock:
        wechat = _wechat_posts(store)
        weibo = [{"id": s["idstr"], "uid": s["_owner"], "text": s["_original"],
                  "shown_text": s["text"], "pic": bool(s.get("original_pic")),
                  "deleted": s["_deleted"]} for s in store.statuses]
        publishing = sum(1 for p in store.publishes.values() if p["status"] == 1)
        douyin = douyin_posts(store)
    return {"douyin": {"count": len(douyin), "live": sum(not p["deleted"] for p in douyin),
                       "under_review": sum(p["video_status"] == 4 for p in douyin),
                       "items": douyin},
            "wechat": {"count": len(wechat), "live": sum(not p["deleted"] for p in wechat),
                       "publishing": publishing, "items": wechat},
            "weibo": {"count": len(weibo), "live": sum(not p["deleted"] for p in weibo),
                      "items": weibo}}


@bp.get("/")
def index():
    found = posts()
    rows = "".join(
        f'<li>微信：<a href="{html.escape(p["url"] or "")}">{html.escape(p["title"])}</a>'
        f'{"（已删除）" if p["deleted"] else ""}</li>' for p in found["wechat"]["items"])
    rows += "".join(
        f'<li>微博：<a href="/status/{p["id"]}">{html.escape(p["text"])}</a>'
        f'{"（已删除）" if p["deleted"] else ""}</li>' for p in found["weibo"]["items"])
    rows += "".join(
        f'<li>抖音：<a href="{html.escape(p["url"])}">{html.escape(p["title"])}</a>'
        f'{"（已删除）" if p["deleted"] else ""}</li>' for p in found["douyin"]["items"])
    return page("平台模拟器", f"<h1>平台模拟器</h1><ul>{rows or '<li>尚无发布</li>'}</ul>")


# ---------------------------------------------------------------------- control
@bp.get("/_standin/posts")
def control_posts():
    return jsonify(posts())


@bp.get("/_standin/calls")
def control_calls():
    store = current_store()
    with store.lock:
        return jsonify({"calls": dict(store.calls),
                        "token_requests": list(store.token_requests)})


@bp.post("/_standin/faults")
def control_faults():
    store, data = current_store(), body_json()
    with store.lock:
        if data.get("revoke_tokens"):
            for info in store.tokens.values():
                info["valid"] = False
        if data.get("path"):
            fault = {k: v for k, v in data.items() if k != "revoke_tokens"}
            fault["times"] = int(data.get("times", 1))
            store.faults.append(fault)
        return jsonify({"faults": store.faults})


@bp.delete("/_standin/faults")
def control_clear_faults():
    store = current_store()
    with store.lock:
        store.faults.clear()
    return jsonify({"faults": []})


@bp.post("/_standin/config")
def control_config():
    data = body_json()
    unknown = sorted(set(data) - set(DEFAULT_CONFIG))
    if unknown:
        return jsonify({"error": f"unknown settings: {', '.join(unknown)}"}), 400
    store = current_store()
    with store.lock:
        store.config.update(data)
        return jsonify(store.config)


@bp.post("/_standin/wechat/apps")
def control_wechat_app():
    store, data = current_store(), body_json()
    with store.lock:
        store.wechat_apps[data["appid"]] = data["secret"]
    return jsonify({"appid": data["appid"]})


@bp.post("/_standin/wechat/mass_confirm")
def control_wechat_mass_confirm():
    """群发保护: the administrator confirms (or refuses, `"confirm": false`) the account's
    mass sends waiting for them (one, given its clientmsgid; else all)."""
    data = body_json()
    sent = confirm_mass(current_store(), data.get("appid") or "", data.get("clientmsgid"),
                        bool(data.get("confirm", True)))
    return jsonify({"sent": sent})


@bp.post("/_standin/weibo/tokens")
def control_weibo_token():
    store, data = current_store(), body_json()
    with store.lock:
        store.weibo_tokens[data["access_token"]] = {
            "uid": int(data.get("uid") or 7000000000 + store.next_id()),
            "screen_name": data.get("screen_name") or "模拟账号",
            "state": data.get("state") or "valid"}
    return jsonify({"access_token": data["access_token"]})


@bp.post("/_standin/reset")
def control_reset():
    current_store().reset()
    return jsonify({"reset": True})
