"""Fixtures: the app on SQLite and on a real PostgreSQL, API clients, users and units."""
import os
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from services import start_postgres, start_redis  # noqa: E402

from govmedia import create_app  # noqa: E402
from govmedia.auth import hash_password  # noqa: E402
from govmedia.extensions import db  # noqa: E402
from govmedia.models import User  # noqa: E402

BACKENDS = [b for b in os.environ.get("GOVMEDIA_TEST_DATABASES", "sqlite,postgresql").split(",")
            if b]
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


def base_config(database_url: str) -> dict:
    return {"TESTING": True, "INSTANCE_PATH": TEST_INSTANCE, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "QUEUE_EAGER": True, "REDIS_URL": None,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}}


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """Each backend's schema is built once, through the real migrations."""
    from flask_migrate import upgrade

    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")
    elif request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        raise ValueError(f"unknown test backend {request.param}")
    app = create_app(base_config(url))
    with app.app_context():
        if request.param == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade(revision="heads")  # parallel work may add migration branches until merged
        db.engine.dispose()
    return url


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))
        db.session.execute(text("DELETE FROM sqlite_sequence")) if db.session.execute(text(
            "SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")).first() else None
    db.session.commit()


@pytest.fixture
def app(database_url):
    app = create_app(base_config(database_url))
    with app.app_context():
        _empty_tables()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def backend(app):
    return db.engine.dialect.name


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
