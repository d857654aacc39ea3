"""The Douyin open platform: authorise page, tokens, video upload (whole or in parts), create,
review status, list, delete, and the page a post is shown on (docs/ADAPTERS.md, "Douyin")."""
from __future__ import annotations

import hashlib
import html
import secrets
import time
from urllib.parse import urlencode

from flask import Blueprint, jsonify, redirect, request

from standins.common import body_json, host, page
from standins.store import current_store

bp = Blueprint("douyin", __name__)
PREFIXES = ("/oauth/", "/video/", "/image/", "/api/douyin/", "/platform/oauth/")

DOUYIN_ERROR = {
    10005: "缺少参数",
    10007: "授权码无效或已过期",
    10010: "refresh_token 过期",
    10020: "超过刷新次数限制",
    2100004: "系统繁忙，请稍后再试",
    2100005: "参数错误",
    2190002: "access_token 无效",
    2190008: "access_token 过期",
    2190015: "client_key 错误",
}


def douyin_error(code: int, description: str | None = None):
    text = description or DOUYIN_ERROR.get(code, "error")
    extra = {"error_code": code, "description": text, "sub_error_code": 0,
             "sub_description": "", "logid": secrets.token_hex(8), "now": int(time.time() * 1000)}
    return jsonify({"data": {"error_code": code, "description": text}, "extra": extra}), 200


def _ok(data: dict):
    return jsonify({"data": {**data, "error_code": 0, "description": ""},
                    "extra": {"error_code": 0, "description": "", "now": int(time.time() * 1000)},
                    "message": "success"})


def _user():
    """The open_id behind the request's access-token header, or an error answer."""
    token, open_id = request.headers.get("access-token"), request.args.get("open_id")
    store = current_store()
    with store.lock:
        info = store.douyin_tokens.get(token or "")
        if info is None or not info["valid"] or info["open_id"] != open_id:
            return None, douyin_error(2190002)
        if info["expires_at"] < time.time():
            return None, douyin_error(2190008)
    return open_id, None


# ---------------------------------------------------------------------- authorisation
@bp.get("/platform/oauth/connect/")
def connect():
    args = request.args
    if args.get("client_key") not in current_store().douyin_apps:
        return page("抖音授权", "<h1>client_key 无效</h1>", 400)
    if not args.get("redirect_uri") or args.get("response_type") != "code":
        return page("抖音授权", "<h1>缺少 redirect_uri 或 response_type=code</h1>", 400)
    hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                     for k, v in args.items())
    scopes = html.escape(args.get("scope", ""))
    return page("抖音授权", f"<h1>授权应用使用你的抖音账号</h1><p>申请的权限：{scopes}</p>"
                f'<form method="post" action="/platform/oauth/approve">{hidden}'
                '<label>抖音账号 open_id <input name="open_id" value="standin-douyin-user-1">'
                '</label> <button id="approve" type="submit">同意授权</button></form>')


@bp.post("/platform/oauth/approve")
def approve():
    form = request.form
    code = secrets.token_hex(16)
    store = current_store()
    with store.lock:
        store.douyin_codes[code] = {"open_id": form.get("open_id") or "standin-douyin-user-1",
                                    "scope": form.get("scope", ""),
                                    "client_key": form.get("client_key")}
    query = urlencode({"code": code, "state": form.get("state", ""),
                       "scopes": form.get("scope", "")})
    separator = "&" if "?" in form["redirect_uri"] else "?"
    return redirect(f"{form['redirect_uri']}{separator}{query}")


def _issue(store, open_id: str, scope: str, refresh: str | None = None) -> dict:
    config = store.config
    access = "act." + secrets.token_hex(20)
    store.douyin_tokens[access] = {"open_id": open_id, "valid": True,
                                   "expires_at": time.time() + config["douyin_token_expires_in"]}
    data = {"access_token": access, "expires_in": config["douyin_token_expires_in"],
            "open_id": open_id, "scope": scope}
    if refresh is None:
        refresh = "rft." + secrets.token_hex(20)
        store.douyin_refresh[refresh] = {
            "open_id": open_id, "scope": scope, "renewals": 0, "valid": True,
            "expires_at": time.time() + config["douyin_refresh_expires_in"]}
        data["refresh_token"] = refresh
    data["refresh_expires_in"] = max(0, int(store.douyin_refresh[refresh]["expires_at"]
                                            - time.time()))
    return data


@bp.post("/oauth/access_token/")
def access_token():
    form, store = request.form, current_store()
    if not all(form.get(k) for k in ("client_key", "client_secret", "code", "grant_type")):
        return douyin_error(10005)
    with store.lock:
        if store.douyin_apps.get(form["client_key"]) != form["client_secret"]:
            return douyin_error(2190015)
        grant = store.douyin_codes.pop(form["code"], None)
        if grant is None or grant["client_key"] != form["client_key"]:
            return douyin_error(10007)
        return _ok(_issue(store, grant["open_id"], grant["scope"]))


def _refresh_row(store, token: str):
    row = store.douyin_refresh.get(token or "")
    if row is None or not row["valid"] or row["expires_at"] < time.time():
        return None
    return row


@bp.post("/oauth/refresh_token/")
def refresh_token():
    form, store = request.form, current_store()
    if form.get("client_key") not in store.douyin_apps:
        return douyin_error(2190015)
    with store.lock:
        row = _refresh_row(store, form.get("refresh_token"))
        if row is None:
            return douyin_error(10010)
        return _ok(_issue(store, row["open_id"], row["scope"], refresh=form["refresh_token"]))


@bp.post("/oauth/renew_refresh_token/")
def renew_refresh_token():
    form, store = request.form, current_store()
    with store.lock:
        row = _refresh_row(store, form.get("refresh_token"))
        if row is None:
            return douyin_error(10010)
        if row["renewals"] >= 5:
            return douyin_error(10020)
        row["valid"] = False
        new = "rft." + secrets.token_hex(20)
        store.douyin_refresh[new] = {**row, "valid": True, "renewals": row["renewals"] + 1,
                                     "expires_at": time.time()
                                     + store.config["douyin_refresh_expires_in"]}
        return _ok({"refresh_token": new,
                    "expires_in": store.config["douyin_refresh_expires_in"]})


# ---------------------------------------------------------------------- upload
def _read_part() -> tuple[int, str] | None:
    """(size, sha256) of the `video` file field, read in blocks (it may be large)."""
    upload = request.files.get("video")
    if upload is None:
        return None
    digest, size = hashlib.sha256(), 0
    for block in iter(lambda: upload.stream.read(1024 * 1024), b""):
        digest.update(block)
        size += len(block)
    return size, digest.hexdigest()


def _new_video(store, open_id: str, size: int, parts: int) -> dict:
    video_id = f"v0200f{store.next_id():06d}standin"
    store.douyin_videos[video_id] = {"open_id": open_id, "size": size, "parts": parts}
    return {"video": {"video_id": video_id, "width": 720, "height": 1280}}


@bp.post("/video/upload/")
def upload():
    open_id, error = _user()
    if error:
        return error
    part = _read_part()
    if part is None or part[0] == 0:
        return douyin_error(2100005, "缺少视频文件")
    store = current_store()
    with store.lock:
        return _ok(_new_video(store, open_id, part[0], 1))


@bp.post("/video/part/init/")
def part_init():
    open_id, error = _user()
    if error:
        return error
    store = current_store()
    with store.lock:
        upload_id = f"upl{store.next_id():08d}"
        store.douyin_uploads[upload_id] = {"open_id": open_id, "parts": {}}
    return _ok({"upload_id": upload_id})


@bp.post("/video/part/upload/")
def part_upload():
    open_id, error = _user()
    if error:
        return error
    store = current_store()
    upload_id, number = request.args.get("upload_id"), request.args.get("part_number", "")
    with store.lock:
        pending = store.douyin_uploads.get(upload_id or "")
    if pending is None or pending["open_id"] != open_id or not number.isdigit():
        return douyin_error(2100005, "upload_id 或 part_number 无效")
    part = _read_part()
    if part is None or part[0] == 0:
        return douyin_error(2100005, "缺少视频分片")
    with store.lock:
        pending["parts"][int(number)] = {"size": part[0], "sha256": part[1]}
    return _ok({})


@bp.post("/video/part/complete/")
def part_complete():
    open_id, error = _user()
    if error:
        return error
    store = current_store()
    with store.lock:
        pending = store.douyin_uploads.get(request.args.get("upload_id") or "")
        if pending is None or pending["open_id"] != open_id:
            return douyin_error(2100005, "upload_id 无效")
        numbers = sorted(pending["parts"])
        if not numbers or numbers != list(range(1, len(numbers) + 1)):
            return douyin_error(2100005, "分片不连续")
        if any(pending["parts"][n]["size"] < store.config["douyin_min_part_bytes"]
               for n in numbers[:-1]):
            return douyin_error(2100005, "分片过小")
        del store.douyin_uploads[request.args["upload_id"]]
        size = sum(p["size"] for p in pending["parts"].values())
        return _ok(_new_video(store, open_id, size, len(numbers)))


# ---------------------------------------------------------------------- posts
def _new_item(store, open_id: str, text: str | None, **media) -> str:
    """A post under the platform's review (video_status 4), visible only to its author."""
    item_id = f"@standin{store.next_id():08d}"
    store.douyin_items[item_id] = {
        "item_id": item_id, "open_id": open_id, "title": text or "", **media,
        "create_time": int(time.time()), "deleted": False, "video_status": 4,
        "reviews_left": int(store.config["douyin_review_queries"]),
        "share_url": f"{host()}/video/{item_id}"}
    return item_id


@bp.post("/video/create/")
def create():
    open_id, error = _user()
    if error:
        return error
    data, store = body_json(), current_store()
    with store.lock:
        video = store.douyin_videos.get(data.get("video_id") or "")
        if video is None or video["open_id"] != open_id or video.get("item_id"):
            return douyin_error(2100005, "video_id 无效")
        video["item_id"] = _new_item(store, open_id, data.get("text"), video_id=data["video_id"],
                                     size=video["size"], parts=video["parts"])
    return _ok({"item_id": video["item_id"]})


@bp.post("/image/upload/")
def image_upload():
    """A picture for an image-text post (图文): JPEG, PNG or GIF, checked by its first bytes."""
    open_id, error = _user()
    if error:
        return error
    upload = request.files.get("image")
    data = upload.read() if upload is not None else b""
    if not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8")):
        return douyin_error(2100005, "缺少图片或图片格式不支持")
    store = current_store()
    with store.lock:
        image_id = f"img{store.next_id():08d}standin"
        store.douyin_images[image_id] = {"open_id": open_id, "size": len(data)}
    return _ok({"image": {"image_id": image_id, "width": 720, "height": 960}})


@bp.post("/image/create/")
def image_create():
    open_id, error = _user()
    if error:
        return error
    data, store = body_json(), current_store()
    with store.lock:
        image = store.douyin_images.get(data.get("image_id") or "")
        if image is None or image["open_id"] != open_id or image.get("item_id"):
            return douyin_error(2100005, "image_id 无效")
        image["item_id"] = _new_item(store, open_id, data.get("text"), video_id=None,
                                     image_id=data["image_id"], size=image["size"], parts=0)
    return _ok({"item_id": image["item_id"]})


def _public(item: dict) -> dict:
    return {k: item[k] for k in ("item_id", "title", "create_time", "video_status",
                                 "share_url")} | {"is_reviewed": item["video_status"] != 4}


@bp.post("/api/douyin/v1/video/video_data/")
def video_data():
    open_id, error = _user()
    if error:
        return error
    store, wanted = current_store(), body_json().get("item_ids") or []
    found = []
    with store.lock:
        for item_id in wanted:
            item = store.douyin_items.get(item_id)
            if item is None or item["open_id"] != open_id or item["deleted"]:
                continue
            if item["video_status"] == 4:  # each query brings the review nearer its end
                item["reviews_left"] -= 1
                if item["reviews_left"] < 0:
                    item["video_status"] = int(store.config["douyin_review_outcome"])
            found.append(_public(item))
    return _ok({"list": found})


@bp.get("/api/douyin/v1/video/video_list/")
def video_list():
    open_id, error = _user()
    if error:
        return error
    cursor, count = int(request.args.get("cursor", 0)), int(request.args.get("count", 10))
    store = current_store()
    with store.lock:
        # Newest first, as the platform lists an account's works.
        mine = sorted((i for i in store.douyin_items.values()
                       if i["open_id"] == open_id and not i["deleted"]),
                      key=lambda i: (i["create_time"], i["item_id"]), reverse=True)
        chunk = [_public(i) | {"video_id": i["video_id"]} for i in mine[cursor:cursor + count]]
    return _ok({"list": chunk, "cursor": cursor + len(chunk),
                "has_more": cursor + len(chunk) < len(mine)})


@bp.post("/video/delete/")
def delete():
    open_id, error = _user()
    if error:
        return error
    store = current_store()
    with store.lock:
        item = store.douyin_items.get(body_json().get("item_id") or "")
        if item is None or item["open_id"] != open_id or item["deleted"]:
            return douyin_error(2100005, "item_id 无效")
        item["deleted"] = True
    return _ok({})


@bp.get("/video/<item_id>")
def show(item_id: str):
    item = current_store().douyin_items.get(item_id)
    if item is None or item["deleted"]:
        return page("抖音", "<h1>作品不存在</h1>", 404)
    state = {4: "审核中（仅作者可见）", 5: "公开", 2: "不适宜公开"}.get(item["video_status"], "")
    media = (f"<p>图片 {item['size']} 字节</p>" if item.get("image_id")
             else f"<p>视频 {item['size']} 字节，{item['parts']} 个分片</p>")
    return page(item["title"], f"<h1>{html.escape(item['title'])}</h1><p>{state}</p>{media}")


# ---------------------------------------------------------------------- control
@bp.post("/_standin/douyin/lapse")
def control_lapse():
    """The user cancels the authorisation (or it runs out): every token of the open_id dies."""
    open_id, store = body_json().get("open_id"), current_store()
    with store.lock:
        for info in [*store.douyin_tokens.values(), *store.douyin_refresh.values()]:
            if open_id in (None, info["open_id"]):
                info["valid"] = False
    return jsonify({"lapsed": open_id or "all"})


@bp.get("/_standin/douyin/app")
def control_app():
    """The application the stand-in knows (the embedded run configures the product with it)."""
    client_key, secret = next(iter(current_store().douyin_apps.items()))
    return jsonify({"client_key": client_key, "client_secret": secret})


@bp.post("/_standin/douyin/expire_access")
def control_expire_access():
    """Access tokens run out (the refresh token still works)."""
    store = current_store()
    with store.lock:
        for info in store.douyin_tokens.values():
            info["expires_at"] = time.time() - 1
    return jsonify({"expired": len(store.douyin_tokens)})


def douyin_posts(store) -> list[dict]:
    return [{"item_id": i["item_id"], "open_id": i["open_id"], "title": i["title"],
             "size": i["size"], "parts": i["parts"], "video_status": i["video_status"],
             "deleted": i["deleted"], "url": i["share_url"]} for i in store.douyin_items.values()]
