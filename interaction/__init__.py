"""Interaction (issue 14): messages from the public through the platforms' callbacks, the inbox,
reply deadlines in working days, and replies sent back through the platform."""
from govmedia.apart import serve_apart
from govmedia.holidays import register_deadline_recompute
from govmedia.periodic import register_periodic

from . import models  # noqa: F401  (the metadata must see the tables)
from .answer_views import bp as answer_views_bp
from .answers_api import bp as answers_api_bp
from .api import bp as api_bp
from .arrivals import tell_new_messages
from .callback_wsgi import wechat_message_fast
from .callbacks import bp as callbacks_bp
from .intake import drain_messages
from .jobs import sweep_replies
from .receivers import forget_after_change
from .weibo_pull import pull_weibo_comments
from .services import recompute_reply_deadlines
from .views import bp as views_bp


def init_app(app) -> None:
    """The platform callbacks (no login; served apart: govmedia/apart.py), the inbox API and
    page, the knowledge base's API and page, the recomputation of reply deadlines when a year's holidays are entered, and the
    minute's jobs: replies swept, new messages told to their repliers; the callbacks' queue
    drained every INBOX_DRAIN_SECONDS besides the drain each callback asks for; the callbacks'
    account cache emptied after a change made through this process."""
    for blueprint in (callbacks_bp, api_bp, answers_api_bp, views_bp, answer_views_bp):
        app.register_blueprint(blueprint)
    # The platforms' callbacks are served by a lean app of their own: none of the pages'
    # per-request work (session, CSRF, language, headers) before answering the platform; a
    # message's common case is answered before Flask's request machinery (callback_wsgi).
    serve_apart(app, callbacks_bp, fast=wechat_message_fast(app))
    register_deadline_recompute(app, recompute_reply_deadlines)
    register_periodic(app, "reply_sweep", sweep_replies, every_seconds=60)
    register_periodic(app, "new_messages", tell_new_messages, every_seconds=60)
    register_periodic(app, "inbox_drain", drain_messages,
                      every_seconds=app.config["INBOX_DRAIN_SECONDS"])
    app.after_request(forget_after_change)
    register_periodic(app, "weibo_comments", pull_weibo_comments,
                      every_seconds=app.config["WEIBO_COMMENTS_PULL_SECONDS"])
