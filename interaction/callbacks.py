"""The platform-facing callback URL (API.md Interaction): no login, the signature is the check.

WeChat waits 5 seconds and retries what is not answered 200, so the view stores and answers
at once; a database that is down answers 503 (govmedia.api's handler) and WeChat retries.
"""
from flask import Blueprint, Response, current_app, request

from govmedia.api import documented
from govmedia.extensions import csrf, db
from govmedia.types import utcnow

from . import services
from .jobs import account_credentials
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
    if services.receiving_account(account_id, "wechat") is None:
        return _text("unknown account", 404)
    token = account_credentials(account_id).get("token")
    args = request.args
    if not token or not signature_ok(token, args.get("signature"), args.get("timestamp"),
                                     args.get("nonce")):
        return _text("wrong signature", 403)
    return _text(args.get("echostr", ""))


@bp.post("/wechat/<int:account_id>")
@documented("WeChat message callback (plaintext, or safe mode with encrypt_type=aes): "
            "`success` once stored", auth=False, tag="interaction", media="application/xml",
            query=_SIGNED | {"encrypt_type": {"type": "string", "enum": ["raw", "aes"]},
                             "msg_signature": "string", "openid": "string"},
            responses={200: "success", 400: "malformed or oversized XML",
                       403: "wrong signature", 404: "unknown or closed account",
                       503: "database unavailable: the platform retries"})
def wechat_message(account_id):
    account = services.receiving_account(account_id, "wechat")
    if account is None:
        return _text("unknown account", 404)
    limit = current_app.config["WECHAT_CALLBACK_MAX_BYTES"]
    if (request.content_length or 0) > limit:
        return _refused(CallbackRefused(400, f"body larger than {limit} bytes"))
    try:
        xml = plaintext(request.stream.read(limit + 1), request.args,
                        account_credentials(account_id), limit)
        incoming = parse(xml, utcnow())
    except CallbackRefused as exc:
        return _refused(exc)
    if incoming is not None:
        services.store_message(account, incoming)
        db.session.commit()
    return _text("success")
