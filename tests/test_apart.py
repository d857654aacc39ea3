"""govmedia/apart.py: the platforms' callbacks are served by a lean app of their own, without
the pages' per-request work, on the main app's database engine and settings."""
from flask import Blueprint, current_app
from sqlalchemy import text

from govmedia.apart import serve_apart
from govmedia.extensions import db


def test_a_blueprint_served_apart_skips_the_pages_hooks_and_shares_the_engine(app):
    probe = Blueprint("probe_apart", __name__, url_prefix="/probe-apart")
    seen = {}

    @probe.get("/<int:n>")
    def answer(n):
        seen["engine"] = db.engine
        seen["setting"] = current_app.config["WECHAT_CALLBACK_MAX_BYTES"]
        return str(db.session.execute(text("SELECT :n + 1"), {"n": n}).scalar())

    app.register_blueprint(probe)
    serve_apart(app, probe)
    ran = []
    app.before_request(lambda: ran.append("page hook"))

    response = app.test_client().get("/probe-apart/41")
    assert response.get_data(as_text=True) == "42"
    assert ran == []                                           # none of the pages' hooks
    assert "Set-Cookie" not in response.headers                # no session
    # the security headers every answer carries, the same as the pages'
    page = app.test_client().get("/login")
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"):
        assert response.headers[name] == page.headers[name]
    assert seen["engine"] is db.engine                          # one pool per process
    assert seen["setting"] == app.config["WECHAT_CALLBACK_MAX_BYTES"]
    assert ran == ["page hook"]                                # the login page ran them


def test_the_wechat_callback_is_served_apart(app):
    response = app.test_client().get("/callbacks/wechat/999999")   # no such account
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers and response.headers["X-Frame-Options"]
    # still documented, and still known to url_for, through the main app's copy
    assert "/callbacks/wechat/{account_id}" in app.test_client().get(
        "/api/v1/openapi.json").get_json()["paths"]
