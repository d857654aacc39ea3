"""Request and answer helpers both platforms share: JSON body, host URL, images, HTML pages."""
from __future__ import annotations

import html
import re

from flask import Response, request

LABEL = "平台模拟器（stand-in），不是真实的微信、微博或抖音"
URL = re.compile(r"https?://[^\s<>\"']+")


def body_json() -> dict:
    data = request.get_json(force=True, silent=True)
    return data if isinstance(data, dict) else {}


def host() -> str:
    return request.host_url.rstrip("/")


def image_kind(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def page(title: str, body: str, status: int = 200) -> Response:
    # Every page says it is a stand-in, so nobody mistakes it for the real platform.
    text = (f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title></head><body>"
            f"<p><strong>{LABEL}</strong></p>{body}</body></html>")
    return Response(text, status=status, mimetype="text/html")
