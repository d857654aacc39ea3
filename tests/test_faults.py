"""Faults against real servers (issue 7): Redis stopped mid-fan-out, a worker killed with SIGKILL
at each step of the WeChat sequence, PostgreSQL restarted under the web app and a worker,
platforms slow / failing / rate-limiting / revoking tokens for a sustained stretch, and the
database refusing a write part-way through an import. Every fan-out ends with exactly one post
per target at the stand-in platforms.

Several processes (workers, the web app) share one PostgreSQL and one Redis, as in production.
"""
import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
import requests
from conftest import PASSWORD, ApiClient, base_config, make_user
from flask_migrate import upgrade
from PIL import Image
from redis import Redis
from services import free_port, start_postgres
from sqlalchemy import func, select, text
from test_fanout import (  # noqa: F401
    WEIBO_TOKEN,
    Standin,
    build_newsroom,
    by_platform,
    page_login,
    png_base64,
    publish,
    standin,
)
from test_fanout_worker import ROOT, Workers, live, settled, wait_for  # noqa: F401
from test_import import csv_bytes, row, upload_api

from adapters.wechat import clear_local_tokens
from govmedia import audit, create_app
from govmedia.extensions import db
from govmedia.models import AuditEntry
from publisher.models import Delivery
from registry.models import Account, AccountEvent, Filing, ImportJob, Unit

# Waits are bounded but generous: a worker process takes seconds to boot on a loaded machine.
SLOW = 60
# The worker sweeps by itself, often, and takes back rows whose job Redis lost after 2 s.
SELF_HEALING = {"PERIODIC_TICK_SECONDS": "0.5", "DELIVERY_SWEEP_SECONDS": "1",
                "DELIVERY_REQUEUE_SECONDS": "2"}


class LoggedWorkers(Workers):
    """Workers whose output goes to files (a pipe nobody reads would block a chatty worker),
    each in a process group of its own with RQ's scheduler process: stop() kills the group."""
    def __init__(self, env, log_dir: Path):
        super().__init__(env)
        self.log_dir = log_dir

    def start(self):
        with open(self.log_dir / f"worker-{len(self.procs)}.log", "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                                    cwd=ROOT, env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self):
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the test is over: no need to be gentle
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text()[-3000:]
                         for p in sorted(self.log_dir.glob("worker-*.log")))


class Platforms(Standin):
    def clear_faults(self):
        """Every fault given to the stand-in ends now."""
        requests.delete(f"{self.url}/_standin/faults", timeout=5).raise_for_status()


@pytest.fixture
def fleet(live, tmp_path, request):  # noqa: F811
    """The `live` newsroom with workers that sweep by themselves and log to files."""
    live.workers = LoggedWorkers(dict(live.workers.env, **SELF_HEALING), tmp_path)
    live.platforms = Platforms(live.platforms.url)
    failed = request.session.testsfailed
    yield live
    live.workers.stop()
    if request.session.testsfailed > failed:
        print(live.workers.logs()[-6000:])


def all_sent(article_ids):
    rows = db.session.execute(select(Delivery.article_id, Delivery.status)
                              .where(Delivery.article_id.in_(article_ids))).all()
    return len(rows) == 2 * len(article_ids) and all(s == "sent" for _a, s in rows)


def one_post_per_target(platforms, titles):
    posts = platforms.posts()
    wechat = sorted(p["title"] for p in posts["wechat"]["items"])
    weibo = [p["text"] for p in posts["weibo"]["items"]]
    assert wechat == sorted(titles), wechat
    assert len(weibo) == len(titles) and len(set(weibo)) == len(titles), weibo
    for title in titles:
        assert sum(title in text for text in weibo) == 1, title


def editor_never_saw_an_internal_error():
    """Every error a delivery showed on the way says what happened, not "internal error"."""
    shown = [(e.after or {}).get("error") or "" for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("delivery.%")))]
    db.session.rollback()
    assert not [text for text in shown if "内部错误" in text], shown


# --- 1. Redis stopped while articles are signed off and while workers run ----------------------

def test_redis_stopped_mid_fan_out_every_delivery_ends_sent_once(fleet, redis_service):
    room = fleet
    # Each WeChat publish is still running for about a second: the fan-out is in flight.
    room.platforms.config(wechat_publish_polls=8)
    for _ in range(2):
        room.workers.start()
    titles = [f"队列中断前签发第{n}篇" for n in range(3)]
    article_ids = [publish(room, title=title)["id"] for title in titles]
    wait_for(lambda: db.session.scalar(select(Delivery.id).where(
        Delivery.status.in_(("sending", "sent"))).limit(1)), SLOW, "fan-out under way")
    redis_service.stop()
    down_at = time.monotonic()
    try:
        sent_at_stop = db.session.scalar(select(func.count()).where(Delivery.status == "sent"))
        db.session.rollback()
        late = room.workers.start()  # as systemd restarts one during the outage
        titles += [f"队列中断时签发第{n}篇" for n in range(2)]
        article_ids += [publish(room, title=title)["id"] for title in titles[3:]]
        # Redis stays down at least 3 s, and until the late worker has met the outage.
        late_log = room.workers.log_dir / f"worker-{len(room.workers.procs) - 1}.log"
        deadline = time.monotonic() + SLOW
        while "Redis unreachable" not in late_log.read_text() or (
                time.monotonic() - down_at < 3.0):
            assert time.monotonic() < deadline and late.poll() is None, late_log.read_text()
            time.sleep(0.1)
    finally:
        redis_service.start()
    up_at = time.monotonic()
    assert sent_at_stop < 6  # Redis went away in the middle of the fan-out
    wait_for(lambda: all_sent(article_ids), SLOW, "every delivery sent")
    print(f"\nredis outage {up_at - down_at:.1f}s ({sent_at_stop} of 6 deliveries sent when "
          f"it stopped, 4 more signed off during it); all 10 sent "
          f"{time.monotonic() - up_at:.1f}s after Redis came back")
    exits = [proc.poll() for proc in room.workers.procs]
    assert exits == [None] * len(exits), f"a worker died {exits}:\n{room.workers.logs()}"
    one_post_per_target(room.platforms, titles)
    editor_never_saw_an_internal_error()


# --- 2. a worker killed with SIGKILL inside each step of the WeChat sequence -------------------

@pytest.fixture(scope="session")
def image_server():
    """A body image on loopback, for the adapter's uploadimg step (it downloads http(s) srcs)."""
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 40, 40)).save(buffer, format="PNG")
    png = buffer.getvalue()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/photo.png"
    server.shutdown()


WECHAT_PATHS = {"cover": "/cgi-bin/material/add_material", "image": "/cgi-bin/media/uploadimg",
                "draft": "/cgi-bin/draft/add", "submit": "/cgi-bin/freepublish/submit",
                "poll": "/cgi-bin/freepublish/get"}
# step: (its path, the id saved when it completes, the calls per path once the article is out).
# A step whose answer was lost is done again only where that is harmless (an upload, a draft);
# the submit is never repeated: the recovered job finds the article the platform published.
KILL_STEPS = {
    "add_material": ("cover", "cover_media_id", {"cover": 2, "image": 1, "draft": 1, "submit": 1}),
    "uploadimg": ("image", "images", {"cover": 1, "image": 2, "draft": 1, "submit": 1}),
    "draft_add": ("draft", "draft_media_id", {"cover": 1, "image": 1, "draft": 2, "submit": 1}),
    "freepublish_submit": ("submit", "publish_id",
                           {"cover": 1, "image": 1, "draft": 1, "submit": 1}),
    "freepublish_get": ("poll", "article_id", {"cover": 1, "image": 1, "draft": 1, "submit": 1}),
}


def publish_with_image(room, title, image_url):
    """publish() for an article whose body shows an image from a host outside the allow-list:
    the drafter confirms that warning when submitting."""
    created = room.editor.post("/api/v1/articles", {
        "title": title, "body_html": f'<p>现场图片：</p><p><img src="{image_url}" alt="现场"></p>',
        "source_url": "https://www.example.gov.cn/news/" + str(abs(hash(title)) % 10**8),
        "cover_image_base64": png_base64(),
        "target_account_ids": [room.wechat_id, room.weibo_id]})
    assert created.status_code == 201, created.get_json()
    article_id = created.get_json()["id"]
    submitted = room.editor.post(f"/api/v1/articles/{article_id}/submit",
                                 {"confirmations": ["external_link"]})
    assert submitted.status_code == 200, submitted.get_json()
    for who, comment in ((room.reviewer, ""), (room.signer, "同意")):
        answer = who.post(f"/api/v1/articles/{article_id}/review",
                          {"decision": "approve", "comment": comment})
        assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


@pytest.mark.parametrize("step", list(KILL_STEPS))
def test_a_worker_killed_inside_each_wechat_step_leaves_one_post(fleet, image_server, step):
    room = fleet
    path_key, saved_id, expected_calls = KILL_STEPS[step]
    path = WECHAT_PATHS[path_key]
    # The platform does the work, then answers late (within ADAPTER_TIMEOUT): the worker is
    # waiting inside this step when it is killed, and the step's id never reaches the row.
    room.workers.env["ADAPTER_TIMEOUT"] = "2.5"  # the lease: 3.5 s
    room.platforms.fault(path=path, after_commit_delay=2.0, times=1)
    worker = room.workers.start()
    title = f"处理进程在{step}时被强制结束"
    body = publish_with_image(room, title, image_server)
    wechat_id = by_platform(body)["wechat"]["id"]
    wait_for(lambda: room.platforms.calls(path) >= 1, SLOW, f"{step} under way")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=5)
    killed_at = time.monotonic()
    db.session.expire_all()
    row = db.session.get(Delivery, wechat_id)
    assert row.status == "sending" and saved_id not in (row.platform_ids or {}), row.platform_ids
    before_kill = dict(row.platform_ids or {})
    db.session.rollback()
    # A new worker; nobody sweeps by hand: its own sweep takes the row once the lease lapses.
    room.workers.start()
    wait_for(lambda: settled(body["id"], "sent", "sent"), SLOW, "recovered")
    print(f"\nkilled in {step}: sent {time.monotonic() - killed_at:.1f}s after the kill")
    calls = {key: room.platforms.calls(p) for key, p in WECHAT_PATHS.items() if key != "poll"}
    assert calls == expected_calls
    row = db.session.get(Delivery, wechat_id)
    assert row.attempts == 2
    # What the killed job had saved was resumed, not redone.
    for key, value in before_kill.items():
        assert row.platform_ids[key] == value, key
    posts = room.platforms.posts()
    assert [p["title"] for p in posts["wechat"]["items"]] == [title]
    assert posts["weibo"]["count"] == 1


# --- 3. platforms slow, failing, rate-limiting or revoking tokens for a sustained stretch ------

BACKOFF = [0.3, 0.6, 1.0]  # DELIVERY_BACKOFF_SECONDS: seconds, not the production minutes
HINT_CAP = 1.5  # DELIVERY_RETRY_AFTER_MAX_SECONDS: a platform's 3600 s hint, cut for the test
TIMEOUT = 1.2  # ADAPTER_TIMEOUT: a slow platform answers after 1.7 s
SUSTAINED = {"DELIVERY_BACKOFF_SECONDS": ",".join(map(str, BACKOFF)),
             "DELIVERY_RETRY_AFTER_MAX_SECONDS": str(HINT_CAP), "DELIVERY_MAX_ATTEMPTS": "10",
             "ADAPTER_TIMEOUT": str(TIMEOUT)}


def retry_delays(delivery_id):
    """(delay the job chose, seconds it waited, error shown) for each retry, from the audit."""
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("delivery.%"), AuditEntry.object_type == "article")
        .order_by(AuditEntry.id)).all()
    mine = [e for e in entries if (e.after or {}).get("delivery_id") == delivery_id]
    out = []
    for entry, following in zip(mine, mine[1:] + [None]):
        if entry.action not in ("delivery.retrying", "delivery.unconfirmed"):
            continue
        due = datetime.fromisoformat(entry.after["next_attempt_at"])
        waited = (following.at - entry.at).total_seconds() if following else None
        out.append(((due - entry.at).total_seconds(), waited, entry.after["error"]))
    return out


def chinese(text):
    return text is not None and sum("\u4e00" <= ch <= "\u9fff" for ch in text) >= 4


# scenario: the faults on each platform, in order (the last one lasts until it is cleared); the
# words the editor reads in the delivery's error meanwhile; the delay before each retry (the last
# repeats); how many Weibo shares there may be (None: one per attempt, each refused).
PLATFORM_FAULTS = {
    "failing": {
        "wechat": [{"path": "/cgi-bin/draft/add", "http_status": 502},
                   {"path": "/cgi-bin/draft/add", "errcode": 45009},  # daily quota: hint 3600 s
                   {"path": "/cgi-bin/draft/add", "errcode": -1}],
        "weibo": [{"path": "/2/statuses/share.json", "http_status": 503},
                  {"path": "/2/statuses/share.json", "error_code": 10023},
                  {"path": "/2/statuses/share.json", "error_code": 10024}],
        "words": {"wechat": "繁忙", "weibo": "频次超过上限"},
        "delays": {"wechat": [BACKOFF[0], HINT_CAP, BACKOFF[2]],
                   "weibo": [BACKOFF[0], HINT_CAP, HINT_CAP]},
        "shares": None},
    # Slower than ADAPTER_TIMEOUT. Weibo takes the post late, then its timeline is slow too:
    # the delivery stays unconfirmed (asked again, never sent again) until it answers.
    "slow": {
        "wechat": [{"path": "/cgi-bin/draft/add", "delay": TIMEOUT + 0.5}],
        "weibo": [{"path": "/2/statuses/*", "delay": TIMEOUT + 0.5}],
        "words": {"wechat": "未在时限内应答", "weibo": "未在时限内应答"},
        # unconfirmed: asked again no sooner than the adapter's timeout
        "delays": {"wechat": BACKOFF, "weibo": [max(b, TIMEOUT) for b in BACKOFF]},
        "shares": 1},
}


@pytest.mark.parametrize("scenario", list(PLATFORM_FAULTS))
def test_platform_faults_back_off_show_why_and_send_once_when_cleared(fleet, app, scenario):
    room = fleet
    room.workers.env.update(SUSTAINED)
    faults = PLATFORM_FAULTS[scenario]
    for platform in ("wechat", "weibo"):
        *first, last = faults[platform]
        for fault in first:
            room.platforms.fault(**fault, times=1)
        room.platforms.fault(**last, times=1000)
    for _ in range(2):  # both deliveries at once
        room.workers.start()
    title = f"平台故障持续：{scenario}"
    body = publish(room, title=title)
    ids = {p: d["id"] for p, d in by_platform(body).items()}
    started = time.monotonic()

    def several_attempts():
        rows = [db.session.get(Delivery, i) for i in ids.values()]
        return all(r.attempts >= 3 and r.status in ("retrying", "unconfirmed") for r in rows)

    wait_for(several_attempts, SLOW, "three failed attempts each")
    # The editor sees why, in plain Chinese, in the API and on the article page.
    shown = by_platform(room.editor.get(f"/api/v1/articles/{body['id']}").get_json())
    page = page_login(app, "editor").get(f"/articles/{body['id']}").get_data(as_text=True)
    for platform, words in faults["words"].items():
        error = shown[platform]["error"]
        assert chinese(error) and words in error, (platform, error)
        assert error in page
    assert room.platforms.posts()["wechat"]["count"] == 0
    room.platforms.clear_faults()
    cleared = time.monotonic()
    wait_for(lambda: settled(body["id"], "sent", "sent"), SLOW, "sent once cleared")
    print(f"\n{scenario}: {time.monotonic() - cleared:.1f}s from the fault clearing to sent "
          f"({cleared - started:.1f}s of fault)")
    for platform, delivery_id in ids.items():
        delays, expected = retry_delays(delivery_id), faults["delays"][platform]
        assert len(delays) >= 2, delays
        for n, (chosen, waited, _error) in enumerate(delays):
            # The delay the job chose follows the schedule (measured from the audit entry,
            # written a moment after the choice: up to half a second on a busy machine); the
            # next attempt waited for it.
            wanted = expected[min(n, len(expected) - 1)]
            assert wanted - 0.6 <= chosen <= wanted + 0.05, (platform, n, delays)
            assert waited is None or waited >= chosen, (platform, n, delays)
    # One platform call per attempt, never a burst; one publish; a share only where refused.
    attempts = {p: db.session.get(Delivery, i).attempts for p, i in ids.items()}
    assert room.platforms.calls("/cgi-bin/draft/add") == attempts["wechat"]
    assert room.platforms.calls("/cgi-bin/freepublish/submit") == 1
    assert room.platforms.calls("/2/statuses/share.json") == (faults["shares"]
                                                               or attempts["weibo"])
    print(f"  attempts {attempts}, delays chosen "
          f"{ {p: [round(d[0], 2) for d in retry_delays(i)] for p, i in ids.items()} }")
    posts = room.platforms.posts()
    assert [p["title"] for p in posts["wechat"]["items"]] == [title]
    assert posts["weibo"]["count"] == 1


def test_revoked_tokens_fail_with_the_reason_then_send_once_after_reauthorizing(fleet, app):
    room = fleet
    room.workers.env.update(SUSTAINED)
    # Every WeChat token is refused (revoked as soon as issued); the Weibo token is revoked.
    room.platforms.fault(path="/cgi-bin/draft/add", errcode=40001, times=1000)
    room.platforms.token(WEIBO_TOKEN, state="revoked", uid=7000000001)
    room.workers.start()
    body = publish(room, title="令牌持续失效")
    ids = {p: d["id"] for p, d in by_platform(body).items()}
    for attempt in (1, 2):  # the editor retries while it lasts: refused again, nothing posted
        wait_for(lambda: settled(body["id"], "failed", "failed"), SLOW, f"refused {attempt}")
        shown = by_platform(room.editor.get(f"/api/v1/articles/{body['id']}").get_json())
        assert "访问令牌被拒绝" in shown["wechat"]["error"]
        assert "重新授权" in shown["weibo"]["error"]
        if attempt == 1:
            for delivery_id in ids.values():
                answer = room.editor.post(f"/api/v1/deliveries/{delivery_id}/retry")
                assert answer.status_code == 202, answer.get_json()
    page = page_login(app, "editor").get(f"/articles/{body['id']}").get_data(as_text=True)
    assert shown["wechat"]["error"] in page and shown["weibo"]["error"] in page
    # One refresh per refused call, never a loop: each of the two attempts sent draft/add twice
    # (before and after the refresh) and asked for a token twice (then forced a new one).
    fetched = requests.get(f"{room.platforms.url}/_standin/calls", timeout=5).json()
    assert fetched["calls"]["/cgi-bin/draft/add"] == 2 * 2
    assert len(fetched["token_requests"]) == 1 + 2 * 2, fetched["token_requests"]
    assert room.platforms.posts()["wechat"]["count"] == 0
    # The fault clears: WeChat takes tokens again; the sponsor authorizes Weibo again.
    room.platforms.clear_faults()
    room.platforms.token(WEIBO_TOKEN, state="valid", uid=7000000001)
    assert room.sponsor.put(f"/api/v1/accounts/{room.weibo_id}/credentials",
                            {"access_token": WEIBO_TOKEN}).status_code == 204
    for delivery_id in ids.values():
        assert room.editor.post(f"/api/v1/deliveries/{delivery_id}/retry").status_code == 202
    wait_for(lambda: settled(body["id"], "sent", "sent"), SLOW, "sent after the fault")
    posts = room.platforms.posts()
    assert posts["wechat"]["count"] == 1 and posts["weibo"]["count"] == 1
    # The cover uploaded by the first attempt was resumed by every later one.
    assert room.platforms.calls("/cgi-bin/material/add_material") == 1


# --- 4. PostgreSQL restarted under the web app (gunicorn) and a worker ------------------------

class HttpApi:
    """The ApiClient calls over HTTP to a real server: publish() works through it unchanged."""

    def __init__(self, base_url, token=None):
        self.base_url, self.session = base_url, requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _wrap(self, response):
        response.get_json = response.json
        return response

    def get(self, path):
        return self._wrap(self.session.get(self.base_url + path, timeout=10))

    def post(self, path, json=None):
        return self._wrap(self.session.post(self.base_url + path, json=json or {}, timeout=10))

    def login_page(self, username):
        """A browser session: the login form with its CSRF token."""
        form = self.session.get(self.base_url + "/login", timeout=10).text
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        answer = self.session.post(self.base_url + "/login", timeout=10, allow_redirects=False,
                                   data={"username": username, "password": PASSWORD,
                                         "csrf_token": csrf})
        assert answer.status_code == 302, answer.text[:300]


@pytest.fixture
def own_postgres(tmp_path_factory):
    """A PostgreSQL of this test's own, to stop and start (the session's is shared)."""
    service = start_postgres(tmp_path_factory.mktemp("restarted-postgres"))
    app = create_app(base_config(service.url))
    with app.app_context():
        upgrade(revision="heads")
        yield service, app
        db.session.remove()
        db.engine.dispose()
    service.stop()


def test_postgresql_restart_503_then_recovery_without_help(own_postgres, redis_service,
                                                           standin, tmp_path):  # noqa: F811


    pg, app = own_postgres
    Redis.from_url(redis_service.url).flushdb()
    platforms = Platforms(standin)
    requests.post(f"{standin}/_standin/reset", timeout=5).raise_for_status()
    clear_local_tokens()
    client = app.test_client()

    def login(username):
        answer = client.post("/api/v1/auth/tokens", json={"username": username,
                                                          "password": PASSWORD})
        assert answer.status_code == 201, answer.get_json()
        return ApiClient(client, answer.get_json()["token"])

    make_user("admin", ["admin"])
    admin = login("admin")

    class World:  # what build_newsroom needs of the `world` fixture
        unit_a = admin.post("/api/v1/units", {"name": "某县人民政府办公室"}).get_json()
        supervisor = None

    make_user("sponsor_a", ["sponsor"], World.unit_a["id"])
    World.sponsor_a = login("sponsor_a")
    room = build_newsroom(World, login, app.config, standin)
    env = dict(os.environ, DATABASE_URL=pg.url, REDIS_URL=redis_service.url,
               SECRET_KEY="test-secret", WECHAT_API_BASE_URL=standin, WEIBO_API_BASE_URL=standin,
               ADAPTER_TIMEOUT="1.5", WECHAT_POLL_INTERVAL="0.1", WECHAT_POLL_ATTEMPTS="40",
               DELIVERY_BACKOFF_SECONDS="1", DELIVERY_LEASE_SECONDS="3",
               PASSWORD_HASH_METHOD="pbkdf2:sha256:1000", **SELF_HEALING)
    port = free_port()
    web_log = open(tmp_path / "gunicorn.log", "w")
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--preload",
                            "--bind", f"127.0.0.1:{port}", "--timeout", "30",
                            "--no-control-socket", "wsgi:app"],
                           cwd=ROOT, env=env, stdout=web_log, stderr=subprocess.STDOUT)
    workers = LoggedWorkers(env, tmp_path)
    try:
        workers.start()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SLOW
        while True:
            try:
                if requests.get(base + "/login", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or its workers still boot
                pass
            assert time.monotonic() < deadline and web.poll() is None, "gunicorn did not start"
            time.sleep(0.1)
        # Everything below goes through gunicorn: the same tokens, a browser session.
        for name in ("editor", "reviewer", "signer"):
            setattr(room, name, HttpApi(base, getattr(room, name).token))
        browser = HttpApi(base)
        browser.login_page("editor")
        # WeChat publishing takes about a second: its delivery is in flight at the outage.
        platforms.config(wechat_publish_polls=10)
        before = publish(room, title="数据库重启前签发")
        wait_for(lambda: db.session.scalar(select(Delivery.id).where(
            Delivery.status == "sending").limit(1)), SLOW, "a delivery in flight")
        in_flight = sorted(db.session.scalars(select(Delivery.status)))
        db.session.rollback()
        pg.stop(keep_data=True)
        down_at = time.monotonic()
        try:
            answers = [room.editor.get(f"/api/v1/articles/{before['id']}"),
                       room.editor.post("/api/v1/articles", {"title": "停机时提交"}),
                       browser.get(f"/articles/{before['id']}"), browser.get("/accounts")]
            slowest = time.monotonic() - down_at
            for answer in answers[:2]:
                assert answer.status_code == 503, answer.text[:300]
                assert answer.json()["error"]["code"] == "unavailable"
            for page in answers[2:]:
                assert page.status_code == 503 and "数据库暂不可用" in page.text
                assert "Traceback" not in page.text and "sqlalchemy" not in page.text.lower()
            time.sleep(max(0.0, 3.0 - (time.monotonic() - down_at)))
        finally:
            pg.start()
        up_at = time.monotonic()
        while room.editor.get(f"/api/v1/articles/{before['id']}").status_code != 200:
            assert time.monotonic() - up_at < 10, "requests still failing after the restart"
            time.sleep(0.05)
        first_ok = time.monotonic() - up_at
        assert browser.get(f"/articles/{before['id']}").status_code == 200  # session kept
        after = publish(room, title="数据库重启后签发")
        wait_for(lambda: all_sent([before["id"], after["id"]]), SLOW,
                 "the worker finishes by itself")
        print(f"\npostgres outage {up_at - down_at:.1f}s with deliveries {in_flight}; 4 requests "
              f"answered 503 within {slowest:.2f}s; first 200 {first_ok:.2f}s after the restart; "
              f"all sent {time.monotonic() - up_at:.1f}s after it")
        assert web.poll() is None and workers.procs[0].poll() is None
        one_post_per_target(platforms, ["数据库重启前签发", "数据库重启后签发"])
    finally:
        workers.stop()
        web.terminate()
        web.wait(timeout=10)
        web_log.close()


# --- 5. the database refuses a write part-way through an import -------------------------------

REFUSE_AT = 3  # the third account of the file


@pytest.fixture
def accounts_refused_at_row(app):
    """A trigger in the database itself refuses the Nth account an import inserts, as a full
    disk would (the counter is rolled back with the import, so every import meets it)."""
    statements = [
        "CREATE TABLE fault_account_inserts (n integer NOT NULL)",
        "INSERT INTO fault_account_inserts VALUES (0)",
        f"""CREATE FUNCTION fault_refuse_account() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              UPDATE fault_account_inserts SET n = n + 1;
              IF (SELECT n FROM fault_account_inserts) >= {REFUSE_AT} THEN
                RAISE EXCEPTION 'could not extend file: No space left on device'
                  USING ERRCODE = 'disk_full';
              END IF;
              RETURN NEW;
            END $$""",
        "CREATE TRIGGER fault_refuse_account BEFORE INSERT ON accounts FOR EACH ROW "
        "EXECUTE FUNCTION fault_refuse_account()"]
    cleanup = ["DROP TRIGGER IF EXISTS fault_refuse_account ON accounts",
               "DROP FUNCTION IF EXISTS fault_refuse_account()",
               "DROP TABLE IF EXISTS fault_account_inserts"]
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()
    yield
    db.session.rollback()
    for statement in cleanup:
        db.session.execute(text(statement))
    db.session.commit()


def registry_counts() -> dict:
    counted = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
               for model in (Account, AccountEvent, Filing, AuditEntry, Unit)}
    db.session.rollback()
    return counted


def test_a_write_refused_mid_import_leaves_nothing_half_written(app, world, request,
                                                                accounts_refused_at_row):
    # Five accounts of two new units: the units and the first two accounts are inserted before
    # the database refuses the third.
    rows = [row(unit=f"某县新设{kind}局", platform=platform, handle=f"{kind}-{platform}-{n}")
            for n, (kind, platform) in enumerate([("甲", "微信公众号"), ("甲", "微博"),
                                                  ("乙", "抖音"), ("乙", "微博"),
                                                  ("乙", "其他")])]
    request.getfixturevalue("fleet").workers.start()  # boots while the first run goes
    before = registry_counts()

    def import_job():
        answer = upload_api(world.admin, csv_bytes(rows), create_units="true")
        assert answer.status_code == 202, answer.get_json()
        status_url = answer.get_json()["status_url"]
        return wait_for(lambda: (lambda j: j if j["status"] in ("done", "failed") else None)(
            world.admin.get(status_url).get_json()), SLOW, "the import finished")

    # First the job run by the test client's burst worker right after the request, then the
    # job left to a real worker process.
    for queued in (False, True):
        app.config["TEST_RUN_JOBS"] = not queued
        job = import_job()
        assert job["status"] == "failed" and job["created_count"] == 0, job
        message = job["errors"][0]["message"]
        assert "未导入任何数据" in message and job["errors"][0]["row"] is None, message
        assert "No space left" in message, message
        assert "[SQL" not in message and "13800000000" not in message, message  # no statement
        assert registry_counts() == before, queued
        assert db.session.get(ImportJob, job["id"]).content is None
    assert audit.verify().ok
    # Once the database takes writes again the same file imports whole: nothing was left over.
    db.session.execute(text("DROP TRIGGER fault_refuse_account ON accounts"))
    db.session.commit()
    job = import_job()
    assert job["status"] == "done" and job["created_count"] == len(rows), job
    after = registry_counts()
    assert after["accounts"] == before["accounts"] + len(rows)
    assert after["units"] == before["units"] + 2
