"""A crash costs seconds (issue 13), against real `flask --app wsgi worker` processes, a real
redis-server and PostgreSQL, with the production lease, sweep and tick:

- a worker SIGKILLed inside a WeChat call: its delivery is taken over and sent within 60 s,
  exactly once at the stand-in;
- a worker whose PostgreSQL is stopped while jobs wait: it waits for the database instead of
  failing the queue, and every delivery is sent within 60 s of the database's return.
"""
import os
import signal
import time

import pytest
import requests
from conftest import PASSWORD, ApiClient, make_user
from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import select
from test_faults import LoggedWorkers, Platforms, all_sent, one_post_per_target, own_postgres  # noqa: F401
from test_fanout import build_newsroom, by_platform, publish, standin  # noqa: F401
from test_fanout_worker import live, settled, wait_for  # noqa: F401

from adapters.wechat import clear_local_tokens
from govmedia.extensions import db
from govmedia.queue import QUEUES
from govmedia.types import utcnow
from publisher.models import Delivery

pytestmark = pytest.mark.redis
TARGET = 60.0  # seconds: the bar for a takeover and for resuming after an outage
# The production defaults of the lease, the sweep and the tick (govmedia/settings.py); a
# short adapter timeout only so that the stand-in's delay stays under it.
PRODUCTION_TIMING = ("DELIVERY_LEASE_SECONDS", "DELIVERY_SWEEP_SECONDS", "PERIODIC_TICK_SECONDS",
                     "DELIVERY_REQUEUE_SECONDS")


def production_timing(env: dict) -> dict:
    return {k: v for k, v in env.items() if k not in PRODUCTION_TIMING}


def test_a_killed_workers_delivery_is_taken_over_within_a_minute_and_sent_once(live, tmp_path):
    room = live
    room.workers = LoggedWorkers(production_timing(room.workers.env), tmp_path)
    platforms = Platforms(room.platforms.url)
    # The submit answers after 1 s (ADAPTER_TIMEOUT 1.5): the worker is killed while waiting.
    platforms.fault(path="/cgi-bin/freepublish/submit", after_commit_delay=1.0, times=1)
    try:
        first = room.workers.start()
        body = publish(room, title="处理进程在发布时被强制结束")
        wechat_id = by_platform(body)["wechat"]["id"]
        wait_for(lambda: platforms.calls("/cgi-bin/freepublish/submit") >= 1, 60, "submit")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=5)
        killed_at = time.monotonic()
        held = db.session.get(Delivery, wechat_id)
        assert held.status == "sending" and held.claim_token is not None
        # Its lease is the heartbeat's (30 s by default), not the old 330 s.
        lease_left = (held.lease_until - utcnow()).total_seconds()
        db.session.rollback()
        assert lease_left <= 30
        room.workers.start()  # nobody sweeps by hand: the new worker's own sweep does
        wait_for(lambda: settled(body["id"], "sent", "sent"), TARGET, "taken over")
        took = time.monotonic() - killed_at
        print(f"\nkilled mid-submit: sent {took:.1f}s after the kill (lease {lease_left:.0f}s)")
        assert took < TARGET
        row = db.session.get(Delivery, wechat_id)
        assert row.attempts == 2
        assert platforms.calls("/cgi-bin/freepublish/submit") == 1  # never twice
        one_post_per_target(platforms, ["处理进程在发布时被强制结束"])
    finally:
        room.workers.stop()


def _newsroom_on(app, standin_url):  # noqa: F811
    """Unit, sponsor and staff on the test's own database (as test_faults does)."""
    client = app.test_client()

    def login(username):
        answer = client.post("/api/v1/auth/tokens", json={"username": username,
                                                          "password": PASSWORD})
        assert answer.status_code == 201, answer.get_json()
        return ApiClient(client, answer.get_json()["token"])

    make_user("admin", ["admin"])
    admin = login("admin")

    class World:
        unit_a = admin.post("/api/v1/units", {"name": "某县人民政府办公室"}).get_json()
        supervisor = None

    make_user("sponsor_a", ["sponsor"], World.unit_a["id"])
    World.sponsor_a = login("sponsor_a")
    return build_newsroom(World, login, app.config, standin_url)


def test_a_worker_waits_out_a_postgresql_outage_and_resumes_within_a_minute(
        database_url, own_postgres, redis_service, standin, tmp_path):  # noqa: F811
    pg, app = own_postgres
    redis = Redis.from_url(redis_service.url)
    redis.flushdb()
    requests.post(f"{standin}/_standin/reset", timeout=5).raise_for_status()
    clear_local_tokens()
    platforms = Platforms(standin)
    app.config["TEST_RUN_JOBS"] = False  # the worker process runs the jobs
    room = _newsroom_on(app, standin)
    titles = [f"数据库停机前签发第{n}篇" for n in range(4)]
    article_ids = [publish(room, title=title)["id"] for title in titles]
    waiting = Queue("deliveries", connection=redis).count
    assert waiting == 2 * len(titles)
    env = dict(os.environ, DATABASE_URL=pg.url, REDIS_URL=redis_service.url,
               SECRET_KEY="test-secret", WECHAT_API_BASE_URL=standin, WEIBO_API_BASE_URL=standin,
               ADAPTER_TIMEOUT="1.5", WECHAT_POLL_INTERVAL="0.3",
               PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
    workers = LoggedWorkers(env, tmp_path)
    db.session.remove()
    db.engine.dispose()
    try:
        _outage_then_return(pg, workers, redis, platforms, article_ids, titles, waiting)
    finally:
        workers.stop()  # whatever failed, no worker outlives the test
    assert db.session.scalar(select(db.func.count()).select_from(Delivery)) == 2 * len(titles)


def _outage_then_return(pg, workers, redis, platforms, article_ids, titles, waiting):
    pg.stop(keep_data=True)
    down_at = time.monotonic()
    try:
        workers.start()  # finds PostgreSQL down
        rq_queues = [Queue(name, connection=redis) for name in QUEUES]
        deadline = time.monotonic() + 60
        while "the database is unreachable" not in workers.logs():  # a job met the outage
            assert time.monotonic() < deadline, workers.logs()
            time.sleep(0.2)
        time.sleep(5)  # the queue behind that job must not fail meanwhile
        down_for = time.monotonic() - down_at
        # Waiting, not failing: no failed job in any queue, the deliveries still queued.
        assert sum(FailedJobRegistry(queue=q).count for q in rq_queues) == 0, workers.logs()
        assert Queue("deliveries", connection=redis).count >= waiting - 1
        assert workers.procs[0].poll() is None
        assert platforms.posts()["wechat"]["count"] == 0
    finally:
        pg.start()
    up_at = time.monotonic()
    try:
        wait_for(lambda: all_sent(article_ids), TARGET, "sent after the database returned")
        took = time.monotonic() - up_at
        print(f"\npostgres down {down_for:.0f}s with {waiting} jobs queued: all sent {took:.1f}s "
              "after it returned; 0 failed jobs")
        assert took < TARGET
        failed_jobs = [q.fetch_job(i).func_name for q in rq_queues
                       for i in FailedJobRegistry(queue=q).get_job_ids()]
        assert failed_jobs == [], failed_jobs
        one_post_per_target(platforms, titles)
        assert workers.procs[0].poll() is None
    except BaseException:
        print(workers.logs()[-6000:])
        raise
