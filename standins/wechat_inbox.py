"""WeChat messages from the public: customer-service replies, and pushing a follower's message
into an account's callback URL signed as WeChat signs it (plaintext or safe mode).

`POST /_standin/wechat/messages` body: {url, token, encoding_aes_key?, appid?, mode: "plain" |
"aes", from_user?, to_user?, content?, msg_id?, create_time?, forge?}. `forge: true` signs with
a wrong token. The answer: {status, body, msg_id} of the callback. The follower's message opens
WeChat's 48-hour reply window for `message/custom/send` (45015 after it).
"""
from __future__ import annotations

import hashlib
import secrets
import time
from xml.sax.saxutils import escape

import requests
import xmltodict
from flask import Blueprint, jsonify
from wechatpy.crypto import WeChatCrypto

from standins.common import body_json
from standins.store import DEFAULT_WECHAT_APPS, current_store
from standins.wechat import _caller, wechat_error

bp = Blueprint("wechat_inbox", __name__)

REPLY_WINDOW_SECONDS = 48 * 3600
TEXT_MAX_BYTES = 2048
ERRMSG = {40003: "invalid openid", 44003: "empty content", 45002: "content size out of limit",
          45015: "response out of time limit", 47001: "data format error"}


def _error(code: int):
    return wechat_error(code, ERRMSG.get(code))


@bp.post("/cgi-bin/message/custom/send")
def wechat_custom_send():
    appid, refused = _caller()
    if refused:
        return refused
    data = body_json()
    touser, content = data.get("touser"), (data.get("text") or {}).get("content")
    if data.get("msgtype") != "text" or not isinstance(touser, str):
        return _error(47001)
    if not content:
        return _error(44003)
    if len(content.encode("utf-8")) > TEXT_MAX_BYTES:
        return _error(45002)
    store = current_store()
    with store.lock:
        last = store.followers_last_message.get((appid, touser))
        if last is None:
            return _error(40003)
        if time.time() - last > REPLY_WINDOW_SECONDS:
            return _error(45015)
        store.custom_messages.append({"appid": appid, "touser": touser, "content": content,
                                      "sent_at": time.time()})
    return jsonify({"errcode": 0, "errmsg": "ok"})


@bp.get("/_standin/wechat/custom-messages")
def control_custom_messages():
    store = current_store()
    with store.lock:
        return jsonify({"items": list(store.custom_messages)})


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _message_xml(to_user: str, from_user: str, create_time: int, content: str,
                 msg_id: str) -> str:
    return (f"<xml><ToUserName><![CDATA[{escape(to_user)}]]></ToUserName>"
            f"<FromUserName><![CDATA[{escape(from_user)}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content.replace(']]>', ']]]]><![CDATA[>')}]]></Content>"
            f"<MsgId>{msg_id}</MsgId></xml>")


@bp.post("/_standin/wechat/messages")
def control_push_message():
    data, store = body_json(), current_store()
    appid = data.get("appid") or next(iter(DEFAULT_WECHAT_APPS))
    from_user = data.get("from_user") or "o" + secrets.token_hex(13)
    create_time = int(data.get("create_time") or time.time())
    msg_id = str(data.get("msg_id") or (int(time.time() * 1000) * 1000 + store.next_id()))
    xml = _message_xml(data.get("to_user") or "gh_standin00001", from_user, create_time,
                       data.get("content") or "你好", msg_id)
    token = "forged" + data["token"] if data.get("forge") else data["token"]
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    params = {"signature": _signature(token, timestamp, nonce), "timestamp": timestamp,
              "nonce": nonce}
    if data.get("mode") == "aes":
        crypto = WeChatCrypto(token, data["encoding_aes_key"], appid)
        encrypted = crypto.encrypt_message(xml, nonce, timestamp)
        params.update(encrypt_type="aes", openid=from_user,
                      msg_signature=xmltodict.parse(encrypted)["xml"]["MsgSignature"])
        xml = encrypted
    if not data.get("forge"):
        with store.lock:   # the follower wrote: WeChat's reply window opens from CreateTime
            key = (appid, from_user)
            store.followers_last_message[key] = max(store.followers_last_message.get(key, 0),
                                                    create_time)
    response = requests.post(data["url"], params=params, data=xml.encode("utf-8"),
                             headers={"Content-Type": "text/xml"}, timeout=10)
    return jsonify({"status": response.status_code, "body": response.text, "msg_id": msg_id,
                    "from_user": from_user})
