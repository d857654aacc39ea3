"""What the activity sync reads that publishing does not: WeChat's data API for mass-sent
articles (datacube/getarticlesummary), and seeding posts made "in the platform's back end"."""
from __future__ import annotations

import secrets
import time
from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, jsonify, request

from standins.common import body_json, host
from standins.store import Store, current_store
from standins.wechat import _caller, wechat_error
from standins.weibo import _new_status

bp = Blueprint("activity", __name__)
BEIJING = timezone(timedelta(hours=8))
DATACUBE_ERRMSG = {61500: "date format error", 61501: "date range error"}


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _summary_row(msg_id: str, sent: dict, day: date) -> dict:
    """One article of a mass send, as getarticlesummary reports it (figures of that day)."""
    n = int(msg_id) % 997
    return {"ref_date": day.isoformat(), "msgid": f"{sent['msg_data_id']}_1",
            "title": sent["articles"][0].get("title", ""), "int_page_read_user": 40 + n,
            "int_page_read_count": 60 + n, "ori_page_read_user": 0, "ori_page_read_count": 0,
            "share_user": n % 7, "share_count": n % 9, "add_to_fav_user": n % 5,
            "add_to_fav_count": n % 5}


@bp.post("/datacube/getarticlesummary")
def wechat_article_summary():
    """One day a call, and no later than yesterday (Beijing time), as WeChat's data API."""
    appid, refused = _caller()
    if refused:
        return refused
    data = body_json()
    begin, end = _day(data.get("begin_date")), _day(data.get("end_date"))
    if begin is None or end is None:
        return wechat_error(61500, DATACUBE_ERRMSG[61500])
    today = datetime.now(BEIJING).date()
    if begin != end or end >= today:
        return wechat_error(61501, DATACUBE_ERRMSG[61501])
    store = current_store()
    with store.lock:
        rows = [_summary_row(msg_id, sent, begin) for msg_id, sent in store.mass.items()
                if sent["appid"] == appid
                and datetime.fromtimestamp(sent["sent_at"], BEIJING).date() == begin]
    return jsonify({"list": rows})


# ---------------------------------------------------------------------- seeding
def _seed_wechat(store: Store, item: dict, at: float) -> str:
    """A post made in the WeChat back end: a published article or a mass send."""
    article = {"title": item.get("title") or "模拟发布", "author": "", "digest": "",
               "content": f"<p>{item.get('title') or '模拟发布'}</p>",
               "content_source_url": "", "thumb_media_id": ""}
    if item.get("kind") == "mass":
        msg_id = str(1000000000 + store.next_id())
        store.mass[msg_id] = {"appid": item["appid"], "articles": [article], "deleted": False,
                              "clientmsgid": None, "seq": store.next_id(),
                              "msg_data_id": str(int(msg_id) + 7), "sent_at": at}
        return msg_id
    article_id = f"ARTICLE{store.next_id():06d}{secrets.token_hex(6)}"
    store.articles[article_id] = {"appid": item["appid"], "articles": [article],
                                  "deleted": False, "publish_id": None,
                                  "update_time": int(at), "url": f"{host()}/s/{article_id}",
                                  "seq": store.next_id()}
    return article_id


def _seed_weibo(store: Store, item: dict, at: float) -> str:
    user = store.weibo_tokens[item["access_token"]]
    status = _new_status(store, user, item.get("text") or "模拟微博 http://example.gov.cn/",
                         None)
    status["created_at"] = datetime.fromtimestamp(at, BEIJING).strftime(
        "%a %b %d %H:%M:%S +0800 %Y")
    store.statuses.append(status)
    return status["idstr"]


def _seed_douyin(store: Store, item: dict, at: float) -> str:
    """A work posted in the Douyin app: public (video_status 5) unless `status` says 4 (under
    review: the next video_data query settles it) or 2 (refused)."""
    item_id = f"@standin{store.next_id():08d}"
    store.douyin_items[item_id] = {
        "item_id": item_id, "open_id": item["open_id"], "title": item.get("title") or "模拟作品",
        "video_id": None, "size": 0, "parts": 0, "create_time": int(at), "deleted": False,
        "video_status": int(item.get("status") or 5), "reviews_left": 0,
        "share_url": f"{host()}/video/{item_id}"}
    return item_id


SEEDERS = {"wechat": _seed_wechat, "weibo": _seed_weibo, "douyin": _seed_douyin}


@bp.post("/_standin/seed")
def control_seed():
    """{"posts": [{"platform": "wechat", "appid", "kind": "publish"|"mass", "title",
    "at": epoch seconds, "count": n} | {"platform": "weibo", "access_token", "text", "at",
    "count"} | {"platform": "douyin", "open_id", "title", "at", "count", "status"}]}: posts
    made outside govmedia; answers their ids."""
    store, made = current_store(), []
    with store.lock:
        for item in body_json().get("posts") or []:
            at = float(item.get("at") or time.time())
            for n in range(int(item.get("count") or 1)):
                one = dict(item)
                if int(item.get("count") or 1) > 1:
                    one["title"] = f"{item.get('title') or '模拟发布'}{n + 1}"
                    one["text"] = f"{item.get('text') or '模拟微博'}{n + 1} http://example.gov.cn/"
                made.append(SEEDERS[item.get("platform") or "wechat"](store, one, at))
    return jsonify({"ids": made})
