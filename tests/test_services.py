"""The real-server helpers work: postgres, redis and headless chromium (no mocks)."""

from __future__ import annotations

import http.server
import socket
import threading
from pathlib import Path

import psycopg
import pytest
import redis

try:  # tests/ as a package (tests/__init__.py) or as a plain directory on sys.path
    from tests.browser import launch_chromium
    from tests.services import start_postgres, start_redis
except ImportError:  # pragma: no cover - depends on the rootdir layout
    from browser import launch_chromium
    from services import start_postgres, start_redis

CHINESE = "政务新媒体账号：国务院客户端（测试）"


# --------------------------------------------------------------------------- postgres


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    svc = start_postgres(tmp_path_factory.mktemp("pg"))
    yield svc
    svc.stop()


def _connect(pg):
    return psycopg.connect(pg.psycopg_dsn, connect_timeout=5)


def test_postgres_url_shape(pg):
    assert pg.url == f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/govmedia_test"
    assert pg.running


def test_postgres_roundtrips_chinese(pg):
    with _connect(pg) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "govmedia_test"
        assert conn.execute("SHOW server_encoding").fetchone()[0] == "UTF8"
        assert conn.execute("SHOW fsync").fetchone()[0] == "off"
        conn.execute("CREATE TABLE account (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO account (name) VALUES (%s)", (CHINESE,))
        conn.commit()
    with _connect(pg) as conn:  # a second connection sees the committed row
        rows = conn.execute("SELECT name, length(name) FROM account").fetchall()
    assert rows == [(CHINESE, len(CHINESE))]


def test_postgres_sqlalchemy_url_connects(pg):
    import sqlalchemy

    engine = sqlalchemy.create_engine(pg.url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT :s"), {"s": CHINESE}).scalar() == CHINESE
    finally:
        engine.dispose()


def test_postgres_stop_then_start_own_server(tmp_path):
    # A second, independent server: stop() really stops it and removes the data.
    svc = start_postgres(tmp_path)
    try:
        root = svc.root
        assert root is not None and (root / "data" / "PG_VERSION").exists()
        with _connect(svc) as conn:
            conn.execute("SELECT 1")
        svc.restart()  # keeps the data and the port
        with _connect(svc) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "govmedia_test"
    finally:
        svc.stop()
    assert not svc.running
    assert not root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(svc.psycopg_dsn, connect_timeout=2)


# --------------------------------------------------------------------------- redis


@pytest.fixture(scope="module")
def rds(tmp_path_factory):
    svc = start_redis(tmp_path_factory.mktemp("redis"))
    yield svc
    svc.stop()


def test_redis_set_get(rds):
    assert rds.url == f"redis://127.0.0.1:{rds.port}/0"
    client = redis.Redis.from_url(rds.url)
    try:
        client.set("名称", CHINESE)
        assert client.get("名称").decode() == CHINESE
    finally:
        client.close()


def test_redis_stop_and_start_on_same_port(rds):
    port = rds.port
    client = redis.Redis.from_url(rds.url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.set("k", "before")
        rds.stop()
        assert not rds.running
        with pytest.raises(redis.exceptions.ConnectionError):
            client.ping()
        rds.start()
        assert rds.port == port and rds.url.endswith(f":{port}/0")
        assert client.ping()  # the same client reconnects to the same port
        assert client.get("k") is None  # no persistence: a fresh, empty server
        client.set("k", "after")
        assert client.get("k") == b"after"
        rds.restart()
        assert client.get("k") is None
    finally:
        client.close()


# --------------------------------------------------------------------------- chromium

PAGE = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>测试页</title>
<style>body {{ font: 24px sans-serif; margin: 40px; }}</style></head>
<body>
  <h1 id="title">{CHINESE}</h1>
  <p id="status">尚未提交</p>
  <button id="go" onclick="document.getElementById('status').textContent='已提交审核'">提交</button>
</body></html>
""".encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        if self.path != "/":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def page_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_page_server_serves_chinese(page_url):
    port = int(page_url.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert CHINESE.encode() in data


def test_chromium_clicks_and_screenshots(page_url, tmp_path):
    from playwright.sync_api import sync_playwright

    shot = tmp_path / "page.png"
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 400})
            page.goto(page_url)
            assert page.title() == "测试页"
            assert page.inner_text("#title") == CHINESE
            assert page.inner_text("#status") == "尚未提交"
            page.get_by_role("button", name="提交").click()
            page.wait_for_function(
                "document.getElementById('status').textContent === '已提交审核'", timeout=5000
            )
            assert page.inner_text("#status") == "已提交审核"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    data = Path(shot).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5000, f"screenshot suspiciously small: {len(data)} bytes"
