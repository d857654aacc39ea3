"""How large a request body a view takes, set before anything reads the body.

MAX_CONTENT_LENGTH (16 MB) holds for every request. A view that takes more (a video) or less
(a cover) names its setting with `@body_limit("VIDEO_MAX_BYTES")`, and the app's first
before-request hooks apply it: before the CSRF check reads the form, which would otherwise
refuse a page's 17 MB upload with a bare 413 whatever the view allows.
"""
from flask import current_app, request


def body_limit(setting: str, extra: int = 0):
    """Mark a view (put it right under the route decorator): its body may be `setting` bytes
    (a name in the app config) plus `extra`."""
    def mark(view):
        view.body_limit = (setting, extra)
        return view
    return mark


def apply_body_limit() -> None:
    view = current_app.view_functions.get(request.endpoint)
    limit = getattr(view, "body_limit", None)
    if limit is not None:
        setting, extra = limit
        request.max_content_length = int(current_app.config[setting]) + extra
