"""WeChat's server callback (服务器配置): signature checks, safe mode and the message parse.

Plain functions of the request's parts, so the view stays thin and the tests can call them.
`CallbackRefused` carries the HTTP status the platform is answered with.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_xml
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

# A CreateTime further ahead than this is a clock error or a forgery: the arrival time is used.
_CLOCK_SKEW = timedelta(minutes=5)


class CallbackRefused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Incoming:
    """A message from the public as the platform delivered it (WeChat events carry no MsgId;
    a Weibo comment names the post it is under in `thread_id`)."""

    msg_id: str | None
    sender: str
    kind: str
    text: str
    received_at: datetime
    thread_id: str | None = None


def signature_ok(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    try:
        check_signature(token, signature or "", timestamp or "", nonce or "")
    except InvalidSignatureException:
        return False
    return True


def _checked_xml(body: bytes | str) -> None:
    """Refuse what is not one plain XML document before any parser that expands entities
    (xmltodict, under wechatpy) sees it: DTDs, entities, external references, broken XML."""
    try:
        safe_xml(body, forbid_dtd=True)
    except (DefusedXmlException, SyntaxError, ValueError) as exc:
        raise CallbackRefused(400, f"malformed XML: {exc}") from None


def plaintext(body: bytes, args, credentials: dict, max_bytes: int) -> str:
    """The message XML of a POST: signature checked, safe mode (encrypt_type=aes) decrypted."""
    if len(body) > max_bytes:
        raise CallbackRefused(400, f"body larger than {max_bytes} bytes")
    token = credentials.get("token")
    if not token:
        raise CallbackRefused(403, "no callback token is set for this account")
    if not signature_ok(token, args.get("signature"), args.get("timestamp"), args.get("nonce")):
        raise CallbackRefused(403, "wrong signature")
    _checked_xml(body)
    if args.get("encrypt_type", "raw") in ("", "raw"):
        return body.decode("utf-8", "replace")
    if args.get("encrypt_type") != "aes":
        raise CallbackRefused(400, "unknown encrypt_type")
    key = credentials.get("encoding_aes_key")
    if not key:
        raise CallbackRefused(403, "safe mode, but no EncodingAESKey is set for this account")
    crypto = WeChatCrypto(token, key, credentials.get("app_id") or "")
    try:
        xml = crypto.decrypt_message(body, args.get("msg_signature") or "",
                                     args.get("timestamp") or "", args.get("nonce") or "")
    except (InvalidSignatureException, InvalidAppIdException):
        raise CallbackRefused(403, "wrong msg_signature or AppID") from None
    except (KeyError, TypeError, ValueError, ExpatError) as exc:
        raise CallbackRefused(400, f"undecryptable message: {type(exc).__name__}") from None
    _checked_xml(xml)
    return xml


def _received_at(raw, now: datetime) -> datetime:
    try:
        when = datetime.fromtimestamp(int(raw), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return now
    return now if when > now + _CLOCK_SKEW else when


def parse(xml: str, now: datetime) -> Incoming | None:
    """The message, or None for an event (subscribe, menu clicks: nothing to answer)."""
    try:
        message = parse_message(xml)
        data = message._data if message is not None else None
    except (KeyError, TypeError, AttributeError, ValueError, ExpatError) as exc:
        raise CallbackRefused(400, f"not a WeChat message: {type(exc).__name__}") from None
    if not isinstance(data, dict) or not isinstance(data.get("MsgType"), str):
        raise CallbackRefused(400, "not a WeChat message")
    if data["MsgType"].lower() == "event" or data["MsgType"].lower().startswith("device_"):
        return None
    msg_id, sender = data.get("MsgId"), data.get("FromUserName")
    if not (isinstance(msg_id, str) and msg_id.isascii() and msg_id.isdigit()
            and 0 < len(msg_id) <= 64):
        raise CallbackRefused(400, "MsgId missing or not a number")
    if not (isinstance(sender, str) and 0 < len(sender) <= 128):
        raise CallbackRefused(400, "FromUserName missing")
    kind = data["MsgType"].lower()[:20]
    text = data.get("Content") if kind == "text" else data.get("Recognition") or ""
    if not isinstance(text, str):
        raise CallbackRefused(400, "Content is not text")
    return Incoming(msg_id=msg_id, sender=sender, kind=kind, text=text,
                    received_at=_received_at(data.get("CreateTime"), now))
