"""Load: concurrent users on the pages and the API of real gunicorn processes while RQ workers
fan out deliveries; no HTTP errors, no delivery lost or doubled, latency percentiles per group.

    .venv/bin/python bench/load_run.py                   # 50 users, 1,000 deliveries, 1 worker
    .venv/bin/python bench/load_run.py --workers 2 --users 50 --deliveries 1000
    BENCH_DATABASE_URL=postgresql://... .venv/bin/python bench/load_run.py   # existing server

Everything on loopback, in the layout of docs/DEPLOY.md (tests/cluster.py starts it): a
throwaway PostgreSQL and redis-server (tests/services.py), the stand-in platforms in their own
process, `flask --app wsgi db upgrade`, `flask --app wsgi users create admin`, one gunicorn
node (`-k gthread`), `flask --app wsgi worker`.

Set-up through the API: units with a WeChat and a Weibo account each and their staff; source
systems push DELIVERIES / 2 articles reviewed upstream (approved and queued at once, two
targets each) before any worker runs. Then the users start, then the workers: the fan-out
happens under load. Users run until every pushed delivery is settled and at least
--min-seconds have passed (at most --max-seconds). The mix, per 10 users: 3 on pages (login
form, home, lists, an account, an article, supervision), 4 on the API (lists and single
items), 1 public visitor (lookup, notices, feed, open data), 1 writer (posts recorded by a
sponsor, drafts by an editor), 1 newsroom taking articles through the three reviews to
sign-off (their deliveries are added to the fan-out). Each user pauses 0–THINK seconds
between requests.

Checks: no 5xx and no status other than the one each request expects (200, 201, 302);
every delivery `sent`; the stand-in holds exactly one post per delivery (its post ids are
the deliveries' post ids, none twice, none missing). Prints latency percentiles per group as
a Markdown table for docs/RELIABILITY.md. tests/test_load.py runs a short version in CI.
Never runs in CI itself.
"""
import argparse
import math
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from cluster import (
    PASSWORD,
    Api,
    Processes,
    build_desks,
    flask_command,
    migrate,
    node_env,
    png_base64,
    push_article,
    start_standin,
    start_web,
    start_worker,
    wait_until,
)

GROUPS = ("login", "pages", "public", "api read", "api write", "sign-off")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class Recorder:
    """Every request's latency by group, and every answer that was not the expected one."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.statuses: Counter = Counter()

    def call(self, http: requests.Session, group: str, method: str, url: str,
             expect=(200,), **kwargs) -> requests.Response | None:
        started = time.perf_counter()
        try:
            answer = http.request(method, url, timeout=60, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.errors.append(f"{method} {url}: {exc!r}")
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[group].append(elapsed)
            self.statuses[answer.status_code] += 1
            if answer.status_code not in expect:
                self.errors.append(f"{method} {url} answered {answer.status_code} "
                                   f"(expected {expect}): {answer.text[:300]}")
        return answer if answer.status_code in expect else None

    def total(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def latency_table(recorder: Recorder, seconds: float) -> str:
    lines = ["| group | requests | req/s | p50 ms | p90 ms | p99 ms | max ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    everything = []
    for group in GROUPS:
        values = recorder.latencies.get(group, [])
        everything += values
        if values:
            lines.append(_row(group, values, seconds))
    lines.append(_row("**all**", everything, seconds))
    return "\n".join(lines)


def _row(name, values, seconds):
    ms = [v * 1000 for v in values]
    return (f"| {name} | {len(ms)} | {len(ms) / seconds:.1f} | {percentile(ms, 50):.0f} | "
            f"{percentile(ms, 90):.0f} | {percentile(ms, 99):.0f} | {max(ms):.0f} |")


# --- users -----------------------------------------------------------------------------------

class Context:
    def __init__(self, base, desks, article_ids, recorder, think, stop):
        self.base, self.desks, self.article_ids = base, desks, article_ids
        self.recorder, self.think, self.stop = recorder, think, stop
        self.signed_off: list[int] = []
        self.lock = threading.Lock()


def _page_login(ctx, http, username) -> bool:
    page = ctx.recorder.call(http, "login", "GET", f"{ctx.base}/login")
    match = CSRF.search(page.text) if page is not None else None
    if match is None:
        with ctx.recorder.lock:
            ctx.recorder.errors.append("no CSRF token on /login")
        return False
    done = ctx.recorder.call(http, "login", "POST", f"{ctx.base}/login", (302,), data={
        "csrf_token": match.group(1) or match.group(2), "username": username,
        "password": PASSWORD})
    return done is not None


def _api_login(ctx, username) -> requests.Session | None:
    http = requests.Session()
    answer = ctx.recorder.call(http, "login", "POST", f"{ctx.base}/api/v1/auth/tokens", (201,),
                               json={"username": username, "password": PASSWORD})
    if answer is None:
        return None
    http.headers["Authorization"] = "Bearer " + answer.json()["token"]
    return http


def _loop(ctx, rng, step):
    while not ctx.stop.is_set():
        step()
        ctx.stop.wait(rng.uniform(0, ctx.think))


def page_user(ctx, n, rng):
    desk = ctx.desks[n % len(ctx.desks)]
    role = ("sponsor", "editor", "supervisor")[n % 3]
    username = "supervisor" if role == "supervisor" else desk.users[role]
    own_articles = ctx.article_ids[desk.n]
    pages = {
        "sponsor": ["/", "/accounts", f"/accounts/{desk.wechat_id}", "/filings", "/units",
                    f"/units/{desk.unit_id}", "/notifications"],
        "editor": ["/", "/articles", "/articles/new", "/accounts",
                   *(f"/articles/{i}" for i in own_articles[:5])],
        "supervisor": ["/", "/supervision", "/supervision/dormant", "/supervision/duplicates",
                       "/publishing/queue", "/accounts", "/filings", "/articles", "/units"],
    }[role]
    http = requests.Session()
    if not _page_login(ctx, http, username):
        return
    _loop(ctx, rng, lambda: ctx.recorder.call(http, "pages", "GET",
                                              ctx.base + rng.choice(pages)))


def api_user(ctx, n, rng):
    desk = ctx.desks[n % len(ctx.desks)]
    role = ("sponsor", "editor", "supervisor", "editor")[n % 4]
    username = "supervisor" if role == "supervisor" else desk.users[role]
    own_articles = ctx.article_ids[desk.n]
    paths = {
        "sponsor": [f"/api/v1/accounts?unit_id={desk.unit_id}",
                    f"/api/v1/accounts/{desk.wechat_id}", f"/api/v1/accounts/{desk.weibo_id}",
                    f"/api/v1/filings?unit_id={desk.unit_id}", f"/api/v1/units/{desk.unit_id}",
                    "/api/v1/notifications"],
        "editor": ["/api/v1/articles?limit=20", *(f"/api/v1/articles/{i}"
                                                   for i in own_articles[:5]),
                   f"/api/v1/accounts?unit_id={desk.unit_id}"],
        "supervisor": ["/api/v1/supervision/summary", "/api/v1/supervision/dormant",
                       "/api/v1/articles?limit=50", "/api/v1/accounts?limit=100",
                       "/api/v1/units", "/api/v1/filings?status=pending"],
    }[role]
    http = _api_login(ctx, username)
    if http is None:
        return
    _loop(ctx, rng, lambda: ctx.recorder.call(http, "api read", "GET",
                                              ctx.base + rng.choice(paths)))


def public_visitor(ctx, n, rng):
    desk = ctx.desks[n % len(ctx.desks)]
    paths = ["/public", "/notices", "/notices.atom", "/api/v1/public/notices",
             "/api/v1/public/accounts?q=" + requests.utils.quote("发布"),
             f"/api/v1/public/verify?platform=wechat&handle=gh_load{desk.n:08d}",
             "/public/data.json"]
    http = requests.Session()
    _loop(ctx, rng, lambda: ctx.recorder.call(http, "public", "GET",
                                              ctx.base + rng.choice(paths)))


def writer(ctx, n, rng):
    """A sponsor recording posts made outside the product, or an editor saving drafts."""
    desk = ctx.desks[n % len(ctx.desks)]
    sponsor = n % 2 == 0
    http = _api_login(ctx, desk.users["sponsor" if sponsor else "editor"])
    if http is None:
        return
    count = iter(range(10**6))

    def step():
        i = next(count)
        if sponsor:  # a post of the last three weeks
            at = datetime.now(UTC) - timedelta(days=(n + i) % 20, minutes=i)
            ctx.recorder.call(http, "api write", "POST",
                              f"{ctx.base}/api/v1/accounts/{desk.weibo_id}/posts", (201,),
                              json={"published_at": at.isoformat(timespec="seconds"),
                                    "title": f"线下发布{n}-{i}"})
        else:
            ctx.recorder.call(http, "api write", "POST", f"{ctx.base}/api/v1/articles", (201,),
                              json={"title": f"草稿{n}-{i}", "body_html": "<p>草稿正文。</p>",
                                    "target_account_ids": [desk.wechat_id]})

    _loop(ctx, rng, step)


def newsroom(ctx, n, rng, cover):
    """Draft, submit, review, sign off: each signed-off article adds two deliveries."""
    desk = ctx.desks[n % len(ctx.desks)]
    editor, reviewer, signer = (_api_login(ctx, desk.users[r])
                                for r in ("editor", "reviewer", "signer"))
    if None in (editor, reviewer, signer):
        return
    count = iter(range(10**6))
    rec, base = ctx.recorder, ctx.base

    def step():
        title = f"负载测试稿件{n}-{next(count)}"
        created = rec.call(editor, "api write", "POST", f"{base}/api/v1/articles", (201,), json={
            "title": title, "body_html": f"<p>{title}：会议要求压实安全生产责任。</p>",
            "source_url": f"https://www.example.gov.cn/load/{abs(hash(title)) % 10**10}",
            "cover_image_base64": cover, "target_account_ids": [desk.wechat_id, desk.weibo_id]})
        if created is None:
            return
        article_id = created.json()["id"]
        if rec.call(editor, "api write", "POST", f"{base}/api/v1/articles/{article_id}/submit",
                    json={}) is None:
            return
        if rec.call(reviewer, "api write", "POST", f"{base}/api/v1/articles/{article_id}/review",
                    json={"decision": "approve", "comment": ""}) is None:
            return
        if rec.call(signer, "sign-off", "POST", f"{base}/api/v1/articles/{article_id}/review",
                    json={"decision": "approve", "comment": "同意"}) is not None:
            with ctx.lock:
                ctx.signed_off.append(article_id)

    _loop(ctx, rng, step)


# --- the run ---------------------------------------------------------------------------------

class Result:
    def __init__(self, **values):
        self.__dict__.update(values)


def _delivery_rows(engine):
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT id, status, platform, post_id FROM deliveries")).all()


def _settled(engine, up_to_id=None) -> tuple[int, int]:
    """(deliveries not yet sent or failed, all deliveries), optionally up to an id."""
    from sqlalchemy import text

    where = "" if up_to_id is None else f"WHERE id <= {int(up_to_id)}"
    with engine.connect() as conn:
        pending, total = conn.execute(text(
            "SELECT count(*) FILTER (WHERE status NOT IN ('sent', 'failed')), count(*) "
            f"FROM deliveries {where}")).one()
    return pending, total


def run_load(database_url: str, redis_url: str, workdir: Path, *, users: int = 50,
             deliveries: int = 1000, workers: int = 1, web_workers: int = 4,
             web_threads: int = 4, units: int = 10, min_seconds: float = 30,
             max_seconds: float = 300, drain_seconds: float = 900, think: float = 0.2,
             password_hash: str | None = None, log=print) -> Result:
    """Start the layout, load it, check every delivery; returns the figures (never raises for
    an HTTP error or a lost delivery: the caller asserts or prints)."""
    from sqlalchemy import create_engine

    procs = Processes(Path(workdir) / "processes")
    engine = create_engine(database_url, pool_pre_ping=True)
    try:
        standin = start_standin(procs)
        settings = {"DELIVERY_SWEEP_SECONDS": 10, "WECHAT_POLL_INTERVAL": 0.02}
        if password_hash:
            settings["PASSWORD_HASH_METHOD"] = password_hash
        env = node_env(database_url, redis_url, standin, workdir, **settings)
        if password_hash is None:
            env.pop("PASSWORD_HASH_METHOD")  # production's scrypt
        migrate(env)
        flask_command(env, "users", "create", "admin", "--role", "admin", "--password-stdin",
                      stdin=PASSWORD + "\n")
        base = start_web(procs, env, workers=web_workers, threads=web_threads)
        admin = Api.login(base, "admin")
        admin.call("POST", "/api/v1/users", (201,), json={
            "username": "supervisor", "password": PASSWORD, "roles": ["supervisor"]})
        desks = build_desks(admin, standin, count=units, prefix="load")
        cover = png_base64()

        # Source systems push the articles while no worker runs: their jobs wait in Redis.
        started = time.perf_counter()
        sources = {d.n: Api.login(base, d.users["source"]) for d in desks}
        article_ids: dict[int, list[int]] = defaultdict(list)

        def push(i):
            desk = desks[i % len(desks)]
            article = push_article(sources[desk.n], desk, f"来源推送第{i}篇", cover)
            return desk.n, article["id"]

        with ThreadPoolExecutor(8) as pool:
            for desk_n, article_id in pool.map(push, range(deliveries // 2)):
                article_ids[desk_n].append(article_id)
        pushed_ids = _delivery_rows(engine)
        last_pushed = max(r.id for r in pushed_ids)
        log(f"pushed {deliveries // 2} articles ({len(pushed_ids)} deliveries) in "
            f"{time.perf_counter() - started:.1f} s")

        recorder, stop = Recorder(), threading.Event()
        ctx = Context(base, desks, article_ids, recorder, think, stop)
        kinds = [page_user, api_user, page_user, api_user, public_visitor, writer, page_user,
                 api_user, newsroom, api_user]
        threads = []
        for n in range(users):
            kind = kinds[n % len(kinds)]
            args = (ctx, n // len(kinds) + n, random.Random(n))
            if kind is newsroom:
                args = (*args, cover)
            threads.append(threading.Thread(target=kind, args=args, daemon=True,
                                            name=f"{kind.__name__}-{n}"))
        load_started = time.perf_counter()
        for thread in threads:
            thread.start()
        for n in range(workers):
            start_worker(procs, env, name=f"worker{n + 1}")
        fanout_started = time.perf_counter()
        fanout_seconds, next_report = None, load_started + 10
        while True:
            time.sleep(0.5)
            now = time.perf_counter()
            if fanout_seconds is None and _settled(engine, last_pushed)[0] == 0:
                fanout_seconds = now - fanout_started
                log(f"{len(pushed_ids)} pushed deliveries settled in {fanout_seconds:.1f} s")
            if (fanout_seconds is not None and now - load_started >= min_seconds) or \
                    now - load_started >= max_seconds:
                break
            procs.check_alive()
            if now >= next_report:
                next_report += 10
                pending, total = _settled(engine)
                log(f"{now - load_started:4.0f} s: {total - pending}/{total} deliveries "
                    f"settled, {recorder.total()} requests, {len(recorder.errors)} errors")
        stop.set()
        pending_at_stop, total_at_stop = _settled(engine)
        for thread in threads:
            thread.join(timeout=90)
        load_seconds = time.perf_counter() - load_started
        stuck_users = [t.name for t in threads if t.is_alive()]
        # Then every delivery (the newsrooms' too) must settle.
        drain_started = time.perf_counter()
        try:
            wait_until(lambda: _settled(engine)[0] == 0, drain_seconds, "every delivery settled",
                       interval=0.5)
        except AssertionError:
            pass  # reported below as deliveries not sent
        drain_seconds_used = time.perf_counter() - drain_started
        rows = _delivery_rows(engine)
        posts = requests.get(f"{standin}/_standin/posts", timeout=30).json()
        wechat = sorted(str(r.post_id) for r in rows if r.platform == "wechat")
        weibo = sorted(str(r.post_id) for r in rows if r.platform == "weibo")
        at_wechat = sorted(str(p["article_id"]) for p in posts["wechat"]["items"])
        at_weibo = sorted(str(p["id"]) for p in posts["weibo"]["items"])
        doubled = [i for i, c in Counter(at_wechat + at_weibo).items() if c > 1]
        return Result(
            recorder=recorder, load_seconds=load_seconds, fanout_seconds=fanout_seconds,
            pushed=len(pushed_ids), deliveries=len(rows), signed_off=len(ctx.signed_off),
            statuses=Counter(r.status for r in rows), posts=len(at_wechat) + len(at_weibo),
            missing=sorted(set(wechat + weibo) - set(at_wechat + at_weibo)),
            extra=sorted(set(at_wechat + at_weibo) - set(wechat + weibo)), doubled=doubled,
            posts_match=(wechat == at_wechat and weibo == at_weibo), stuck_users=stuck_users,
            drain_seconds=drain_seconds_used, users=users, workers=workers,
            settled_during_load=total_at_stop - pending_at_stop,
            web=f"gunicorn -k gthread --workers {web_workers} --threads {web_threads}",
            logs=procs.logs())
    finally:
        procs.stop_all()
        engine.dispose()


def summary(result: Result) -> str:
    rec = result.recorder
    fanout = (f"the {result.pushed} pushed deliveries sent in {result.fanout_seconds:.1f} s "
              f"from the worker's start ({result.pushed / result.fanout_seconds:.1f}/s)"
              if result.fanout_seconds else
              f"{result.settled_during_load} deliveries settled while the users ran, the rest "
              f"in {result.drain_seconds:.1f} s after")
    return "\n".join([
        (f"{result.users} users for {result.load_seconds:.1f} s against one node "
         f"({result.web}); {result.workers} worker(s) (`flask --app wsgi worker`); {fanout}."),
        (f"Requests: {rec.total()} ({rec.total() / result.load_seconds:.1f}/s), statuses "
         f"{dict(sorted(rec.statuses.items()))}, unexpected answers or failures: "
         f"{len(rec.errors)}."),
        (f"Deliveries: {result.deliveries} ({result.pushed} pushed + {result.signed_off} "
         f"articles signed off during the load × 2), {dict(result.statuses)}; posts at the "
         f"stand-in: {result.posts}; missing {len(result.missing)}, extra "
         f"{len(result.extra)}, doubled {len(result.doubled)}."),
        "",
        latency_table(rec, result.load_seconds),
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--deliveries", type=int, default=1000,
                        help="pushed before the load (articles × 2 targets)")
    parser.add_argument("--workers", type=int, default=1, help="flask --app wsgi worker")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn --workers")
    parser.add_argument("--web-threads", type=int, default=4, help="gunicorn --threads")
    parser.add_argument("--units", type=int, default=10)
    parser.add_argument("--min-seconds", type=float, default=30)
    parser.add_argument("--max-seconds", type=float, default=300,
                        help="users stop then even if the fan-out is not done (it drains)")
    parser.add_argument("--think", type=float, default=0.2,
                        help="each user pauses 0..THINK s between requests")
    parser.add_argument("--password-hash", default=None,
                        help="PASSWORD_HASH_METHOD (default: production's scrypt)")
    args = parser.parse_args()

    from services import bench_database, start_redis

    tmp = Path(tempfile.mkdtemp(prefix="load-run-"))
    database_url, pg = bench_database(tmp / "pg")
    redis = start_redis(tmp / "redis")
    try:
        result = run_load(database_url, redis.url, tmp, users=args.users,
                          deliveries=args.deliveries, workers=args.workers,
                          web_workers=args.web_workers, web_threads=args.web_threads,
                          units=args.units, min_seconds=args.min_seconds,
                          max_seconds=args.max_seconds, think=args.think,
                          password_hash=args.password_hash)
    finally:
        redis.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nmachine: {os.cpu_count()} CPUs; database: PostgreSQL; "
          f"{time.strftime('%Y-%m-%d')}\n")
    print(summary(result))
    for error in result.recorder.errors[:20]:
        print("ERROR", error)
    ok = (not result.recorder.errors and result.posts_match and not result.doubled
          and set(result.statuses) == {"sent"} and not result.stuck_users)
    print("\nresult:", "OK" if ok else "FAILED")
    if not ok:
        print(result.logs)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
