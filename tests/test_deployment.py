"""docs/DEPLOY.md's layout on one machine: two gunicorn web nodes and two `flask --app wsgi
worker` processes against one PostgreSQL and one Redis, set up with the documented commands
(`flask --app wsgi db upgrade`, `users create ... --password-stdin`).

While people work through the HTTP API on both nodes (logins, lists, accounts, posts, articles
through the three reviews, articles pushed by source systems), the workers fan out. Then:
every delivery is sent and posted exactly once; the WeChat token was fetched once although
both workers needed it at the same moment; with both workers ticking every 0.2 s, each
periodic slot (a 2 s sweep, the daily jobs) ran one job, not one per worker; the audit chain
written by five processes verifies; /healthz and the proxy headers (TRUSTED_PROXIES) work.
"""
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from cluster import (
    PASSWORD,
    Api,
    Processes,
    build_desks,
    flask_command,
    fresh_database,
    migrate,
    node_env,
    png_base64,
    publish_through_reviews,
    push_article,
    start_standin,
    start_web,
    start_worker,
    wait_healthy,
    wait_until,
)
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.redis

SWEEP_SECONDS = 2
TICK_SECONDS = 0.2
TOKEN_FETCH_DELAY = 4.0  # the first token fetch is slow: the other worker must wait for it
WORK_SECONDS = 8


class Cluster:
    def __init__(self, procs, env, web, standin, redis_url, database_url):
        self.procs, self.env, self.web, self.standin = procs, env, web, standin
        self.redis_url, self.database_url = redis_url, database_url
        self.engine = create_engine(database_url, pool_pre_ping=True)

    def standin_calls(self) -> dict:
        return requests.get(f"{self.standin}/_standin/calls", timeout=5).json()

    def deliveries(self) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT id, status, platform, post_id, article_id "
                                     "FROM deliveries ORDER BY id")).all()


@pytest.fixture
def cluster(postgres_url, redis_service, tmp_path):
    from redis import Redis

    procs = Processes(tmp_path / "processes")
    redis_url = redis_service.url.rsplit("/", 1)[0] + "/5"  # apart from the other redis tests
    Redis.from_url(redis_url).flushdb()
    database_url = fresh_database(postgres_url, "govmedia_deploy")
    try:
        standin = start_standin(procs)
        env = node_env(database_url, redis_url, standin, tmp_path,
                       DELIVERY_SWEEP_SECONDS=SWEEP_SECONDS,
                       PERIODIC_TICK_SECONDS=TICK_SECONDS, TRUSTED_PROXIES=1,
                       ADAPTER_TIMEOUT=TOKEN_FETCH_DELAY + 3, DELIVERY_BACKOFF_SECONDS=1,
                       # Off: its first slot fires as the workers start, and this run measures
                       # two deliveries waiting for one token fetch (tests/test_activity_sync.py
                       # covers the sync's jobs).
                       ACTIVITY_SYNC_SECONDS=0)
        migrate(env)
        created = flask_command(env, "users", "create", "admin", "--role", "admin",
                                "--password-stdin", stdin=PASSWORD + "\n")
        assert "created user admin" in created
        web = [start_web(procs, env, workers=2, threads=4, name="web1", wait=False),
               start_web(procs, env, workers=1, threads=4, name="web2", wait=False)]
        for url in web:
            wait_healthy(procs, url)
        running = Cluster(procs, env, web, standin, redis_url, database_url)
        yield running
        running.engine.dispose()
    finally:
        procs.stop_all()
        Redis.from_url(redis_url).flushdb()


def periodic_jobs_enqueued(redis_url: str) -> dict[str, int]:
    """How many RQ jobs each periodic job's path has, in any state (finished jobs are kept)."""
    from collections import Counter

    from redis import Redis
    from rq.job import Job

    redis = Redis.from_url(redis_url)
    ids = [key.decode().split(":")[2] for key in redis.scan_iter("rq:job:*")
           if key.decode().count(":") == 2]
    return Counter(job.func_name for job in Job.fetch_many(ids, connection=redis)
                   if job is not None)


def failed_jobs(redis_url: str) -> list:
    from redis import Redis
    from rq import Queue
    from rq.registry import FailedJobRegistry

    from govmedia.queue import QUEUES

    redis = Redis.from_url(redis_url)
    out = []
    for name in QUEUES:
        registry = FailedJobRegistry(queue=Queue(name, connection=redis))
        out += [(name, job_id) for job_id in registry.get_job_ids()]
    return out


def test_two_web_nodes_and_two_workers_share_one_database_and_one_redis(cluster):
    web1, web2 = cluster.web
    # Health checks and the proxy's headers, on each node.
    for url in cluster.web:
        health = requests.get(f"{url}/healthz", timeout=5)
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    direct = requests.get(f"{web1}/notices.atom", timeout=5).text
    proxied = requests.get(f"{web2}/notices.atom", timeout=5, headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "media.example.gov.cn"}).text
    assert f'href="{web1}/notices.atom"' in direct
    assert 'href="https://media.example.gov.cn/notices.atom"' in proxied

    admin = Api.login(web1, "admin")
    desks = build_desks(admin, cluster.standin, count=2, prefix="deploy")
    cover = png_base64()
    # Users of each desk log in on both nodes.
    people = {(desk.n, role, node): Api.login(node, username)
              for desk in desks for role, username in desk.users.items()
              for node in cluster.web}

    # Two workers up and registered before anything is queued.
    from redis import Redis
    from rq import Worker

    redis = Redis.from_url(cluster.redis_url)
    requests.post(f"{cluster.standin}/_standin/faults", json={
        "path": "/cgi-bin/stable_token", "delay": TOKEN_FETCH_DELAY, "times": 1},
        timeout=5).raise_for_status()
    started_at = time.time()
    for n in range(2):
        start_worker(cluster.procs, cluster.env, name=f"worker{n + 1}")
    wait_until(lambda: len(Worker.all(connection=redis)) == 2, 30, "two registered workers")
    ticking_at = time.time()  # each worker starts ticking before it registers

    # Both workers need the WeChat token at once: one WeChat article from each desk, pushed
    # on different nodes; the first token fetch takes TOKEN_FETCH_DELAY seconds.
    for desk, node in zip(desks, cluster.web):
        push_article(people[(desk.n, "source", node)], desk, f"同时取令牌{desk.n}", cover,
                     targets=[desk.wechat_id])

    def both_waiting_for_the_token():
        from rq import Queue
        from rq.registry import StartedJobRegistry

        calls = cluster.standin_calls()["calls"]
        running = StartedJobRegistry(queue=Queue("deliveries", connection=redis)).count
        return (running == 2 and calls.get("/cgi-bin/stable_token", 0) == 1
                and calls.get("/cgi-bin/material/add_material", 0) == 0)

    wait_until(both_waiting_for_the_token, TOKEN_FETCH_DELAY, "both workers in a WeChat "
               "delivery while the first token fetch is still under way", interval=0.05)

    # People work on both nodes while the workers fan out.
    errors, stop = [], threading.Event()

    def person(work):
        def run():
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - reported below with the others
                errors.append(repr(exc))
        return threading.Thread(target=run)

    def newsroom(desk):
        for i in range(3):  # drafted on one node, reviewed on the other, signed on the first
            publish_through_reviews(people[(desk.n, "editor", web1)],
                                    people[(desk.n, "reviewer", web2)],
                                    people[(desk.n, "signer", web1)], desk,
                                    f"审核后发布{desk.n}-{i}", cover)

    def source_system(desk):
        for i in range(4):
            push_article(people[(desk.n, "source", cluster.web[i % 2])], desk,
                         f"来源系统推送{desk.n}-{i}", cover)

    def sponsor(desk):
        for i, node in enumerate(cluster.web * 2):
            api = people[(desk.n, "sponsor", node)]
            api.call("POST", "/api/v1/accounts", (201,), json={
                "unit_id": desk.unit_id, "platform": "other", "name": f"部署测试网站{i}",
                "handle": f"site-{desk.n}-{i}", "opened_on": "2026-11-02"})
            published = datetime.now(UTC) - timedelta(days=i + 1)
            api.call("POST", f"/api/v1/accounts/{desk.wechat_id}/posts", (201,), json={
                "published_at": published.isoformat(timespec="seconds"), "title": f"线下发布{i}"})

    def reader(desk):
        while not stop.is_set():
            for node in cluster.web:
                api = people[(desk.n, "editor", node)]
                assert api.call("GET", "/api/v1/articles").json()["total"] >= 0
                api.call("GET", f"/api/v1/accounts?unit_id={desk.unit_id}")
                api.call("GET", f"/api/v1/accounts/{desk.weibo_id}")
            stop.wait(0.2)

    threads = [person(lambda d=d, f=f: f(d)) for d in desks
               for f in (newsroom, source_system, sponsor, reader)]
    for thread in threads:
        thread.start()
    time.sleep(WORK_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    cluster.procs.check_alive()

    # 2 token-race articles + 2 desks × (3 reviewed + 4 pushed) × 2 targets.
    expected = 2 + 2 * (3 + 4) * 2
    wait_until(lambda: [r.status for r in cluster.deliveries()] == ["sent"] * expected, 60,
               lambda: f"{expected} deliveries sent; now {cluster.deliveries()}\n"
                       f"{cluster.procs.logs()}")
    time.sleep(2 * SWEEP_SECONDS)  # the sweep keeps running on both workers, finding nothing
    for name, proc in cluster.procs.running:
        if name.startswith("worker"):
            proc.terminate()
            proc.wait(timeout=60)  # a warm shutdown finishes the job under way
    stopped_at = time.time()

    # Every delivery posted exactly once: the platform's posts are the deliveries' post ids.
    rows = cluster.deliveries()
    posts = requests.get(f"{cluster.standin}/_standin/posts", timeout=5).json()
    wechat = [r.post_id for r in rows if r.platform == "wechat"]
    weibo = [r.post_id for r in rows if r.platform == "weibo"]
    assert sorted(p["article_id"] for p in posts["wechat"]["items"]) == sorted(wechat)
    assert sorted(p["id"] for p in posts["weibo"]["items"]) == sorted(weibo)
    assert len(set(wechat)) == len(wechat) == 2 + 2 * 7 and len(set(weibo)) == 2 * 7

    # One WeChat token fetch for the whole run (both workers, every WeChat delivery).
    tokens = cluster.standin_calls()["token_requests"]
    assert len(tokens) == 1 and tokens[0]["path"] == "/cgi-bin/stable_token", tokens
    assert tokens[0]["force_refresh"] is False

    # Periodic jobs: one job per slot, however many workers ticked. Each claim is a key
    # govmedia:periodic:<name>:<slot>; every claim enqueued one job and no slot was claimed
    # that did not fall in the run.

    from govmedia import create_app
    from govmedia.periodic import periodic_jobs

    enqueued = periodic_jobs_enqueued(cluster.redis_url)
    app = create_app({"TESTING": True, "DATABASE_URL": cluster.database_url,
                      "REDIS_URL": cluster.redis_url, "DELIVERY_SWEEP_SECONDS": SWEEP_SECONDS})
    run = [datetime.fromtimestamp(t, UTC) for t in (started_at, stopped_at)]
    checked = []
    for job in periodic_jobs(app):
        claimed = {key.decode().split(":", 3)[3]
                   for key in redis.scan_iter(f"govmedia:periodic:{job.name}:*")}
        if job.every_seconds:
            slots = {str(n) for n in range(int(started_at) // job.every_seconds,
                                           int(stopped_at) // job.every_seconds + 1)}
        else:
            slots = {job.slot(t) for t in run} - {None}  # days, once the time of day passed
            assert claimed == slots, (job.name, claimed, slots)
        assert claimed <= slots, (job.name, sorted(claimed), sorted(slots))
        assert enqueued[job_path(job)] == len(claimed), (job.name, enqueued, sorted(claimed))
        checked.append(job.name)
        if job.every_seconds:
            # Both workers tick every 0.2 s, so without the claim each 2 s sweep slot would
            # run twice or more; and every slot wholly inside the ticking time did run.
            ticked = {str(n) for n in range(int(ticking_at) // job.every_seconds + 1,
                                            int(stopped_at) // job.every_seconds)}
            assert ticked <= claimed, (job.name, sorted(ticked - claimed))
    assert {"delivery_sweep", "daily_reminders", "complete_deregistrations"} <= set(checked)
    assert failed_jobs(cluster.redis_url) == []

    # Five processes wrote the audit chain at once; it still verifies.
    verified = flask_command(cluster.env, "audit", "verify")
    assert "audit chain intact" in verified


def job_path(periodic) -> str:
    """The name RQ records for a periodic job's function."""
    return f"{periodic.function.__module__}.{periodic.function.__qualname__}"


def test_healthz_fails_only_for_the_database(database_url):
    """The proxy takes a node out for its database, not for Redis (docs/DEPLOY.md)."""
    from conftest import base_config
    from services import free_port

    from govmedia import create_app

    closed = free_port()  # nothing listens there: refused at once
    redis_down = create_app(base_config(database_url) | {
        "REDIS_URL": f"redis://127.0.0.1:{closed}/0"}).test_client().get("/healthz")
    assert redis_down.status_code == 200
    assert redis_down.get_json() == {"status": "ok", "database": "ok", "redis": "down"}
    assert redis_down.headers["Cache-Control"] == "no-store"
    database_down = create_app(base_config(
        f"postgresql+psycopg://postgres@127.0.0.1:{closed}/govmedia")).test_client().get(
        "/healthz")
    assert database_down.status_code == 503
    assert database_down.get_json() == {"status": "unavailable", "database": "down",
                                        "redis": "ok"}
