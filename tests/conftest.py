"""Fixtures: the app on a real PostgreSQL and Redis, API clients, users and units."""
import os
import sys
import tempfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from services import start_postgres, start_redis  # noqa: E402

from govmedia import create_app  # noqa: E402
from govmedia.auth import hash_password  # noqa: E402
from govmedia.extensions import db  # noqa: E402
from govmedia.models import User  # noqa: E402
from govmedia.worker import run_burst  # noqa: E402

PASSWORD = "Passw0rd-test"
# Tests never write into the checkout's instance folder.
TEST_INSTANCE = tempfile.mkdtemp(prefix="govmedia-test-instance-")


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    service = start_postgres(tmp_path_factory.mktemp("postgres"))
    yield service.url
    service.stop()


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory):
    service = start_redis(tmp_path_factory.mktemp("redis"))
    yield service
    service.stop()


def base_config(database_url: str, redis_url: str | None = None) -> dict:
    return {"TESTING": True, "INSTANCE_PATH": TEST_INSTANCE, "DATABASE_URL": database_url,
            "REDIS_URL": redis_url or _SESSION_REDIS["url"], "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "STANDIN_PLATFORMS": False}


_SESSION_REDIS: dict = {}


@pytest.fixture(scope="session")
def database_url(postgres_url, redis_service):
    """The schema is built once, through the real migrations."""
    from flask_migrate import upgrade

    _SESSION_REDIS["url"] = redis_service.url
    app = create_app(base_config(postgres_url))
    with app.app_context():
        db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.session.commit()
        upgrade(revision="heads")  # parallel work may add migration branches until merged
        db.engine.dispose()
    return postgres_url


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    db.session.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
    db.session.commit()


class WorkingClient(FlaskClient):
    """After each request, a burst worker runs what the request enqueued (RQ, real Redis), so
    a test sees the request's jobs done, as a user would a moment later."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if self.application.config.get("TEST_RUN_JOBS", True):
            run_burst(self.application)
        return response


@pytest.fixture
def app(database_url, redis_service):
    app = create_app(base_config(database_url, redis_service.url))
    app.test_client_class = WorkingClient
    Redis.from_url(redis_service.url).flushdb()
    with app.app_context():
        _empty_tables()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def run_jobs(app):
    """Run every job waiting in the queues now (a non-forking burst worker)."""
    return lambda: run_burst(app)


class ApiClient:
    """JSON calls with a bearer token; every response is a werkzeug TestResponse."""

    def __init__(self, client, token=None):
        self.client, self.token = client, token

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, **params):
        return self.client.get(path, query_string=params, headers=self._headers())

    def post(self, path, json=None, data=None, content_type=None):
        if data is not None:
            return self.client.post(path, data=data, headers=self._headers(),
                                    content_type=content_type or "application/json")
        return self.client.post(path, json=json if json is not None else {},
                                headers=self._headers())

    def patch(self, path, json):
        return self.client.patch(path, json=json, headers=self._headers())

    def put(self, path, json):
        return self.client.put(path, json=json, headers=self._headers())

    def delete(self, path):
        return self.client.delete(path, headers=self._headers())


def make_user(username, roles, unit_id=None, password=PASSWORD) -> User:
    user = User(username=username, password_hash=hash_password(password), roles=list(roles),
                unit_id=unit_id, active=True, session_version=1)
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def login(client):
    def _login(username, password=PASSWORD) -> ApiClient:
        response = client.post("/api/v1/auth/tokens",
                               json={"username": username, "password": password})
        assert response.status_code == 201, response.get_json()
        return ApiClient(client, response.get_json()["token"])

    return _login


@pytest.fixture
def admin_api(app, login):
    make_user("admin", ["admin"])
    return login("admin")


@pytest.fixture
def world(app, admin_api, login):
    """Two units, each with a sponsor; a supervisor; API clients for each."""
    a = admin_api.post("/api/v1/units", {"name": "某县人民政府办公室"}).get_json()
    b = admin_api.post("/api/v1/units", {"name": "某县教育局"}).get_json()
    make_user("sponsor_a", ["sponsor"], a["id"])
    make_user("sponsor_b", ["sponsor"], b["id"])
    make_user("supervisor", ["supervisor"])

    class World:
        unit_a, unit_b = a, b
        admin = admin_api
        sponsor_a = login("sponsor_a")
        sponsor_b = login("sponsor_b")
        supervisor = login("supervisor")

    return World


def account_body(unit_id, platform="wechat", handle="gh_0123456789ab", name="某县发布", **extra):
    body = {"unit_id": unit_id, "platform": platform, "name": name, "handle": handle,
            "opened_on": "2026-11-02", "office": "县政府办公室信息科",
            "staff": [{"name": "张三", "phone": "13800000000", "platform_role": "admin"}]}
    body.update(extra)
    return body


@pytest.fixture
def chinese_words():
    """An app context that says messages as a job does (Chinese, the default), with every
    package's catalogue, for tests of code that runs outside the app (the adapters)."""
    from flask import Flask
    from flask_babel import Babel

    root = Path(__file__).resolve().parent.parent
    catalogues = [str(p) for pattern in ("translations", "*/translations", "*/*/translations")
                  for p in sorted(root.glob(pattern))]
    words = Flask("words")
    Babel(words, default_locale="zh", default_translation_directories=";".join(catalogues))
    with words.app_context():
        yield
