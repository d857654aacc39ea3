"""A cache that lives exactly as long as the current request (or job, outside requests)."""
from flask import g, has_request_context, request


def scoped_cache() -> dict:
    # Not `g`: an app context can outlive one request (tests, CLI), and a token or calendar
    # cached there would leak into the next request.
    if has_request_context():
        return request.environ.setdefault("govmedia.cache", {})
    if "govmedia_cache" not in g:
        g.govmedia_cache = {}
    return g.govmedia_cache
