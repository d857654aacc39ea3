"""WeChat's server callback (服务器配置): signature checks, safe mode and the message parse.

Plain functions of the request's parts, so the view stays thin and the tests can call them.
`CallbackRefused` carries the HTTP status the platform is answered with.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from xml.parsers.expat import ExpatError, ParserCreate

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


class _Refused(Exception):
    """A DTD or an entity declaration: what defusedxml's check refused (forbid_dtd)."""


def _refuse(*_args):
    raise _Refused("DTDs and entities are refused")


_NOT_TEXT = object()   # an element repeated, or with attributes or children: not a text field


def _fields(body: bytes | str) -> dict:
    """One expat pass over a document: refused (400) unless it is one well-formed document
    without a DTD, entity declarations or external references (what defusedxml's check with
    forbid_dtd refused), its root `<xml>`; returns the root's child elements as
    wechatpy.parse_message's xmltodict reads them: the text stripped, None when empty, and a
    value that is no text for an element repeated (a list there) or carrying attributes or
    children (a dict there). Bytes are read in their declared encoding (UTF-8 by default); a
    str is read as UTF-8, as xmltodict reads it."""
    parser = ParserCreate()
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = parser.ExternalEntityRefHandler = _refuse
    fields: dict = {}
    text: list[str] = []
    state = {"depth": 0, "plain": True}

    def start(name, attrs):
        depth = state["depth"] = state["depth"] + 1
        if depth == 1 and name != "xml":
            raise _Refused(f"the root is <{name[:40]}>, not <xml>")
        if depth == 2:
            text.clear()
            state["plain"] = not attrs
        elif depth > 2:
            state["plain"] = False

    def end(name):
        state["depth"] -= 1
        if state["depth"] == 1:
            value = ("".join(text).strip() or None) if state["plain"] else _NOT_TEXT
            fields[name] = _NOT_TEXT if name in fields else value

    def characters(data):
        if state["depth"] == 2:
            text.append(data)

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(body, True)
    except (_Refused, ExpatError, ValueError) as exc:
        raise CallbackRefused(400, f"malformed XML: {exc}") from None
    return fields


def plaintext(body: bytes, args, credentials: dict, max_bytes: int) -> bytes | str:
    """The message XML of a POST: signature checked, safe mode (encrypt_type=aes) decrypted.
    Plaintext is returned as it came (`parse` reads it in the same pass that checks it); safe
    mode's envelope is checked before wechatpy's decryption parses it."""
    if len(body) > max_bytes:
        raise CallbackRefused(400, f"body larger than {max_bytes} bytes")
    token = credentials.get("token")
    if not token:
        raise CallbackRefused(403, "no callback token is set for this account")
    if not signature_ok(token, args.get("signature"), args.get("timestamp"), args.get("nonce")):
        raise CallbackRefused(403, "wrong signature")
    if args.get("encrypt_type", "raw") in ("", "raw"):
        return body
    _fields(body)
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
    return xml


def _received_at(raw, now: datetime) -> datetime:
    try:
        when = datetime.fromtimestamp(int(raw), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return now
    return now if when > now + _CLOCK_SKEW else when


def parse(xml: bytes | str, now: datetime) -> Incoming | None:
    """The message, or None for an event (subscribe, menu clicks: nothing to answer). One
    pass of expat checks the XML (`_fields`) and reads a message's fields; an event, not on
    the hot path and not stored, is read by wechatpy.parse_message as well, so what it
    refuses (an Event that is no text) is refused as before."""
    data = _fields(xml)
    kind = data.get("MsgType")
    if not isinstance(kind, str):
        raise CallbackRefused(400, "not a WeChat message")
    kind = kind.lower()
    if kind == "event" or kind.startswith("device_"):
        try:
            parse_message(xml)
        except (KeyError, TypeError, AttributeError, ValueError, ExpatError) as exc:
            raise CallbackRefused(400, f"not a WeChat message: {type(exc).__name__}") from None
        return None
    msg_id, sender = data.get("MsgId"), data.get("FromUserName")
    if not (isinstance(msg_id, str) and msg_id.isascii() and msg_id.isdigit()
            and 0 < len(msg_id) <= 64):
        raise CallbackRefused(400, "MsgId missing or not a number")
    if not (isinstance(sender, str) and 0 < len(sender) <= 128):
        raise CallbackRefused(400, "FromUserName missing")
    kind = kind[:20]
    text = data.get("Content") if kind == "text" else data.get("Recognition") or ""
    if not isinstance(text, str):
        raise CallbackRefused(400, "Content is not text")
    return Incoming(msg_id=msg_id, sender=sender, kind=kind, text=text,
                    received_at=_received_at(data.get("CreateTime"), now))
