"""`GET /healthz` for the proxy's and the monitoring's health checks (docs/DEPLOY.md).

No login and nothing but ok/down. 200 while the database answers; Redis is reported but does
not fail the check: every web node shares the one Redis, sign-offs work without it (the sweep
enqueues later), so taking every node out of the proxy for it would only make things worse.
"""
from flask import Blueprint, current_app, jsonify
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError:  # any failure to reach it: the answer is "down", never a trace
        db.session.rollback()
        checks["database"] = "down"
    try:
        Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=1,
                       socket_timeout=1).ping()
        checks["redis"] = "ok"
    except RedisError:
        checks["redis"] = "down"
    healthy = checks["database"] == "ok"
    response = jsonify(status="ok" if healthy else "unavailable", **checks)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
