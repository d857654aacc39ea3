"""Fan-out through a real redis-server and real `flask --app wsgi worker` processes: success, the
error classes, a worker killed with SIGKILL mid-delivery, Redis down at sign-off. Each ends
with exactly one post per target at the stand-in platforms."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, update
from test_fanout import Standin, article, build_newsroom, by_platform, publish, standin  # noqa: F401

from adapters.wechat import clear_local_tokens
from govmedia.extensions import db
from govmedia.types import utcnow
from publisher.fanout.sweep import sweep
from publisher.models import Delivery
from registry.models import AccountCredential

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.redis


class Workers:
    def __init__(self, env):
        self.env, self.procs = env, []

    def start(self):
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                                cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        return proc

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def live(app, world, login, database_url, redis_service, standin):  # noqa: F811
    from redis import Redis

    Redis.from_url(redis_service.url).flushdb()
    requests.post(f"{standin}/_standin/reset", timeout=5).raise_for_status()
    clear_local_tokens()
    room = build_newsroom(world, login, app.config, standin)
    room.platforms = Standin(standin)
    app.config["TEST_RUN_JOBS"] = False  # the worker processes run the jobs, not the client
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_service.url,
               SECRET_KEY="test-secret", WECHAT_API_BASE_URL=standin,
               WEIBO_API_BASE_URL=standin, ADAPTER_TIMEOUT="1.5", WECHAT_POLL_INTERVAL="0.1",
               WECHAT_POLL_ATTEMPTS="40", DELIVERY_BACKOFF_SECONDS="1",
               DELIVERY_MAX_ATTEMPTS="3", DELIVERY_LEASE_SECONDS="3",
               PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
    room.workers = Workers(env)
    yield room
    room.workers.stop()


def wait_for(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        value = predicate()
        db.session.rollback()
        if value:
            return value
        time.sleep(0.1)
    rows = db.session.execute(select(Delivery.id, Delivery.status, Delivery.attempts,
                                     Delivery.last_error, Delivery.next_attempt_at)).all()
    raise AssertionError(f"timed out waiting for {what}: {rows}")


def statuses(article_id):
    return sorted(db.session.scalars(select(Delivery.status)
                                     .where(Delivery.article_id == article_id)))


def settled(article_id, *wanted):
    return statuses(article_id) == sorted(wanted)


def test_worker_sends_and_handles_each_error_class(live):
    live.workers.start()
    # success
    ok = publish(live, title="成功发布")
    wait_for(lambda: settled(ok["id"], "sent", "sent"), what="success")
    # retryable (WeChat -1 busy; Weibo HTTP 503): retried through RQ's scheduler, resumed
    live.platforms.fault(path="/cgi-bin/draft/add", errcode=-1, times=1)
    live.platforms.fault(path="/2/statuses/share.json", http_status=503, times=1)
    busy = publish(live, title="平台繁忙后重试")
    wait_for(lambda: settled(busy["id"], "sent", "sent"), what="retried")
    rows = by_platform(article(live, busy["id"]))
    assert rows["wechat"]["attempts"] == 2 and rows["weibo"]["attempts"] == 2
    # unconfirmed (answer lost after Weibo took it): asked, found, not sent again
    shares = live.platforms.calls("/2/statuses/share.json")
    live.platforms.fault(path="/2/statuses/share.json", after_commit_delay=2.0, times=1)
    lost = publish(live, title="应答丢失", targets=[live.weibo_id])
    wait_for(lambda: settled(lost["id"], "sent"), what="unconfirmed then found")
    assert live.platforms.calls("/2/statuses/share.json") == shares + 1
    # permanent (WeChat 45002) and Weibo token (21332): failed with the reason in Chinese
    live.platforms.fault(path="/cgi-bin/draft/add", errcode=45002, times=1)
    live.platforms.token("2.00standin_weibo_token", state="revoked", uid=7000000001)
    refused = publish(live, title="被平台拒绝")
    wait_for(lambda: settled(refused["id"], "failed", "failed"), what="failures")
    rows = by_platform(article(live, refused["id"]))
    assert "内容过长" in rows["wechat"]["error"] and "重新授权" in rows["weibo"]["error"]
    assert db.session.get(AccountCredential, live.weibo_id).token_expired is True
    assert article(live, refused["id"])["status"] == "failed"
    # WeChat token revoked: one refresh inside the adapter, then sent
    live.platforms.fault(revoke_tokens=True)
    renewed = publish(live, title="令牌更新后发布", targets=[live.wechat_id])
    wait_for(lambda: settled(renewed["id"], "sent"), what="token refresh")
    posts = live.platforms.posts()
    titles = sorted(p["title"] for p in posts["wechat"]["items"])
    assert titles == sorted(["成功发布", "平台繁忙后重试", "令牌更新后发布"])
    assert posts["weibo"]["count"] == 3  # success, retried, unconfirmed: once each


def test_a_worker_killed_mid_delivery_is_recovered_by_the_sweep(live):
    # freepublish/submit answers after 1 s (within the 1.5 s timeout): kill the worker while
    # it waits. The stand-in still publishes, so the recovered job must find it, not resend.
    live.platforms.fault(path="/cgi-bin/freepublish/submit", delay=1.0, times=1)
    worker = live.workers.start()
    body = publish(live, title="处理进程被强制结束")
    wechat_id = by_platform(body)["wechat"]["id"]
    wait_for(lambda: live.platforms.calls("/cgi-bin/freepublish/submit") >= 1,
             what="submit sent")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=5)
    assert db.session.get(Delivery, wechat_id).status == "sending"
    live.workers.start()
    # The lease (max(3, timeout + 1) s) runs out; then a sweep hands the row to a new job.
    wait_for(lambda: db.session.get(Delivery, wechat_id).lease_until < utcnow(), what="lease")
    assert wechat_id in sweep()["deliver"]
    wait_for(lambda: settled(body["id"], "sent", "sent"), what="recovered")
    posts = live.platforms.posts()
    assert posts["wechat"]["count"] == 1 and posts["weibo"]["count"] == 1
    assert live.platforms.calls("/cgi-bin/freepublish/submit") == 1
    assert db.session.get(Delivery, wechat_id).attempts == 2


def test_redis_down_at_sign_off_loses_nothing(live, redis_service):
    redis_service.stop()
    try:
        body = publish(live, title="签发时队列不可用")  # the sign-off commits and answers 200
        assert statuses(body["id"]) == ["queued", "queued"]
        assert db.session.scalars(select(Delivery.enqueued_at)).all() == [None, None]
    finally:
        redis_service.start()
    live.workers.start()
    assert len(sweep()["deliver"]) == 2
    wait_for(lambda: settled(body["id"], "sent", "sent"), what="sent after Redis came back")
    # A second sweep finds nothing to do; nothing was sent twice.
    assert sweep()["enqueued"] == 0
    posts = live.platforms.posts()
    assert posts["wechat"]["count"] == 1 and posts["weibo"]["count"] == 1


def test_withdrawal_through_the_worker(live):
    live.workers.start()
    body = publish(live, title="将被撤回")
    wait_for(lambda: settled(body["id"], "sent", "sent"), what="sent")
    answer = live.editor.post(f"/api/v1/articles/{body['id']}/withdraw", {"reason": "撤稿"})
    assert answer.status_code == 202
    wait_for(lambda: settled(body["id"], "withdrawn", "withdrawn"), what="withdrawn")
    posts = live.platforms.posts()
    assert posts["wechat"]["live"] == 0 and posts["weibo"]["live"] == 0
    db.session.execute(update(Delivery).values(lease_until=None))
    db.session.commit()
