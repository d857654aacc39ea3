"""The platform-facing callback URL (API.md Interaction): no login, the signature is the check.

WeChat waits 5 seconds and retries what is not answered 200. The view checks the account, the
signature and the XML, hands the message to Redis (interaction.intake) and answers `success`;
a job stores it moments later. The account and its credentials come from the process's short
cache (interaction.receivers), so a callback costs no database statement. Redis away: 503, and
WeChat retries; the database away: the message waits in Redis (a cold cache answers 503).
"""
from flask import Blueprint, Response, current_app, request
from flask_babel import gettext as _
from redis.exceptions import RedisError

from govmedia.api import documented
from govmedia.extensions import csrf
from govmedia.types import utcnow

from . import receivers
from .intake import hand_off
from .wechat_callback import CallbackRefused, parse, plaintext, signature_ok

bp = Blueprint("interaction_callbacks", __name__, url_prefix="/callbacks")
csrf.exempt(bp)  # the platform posts XML; the signature, not a session, authenticates it


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _refused(exc: CallbackRefused) -> Response:
    current_app.logger.info("wechat callback refused (%s): %s", exc.status, exc.reason)
    return _text(exc.reason, exc.status)


_SIGNED = {"signature": "string", "timestamp": "string", "nonce": "string"}


@bp.get("/wechat/<int:account_id>")
@documented("WeChat server configuration URL check: echostr when the signature holds",
            auth=False, tag="interaction", media="text/plain",
            query=_SIGNED | {"echostr": "string"},
            responses={200: "echostr", 403: "wrong signature", 404: "unknown or closed account"})
def wechat_check(account_id):
    """The URL check of the server configuration: echo `echostr` when the signature holds."""
    args = request.args

    def signed(receiver) -> bool:
        token = receiver.credentials.get("token")
        return bool(token) and signature_ok(token, args.get("signature"), args.get("timestamp"),
                                            args.get("nonce"))

    receiver = _receiver(account_id)
    if receiver is not None and not signed(receiver) and receiver.cached:
        receiver = receivers.load(account_id, "wechat")   # the token may have changed
    if receiver is None:
        return _text("unknown account", 404)
    if not signed(receiver):
        return _text("wrong signature", 403)
    return _text(args.get("echostr", ""))


@bp.post("/wechat/<int:account_id>")
@documented("WeChat message callback (plaintext, or safe mode with encrypt_type=aes): "
            "`success` once queued for storing", auth=False, tag="interaction", media="application/xml",
            query=_SIGNED | {"encrypt_type": {"type": "string", "enum": ["raw", "aes"]},
                             "msg_signature": "string", "openid": "string"},
            responses={200: "success", 400: "malformed or oversized XML",
                       403: "wrong signature", 404: "unknown or closed account",
                       503: "queue (or, for an account not read lately, database) unavailable: "
                            "the platform retries"})
def wechat_message(account_id):
    receiver = _receiver(account_id)
    if receiver is None:
        return _text("unknown account", 404)
    limit = current_app.config["WECHAT_CALLBACK_MAX_BYTES"]
    if (request.content_length or 0) > limit:
        return _refused(CallbackRefused(400, f"body larger than {limit} bytes"))
    body = request.stream.read(limit + 1)
    try:
        try:
            xml = plaintext(body, request.args, receiver.credentials, limit)
        except CallbackRefused as exc:
            if exc.status != 403 or not receiver.cached:
                raise
            # Refused with what this process remembered: the credentials may have changed.
            receiver = receivers.load(account_id, "wechat")
            if receiver is None:
                return _text("unknown account", 404)
            xml = plaintext(body, request.args, receiver.credentials, limit)
        incoming = parse(xml, utcnow())
    except CallbackRefused as exc:
        return _refused(exc)
    if incoming is not None:
        try:
            hand_off(receiver.account_id, incoming)
        except RedisError as exc:
            current_app.logger.error("wechat callback: the queue is unavailable: %s", exc)
            return _text(_("Message queue unavailable, try again later"), 503)
    return _text("success")


def _receiver(account_id: int):
    return receivers.cached(account_id, "wechat") or receivers.load(account_id, "wechat")
