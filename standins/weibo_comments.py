"""Weibo comments: comments/to_me (what the public wrote under the account's posts) and
comments/reply; `POST /_standin/weibo/comments` has a member of the public write one."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Blueprint, jsonify, request

from standins.common import body_json
from standins.store import current_store
from standins.weibo import _new_status, _public_status, _weibo_length, _weibo_user, weibo_error

bp = Blueprint("weibo_comments", __name__)
_CST = timezone(timedelta(hours=8))


def _comment(store, status: dict, text: str, uid: int, screen_name: str,
             created: datetime | None = None) -> dict:
    comment_id = 4950000000000000 + store.next_id()
    created = created or datetime.now(_CST)
    return {"created_at": created.astimezone(_CST).strftime("%a %b %d %H:%M:%S +0800 %Y"),
            "id": comment_id, "idstr": str(comment_id), "mid": str(comment_id), "text": text,
            "user": {"id": uid, "idstr": str(uid), "screen_name": screen_name},
            "status": _public_status(status), "_owner": status["_owner"]}


@bp.get("/2/comments/to_me.json")
def weibo_comments_to_me():
    user, refused = _weibo_user()
    if refused:
        return refused
    count = max(1, min(int(request.args.get("count") or 50), 200))
    page_number = max(1, int(request.args.get("page") or 1))
    since = int(request.args.get("since_id") or 0)
    store = current_store()
    with store.lock:
        mine = [c for c in reversed(store.comments) if c["_owner"] == user["uid"]
                and c["user"]["id"] != user["uid"] and c["id"] > since]
        chosen = mine[(page_number - 1) * count:page_number * count]
        return jsonify({"comments": [{k: v for k, v in c.items() if not k.startswith("_")}
                                     for c in chosen],
                        "total_number": len(mine), "previous_cursor": 0, "next_cursor": 0})


@bp.post("/2/comments/reply.json")
def weibo_comment_reply():
    user, refused = _weibo_user()
    if refused:
        return refused
    cid, status_id, text = (request.form.get(k) for k in ("cid", "id", "comment"))
    for name, value in (("cid", cid), ("id", status_id), ("comment", text)):
        if not value:
            return weibo_error(10016, name)
    if _weibo_length(text) > 140:
        return weibo_error(20012)
    store = current_store()
    with store.lock:
        target = next((c for c in store.comments if c["idstr"] == str(cid)), None)
        if target is None:
            return jsonify({"error": "target weibo comment does not exist!",
                            "error_code": 20201, "request": request.path}), 400
        status = next((s for s in store.statuses if s["idstr"] == str(status_id)), None)
        if status is None or status["_deleted"] or target["status"]["idstr"] != status["idstr"]:
            return weibo_error(20101)
        reply = _comment(store, status, text, user["uid"], user.get("screen_name", ""))
        reply["reply_comment"] = {k: v for k, v in target.items() if not k.startswith("_")}
        store.comments.append(reply)
        return jsonify({k: v for k, v in reply.items() if not k.startswith("_")})


@bp.post("/_standin/weibo/comments")
def control_weibo_comment():
    """{access_token, text, status_id?, uid?, screen_name?, created_at? (epoch seconds)}: a
    comment from the public under the account's latest post (one is made if it has none)."""
    data, store = body_json(), current_store()
    with store.lock:
        owner = store.weibo_tokens[data["access_token"]]
        mine = [s for s in store.statuses if s["_owner"] == owner["uid"] and not s["_deleted"]]
        status = next((s for s in mine if s["idstr"] == str(data.get("status_id"))), None) \
            or (mine[-1] if mine else None)
        if status is None:
            status = _new_status(store, owner, "欢迎关注（模拟）https://www.example.gov.cn", None)
            store.statuses.append(status)
        created = (datetime.fromtimestamp(int(data["created_at"]), _CST)
                   if data.get("created_at") else None)
        comment = _comment(store, status, data.get("text") or "请问怎么办理？",
                           int(data.get("uid") or 6000000000 + store.next_id()),
                           data.get("screen_name") or "网友", created)
        store.comments.append(comment)
        return jsonify({k: v for k, v in comment.items() if not k.startswith("_")})


@bp.get("/_standin/weibo/comments")
def control_weibo_comments():
    store = current_store()
    with store.lock:
        return jsonify({"items": [{k: v for k, v in c.items() if not k.startswith("_")}
                                  for c in store.comments]})
