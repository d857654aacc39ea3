"""Messages kept as words to be said later: a msgid and its parameters, put into the reader's
language when read, not in the language of the worker that wrote them.

A delivery's error and a notification are written by a job (no reader, Chinese by default) and
read by whoever opens the page, in Chinese or in English. So they are stored as
`{"msgid": ..., "params": {...}}` (JSON as it is) and said with `say()` when shown. A
parameter may itself be such a message (the step an error happened in), said the same way.
"""
from __future__ import annotations

from flask_babel import gettext


def N_(text: str) -> str:  # noqa: N802 - one of pybabel's default keywords
    """Marks a msgid for extraction; it is translated when said."""
    return text


def message(msgid: str, **params) -> dict:
    """A message to say later. Parameters must be JSON values or messages themselves."""
    return {"msgid": msgid, "params": params}


def is_message(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("msgid"), str)


def say(msg: dict | None) -> str:
    """`msg` in the reader's language (the request's, else the app's default); "" for None."""
    if not msg:
        return ""
    params = {k: say(v) if is_message(v) else v for k, v in (msg.get("params") or {}).items()}
    return gettext(msg["msgid"], **params) if params else gettext(msg["msgid"])


def in_english(msg: dict | None) -> str:
    """`msg` as its msgids read (English), for logs and exceptions outside any request."""
    if not msg:
        return ""
    params = {k: in_english(v) if is_message(v) else v
              for k, v in (msg.get("params") or {}).items()}
    try:
        return msg["msgid"] % params if params else msg["msgid"]
    except (KeyError, TypeError, ValueError):
        return msg["msgid"]
