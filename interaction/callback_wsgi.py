"""The WeChat message callback's common case, answered at the WSGI level (govmedia.apart's
FastPath) before Flask builds a request context, opens a session, routes and builds a response:
that machinery cost about as much CPU as the callback's own work (docs/INTERACTION.md).

The common case is a POST to /callbacks/wechat/<id> of an account this process read lately
(interaction.receivers' cache), with a plain query string and a Content-Length within the
limit, whose signature holds, whose XML is a message or an event, and that Redis takes. It is
answered `success` exactly as the view would answer it, with the same steps (the signature,
the XML, the hand-off are the view's own functions). Everything else — an account not in the
cache, a refusal of any kind (which the view answers after reading the account again, so a
changed token still holds), Redis away — goes to the view in interaction.callbacks, with the
body as it came: the view decides, as before.
"""
from __future__ import annotations

import io
import re
from urllib.parse import parse_qsl

from redis.exceptions import RedisError

from govmedia.types import DB_INT_MAX, utcnow

from . import receivers
from .intake import hand_off
from .wechat_callback import CallbackRefused, parse, plaintext

# What the route's <int:account_id> accepts, less leading zeros (the view takes those).
_PATH = re.compile(r"/callbacks/wechat/([1-9][0-9]{0,9})\Z")
_OK = ("200 OK", "success")


def wechat_message_fast(app):
    """The FastPath answer for `app`: (status, text) or None for the view."""

    def answer(environ) -> tuple[str, str] | None:
        if environ.get("REQUEST_METHOD") != "POST":
            return None
        matched = _PATH.match(environ.get("PATH_INFO", ""))
        query = environ.get("QUERY_STRING", "")
        # A query that needs decoding is left to the view (werkzeug's decoding, not ours).
        if matched is None or "%" in query or "+" in query:
            return None
        account_id = int(matched.group(1))
        receiver = receivers.cached(account_id, "wechat", app) if account_id <= DB_INT_MAX \
            else None
        if receiver is None:
            return None
        limit = app.config["WECHAT_CALLBACK_MAX_BYTES"]
        length = environ.get("CONTENT_LENGTH", "")
        if not (length.isascii() and length.isdigit()) or int(length) > limit:
            return None
        body = environ["wsgi.input"].read(int(length))
        try:
            args = dict(reversed(parse_qsl(query, keep_blank_values=True)))  # the first wins
            incoming = parse(plaintext(body, args, receiver.credentials, limit), utcnow())
            if incoming is not None:
                hand_off(receiver.account_id, incoming, app)
            return _OK
        except (CallbackRefused, RedisError):
            pass
        # The view answers: it reads the body the stream would have given it.
        environ["wsgi.input"] = io.BytesIO(body)
        return None

    return answer
