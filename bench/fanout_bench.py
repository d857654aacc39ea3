"""Fan-out throughput: deliveries per second beside bare RQ jobs making the same HTTP calls.

    .venv/bin/python bench/fanout_bench.py                 # throwaway PostgreSQL and redis-server
    .venv/bin/python bench/fanout_bench.py --workers 4     # same worker count for both sides
    .venv/bin/python bench/fanout_bench.py --rounds 5      # interleaved rounds, median ratio
    .venv/bin/python bench/fanout_bench.py --publish-seconds 10   # WeChat publishes take 10 s
    BENCH_DATABASE_URL=postgresql://... .venv/bin/python bench/fanout_bench.py

One run, two scenarios: (a) one article to 500 accounts (250 WeChat, 250 Weibo), (b) 1,000
articles to 2 accounts each (one WeChat, one Weibo). The stand-in platforms run in their own
process; N `flask --app wsgi worker` processes (SimpleWorker) drain the queue. "fan-out" is
the product's path: sign-off rows → dispatch → publisher.fanout.send.send (claim, adapter with
every id committed, post recorded, audit, article status). "baseline" is the same number of
bare RQ jobs through the same workers calling the same adapter (same HTTP calls, same client
code) with no database at all. The workers' periodic jobs unrelated to sending (the
activity sync, the Weibo comment pull) are kept out of the rounds (QUIET_PERIODIC). Never
runs in CI; results go in docs/FANOUT.md.

`--publish-seconds S`: the stand-in's WeChat publish stays "publishing" for S seconds, as the
real one does. Neither side waits for it: a delivery is handed to a scheduled follow-up (RQ's
scheduler, docs/FANOUT.md), and so is a baseline job (the same follow-up, the same calls, no
database), so the ratio measures the product's cost, not the platform's delay.
"""
import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

WEIBO_UID = 8000000000

from govmedia.queue import job  # noqa: E402  (after the path above)


def cover_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), (30, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


@job("deliveries")
def baseline_send(platform: str, n: int, title: str, token: str | None = None,
                  state: dict | None = None) -> str:
    """The baseline job: the same adapter and HTTP calls as a delivery, no database. A publish
    still processing is looked at again by the same scheduled follow-up a delivery gets."""
    from datetime import datetime, timedelta, timezone

    from flask import current_app

    from adapters import Content, Pending, get_adapter
    from govmedia.queue import enqueue
    from publisher.fanout.dispatch import whole_second_after
    from standins import DEFAULT_WECHAT_APPS

    app_id, secret = next(iter(DEFAULT_WECHAT_APPS.items()))
    credentials = ({"app_id": app_id, "app_secret": secret} if platform == "wechat"
                   else {"access_token": token})
    link = f"https://www.example.gov.cn/b/{n}"
    content = Content(article_id=n, revision="b", title=title, body_html="<p>基准测试正文。</p>",
                      digest="", author="", source_url=link, cover_image=_COVER,
                      cover_filename="cover.png", weibo_text=f"{title} {link}")
    state = {} if state is None else state
    try:
        return get_adapter(platform, credentials, current_app.config).publish(
            content, state, lambda saved: None).post_id
    except Pending as exc:
        at = datetime.now(timezone.utc) + timedelta(seconds=exc.check_after)
        enqueue(baseline_send, platform, n, title, token, state, at=whole_second_after(at))
        return "publishing"


_COVER = cover_png()

# The workers' periodic jobs that have nothing to do with sending, kept out of the rounds: the
# activity sync and the Weibo comment pull would each call the stand-in for every account
# (hundreds of calls) in whichever round their slot fell, on one side of a ratio only. They
# run once at the workers' start (their first slot), before the first round (wait_idle); the
# sweep, the inbox drain and the job counting posts into supervision's figures keep their
# production intervals.
QUIET_PERIODIC = {"ACTIVITY_SYNC_SECONDS": "0", "WEIBO_COMMENTS_PULL_SECONDS": "86400"}


def standin_call(url, path, body=None):
    import requests

    response = requests.post(url + path, json=body or {}, timeout=30)
    response.raise_for_status()
    return response.json()


def reset_standin(url, tokens, publish_seconds=0.0):
    standin_call(url, "/_standin/reset")
    # 0: a publish is done at the first look; else it is "publishing" for that many seconds
    standin_call(url, "/_standin/config", {
        "wechat_publish_polls": 10**9 if publish_seconds else 0,
        "wechat_publish_seconds": publish_seconds})
    for i, token in enumerate(tokens):
        standin_call(url, "/_standin/weibo/tokens", {"access_token": token,
                                                     "uid": WEIBO_UID + i})


def posts_count(url) -> int:
    import requests

    posts = requests.get(url + "/_standin/posts", timeout=30).json()
    return posts["wechat"]["count"] + posts["weibo"]["count"]


def setup_accounts(app, n_wechat, n_weibo, prefix):
    """Accounts straight into the tables (the bench measures sending, not registration)."""
    from datetime import date

    from standins import DEFAULT_WECHAT_APPS
    from govmedia.extensions import db
    from govmedia.secrets import encrypt
    from registry.models import Account, AccountCredential, Unit

    app_id, secret = next(iter(DEFAULT_WECHAT_APPS.items()))
    unit = Unit(name=f"基准测试单位{prefix}", contacts=[])
    db.session.add(unit)
    db.session.flush()
    accounts, tokens = [], []
    for i in range(n_wechat + n_weibo):
        platform = "wechat" if i < n_wechat else "weibo"
        account = Account(unit_id=unit.id, platform=platform, name=f"{prefix}账号{i}",
                          handle=f"{prefix}-{i}", status="active", opened_on=date(2026, 1, 5),
                          staff=[])
        db.session.add(account)
        accounts.append(account)
    db.session.flush()
    wechat_secret = encrypt({"app_id": app_id, "app_secret": secret})
    for account in accounts:
        if account.platform == "wechat":
            ciphertext = wechat_secret
        else:
            token = f"2.00bench_{prefix}_{account.id}"
            tokens.append(token)
            ciphertext = encrypt({"access_token": token})
        db.session.add(AccountCredential(account_id=account.id, ciphertext=ciphertext))
    db.session.commit()
    return unit, accounts, tokens


def approved_articles(app, unit, user_id, targets_per_article, prefix):
    """Signed-off articles with their queued deliveries, as publisher.editorial.operations.approve leaves them."""
    import hashlib

    from govmedia.extensions import db
    from publisher.models import Article, ArticleImage
    from publisher.content import compute_hash, run_article_checks

    data = _COVER
    image = ArticleImage(sha256=hashlib.sha256(data).hexdigest(), mime="image/png", width=60,
                         height=40, size=len(data), data=data)
    db.session.add(image)
    db.session.flush()
    ids = []
    for n, targets in enumerate(targets_per_article):
        article = Article(unit_id=unit.id, created_by_id=user_id, origin="editor",
                          title=f"{prefix}第{n}篇", body_html="<p>基准测试正文。</p>",
                          source_url=f"https://www.example.gov.cn/{prefix}/{n}",
                          cover_id=image.id, cover=image,
                          target_account_ids=[a.id for a in targets], status="approved",
                          revision=1, round=1, content_hash="", checks=[])
        db.session.add(article)
        db.session.flush()
        article.content_hash = compute_hash(article)
        run_article_checks(article)  # as every stage of the reviews leaves it
        ids += queued_deliveries(article, [(a.id, a.platform) for a in targets])
    db.session.commit()
    return ids


def queued_deliveries(article, targets) -> list[int]:
    """The article's queued deliveries to (account id, platform) targets, as sign-off leaves
    them; their ids."""
    from govmedia.extensions import db
    from publisher.models import Delivery

    ids = []
    for account_id, platform in targets:
        delivery = Delivery(article_id=article.id, account_id=account_id, platform=platform,
                            revision=1, content_hash=article.content_hash, status="queued",
                            attempts=0, platform_ids={})
        db.session.add(delivery)
        db.session.flush()
        ids.append(delivery.id)
    return ids


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    raise SystemExit("timed out")


def run_fanout(app, ids, timeout):
    from sqlalchemy import func, select

    from govmedia.extensions import db
    from publisher.fanout.dispatch import dispatch
    from publisher.fanout.send import send
    from publisher.models import Delivery

    start = time.perf_counter()
    dispatch(ids, send)
    db.session.commit()  # the jobs go out as it commits

    def done():
        db.session.rollback()
        return db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.id.in_(ids), Delivery.status.in_(("sent", "failed")))) == len(ids)

    wait_until(done, timeout)
    elapsed = time.perf_counter() - start
    db.session.rollback()
    failed = db.session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.id.in_(ids), Delivery.status != "sent"))
    # The posts the workers' periodic job has not counted into supervision's figures yet:
    # counted here (timed apart, printed) so that work does not fall into the next baseline.
    from registry.supervision.pending import apply_pending

    started = time.perf_counter()
    counted = apply_pending()
    db.session.commit()
    if counted:
        print(f"  (figures: {counted} posts left uncounted by the periodic job, counted in "
              f"{time.perf_counter() - started:.2f} s)", flush=True)
    return elapsed, failed


def run_baseline(app, url, jobs, timeout):
    from govmedia.queue import enqueue

    # The workers import the job by its module's name, not as this script's __main__.
    from bench.fanout_bench import baseline_send as job

    before = posts_count(url)
    start = time.perf_counter()
    for args in jobs:
        enqueue(job, *args)
    wait_until(lambda: posts_count(url) - before >= len(jobs), timeout)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--accounts", type=int, default=500, help="scenario (a) targets")
    parser.add_argument("--articles", type=int, default=1000, help="scenario (b) articles")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved baseline/fan-out rounds; the median ratio is reported")
    parser.add_argument("--publish-seconds", type=float, default=0.0,
                        help="the stand-in's WeChat publish stays 'publishing' this long")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from services import bench_database, free_port, start_redis
    from sqlalchemy import text

    from govmedia import create_app
    from govmedia.extensions import db
    from govmedia.models import User

    tmp = Path(tempfile.mkdtemp(prefix="fanout-bench-"))
    database_url, pg = bench_database(tmp / "pg")
    redis = start_redis(tmp / "redis")
    port = free_port()
    standin = subprocess.Popen([sys.executable, "-m", "standins", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    standin.stdout.readline()
    url = f"http://127.0.0.1:{port}"
    settings = {"WECHAT_API_BASE_URL": url, "WEIBO_API_BASE_URL": url,
                "ADAPTER_TIMEOUT": "10", "WECHAT_POLL_INTERVAL": "0.01",
                "DELIVERY_BACKOFF_SECONDS": "1", **QUIET_PERIODIC}
    os.environ.update(settings)
    config = {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis.url,
              "SECRET_KEY": "bench-secret", "INSTANCE_PATH": str(tmp / "instance"),
              **{k: v for k, v in settings.items()}}
    app = create_app(config)
    workers = []
    try:
        with app.app_context():
            if database_url.startswith("postgresql"):
                db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                db.session.commit()
            upgrade(revision="heads")
            user = User(username="bench", password_hash="x", roles=["admin"], active=True,
                        session_version=1)
            db.session.add(user)
            db.session.commit()
            half = args.accounts // 2
            unit_a, accounts_a, tokens_a = setup_accounts(app, half, args.accounts - half, "a")
            unit_b, accounts_b, tokens_b = setup_accounts(app, 1, 1, "b")
            user_id = user.id
            # Plain values: the rounds run in app contexts of their own.
            unit_a, unit_b = (SimpleNamespace(id=u.id) for u in (unit_a, unit_b))
            accounts_a, accounts_b = ([SimpleNamespace(id=a.id, platform=a.platform)
                                       for a in accounts] for accounts in (accounts_a, accounts_b))
            db.session.commit()

        env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis.url,
                   SECRET_KEY="bench-secret", GOVMEDIA_INSTANCE_PATH=str(tmp / "instance"))
        workers.extend(start_workers(args.workers, env))
        time.sleep(3)  # workers up
        wait_idle(redis.url, args.timeout)  # the periodic jobs' first slot, before any round

        results = []
        with app.app_context():
            # Rounds interleave baseline and fan-out so that a machine busy with other work
            # weighs on both sides; the median of the rounds' ratios is the figure.
            for round_no in range(args.rounds):
                for name, unit, tokens, accounts, targets in (
                        (f"(a) 1 article → {args.accounts} accounts", unit_a, tokens_a,
                         accounts_a, [accounts_a]),
                        (f"(b) {args.articles} articles → 2 accounts", unit_b, tokens_b,
                         accounts_b, [accounts_b] * args.articles)):
                    weibo_token = dict(zip([a.id for a in accounts if a.platform == "weibo"],
                                           tokens))
                    jobs = []
                    for i in range(sum(len(t) for t in targets)):
                        account_id, platform = accounts[i % len(accounts)].id, \
                            accounts[i % len(accounts)].platform
                        jobs.append((platform, 10_000_000 * (round_no + 1) + i,
                                     f"基准{name[:3]}{round_no}-{i}",
                                     weibo_token.get(account_id)))
                    reset_standin(url, tokens, args.publish_seconds)
                    base = run_baseline(app, url, jobs, args.timeout)
                    # Signed off now (untimed), not before: the workers' sweep would send
                    # rows left waiting while the baseline runs.
                    ids = approved_articles(app, unit, user_id, targets,
                                            f"{name[1]}{round_no}-")
                    reset_standin(url, tokens, args.publish_seconds)
                    ours, failed = run_fanout(app, ids, args.timeout)
                    results.append((round_no + 1, name, len(ids), base, ours, failed))
                    print(f"round {round_no + 1} {name}: baseline {len(ids) / base:.1f}/s, "
                          f"fan-out {len(ids) / ours:.1f}/s, ratio {base / ours:.0%}",
                          flush=True)
        print(f"\nWeChat publish takes {args.publish_seconds:g} s at the stand-in")
        print(f"workers: {args.workers} SimpleWorker processes; database: "
              f"{'PostgreSQL' if database_url.startswith('postgresql') else database_url}")
        print(f"{'round':>5} {'scenario':34} {'jobs':>6} {'baseline/s':>11} {'fan-out/s':>10}"
              f" {'ratio':>6} {'not sent':>8}")
        for round_no, name, n, base, ours, failed in results:
            print(f"{round_no:5d} {name:34} {n:6d} {n / base:11.1f} {n / ours:10.1f}"
                  f" {base / ours:6.0%} {failed:8d}")
        for name in dict.fromkeys(r[1] for r in results):
            ratios = sorted(r[3] / r[4] for r in results if r[1] == name)
            print(f"median ratio {name}: {statistics.median(ratios):.0%} "
                  f"(rounds: {', '.join(f'{x:.0%}' for x in ratios)})")
    finally:
        stop_processes(workers)
        standin.terminate()
        redis.stop()
        if pg is not None:
            pg.stop()


def wait_idle(redis_url: str, timeout: float) -> None:
    """Until no queue holds a job and no worker runs one, for a second on end."""
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(redis_url)

    def idle():
        return all(q.count == 0 and q.started_job_registry.count == 0
                   for q in Queue.all(connection=connection))

    quiet_since = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not idle():
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 1.0:
            return
        time.sleep(0.1)
    raise SystemExit("timed out waiting for the workers to go idle")


def start_workers(n: int, env: dict) -> list[subprocess.Popen]:
    """`flask --app wsgi worker` processes on every queue, as in production: the sweep and the
    job that counts the posts into supervision's figures run inside the measured time too."""
    return [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for _ in range(n)]


def stop_processes(processes) -> None:
    for proc in processes:
        proc.terminate()
    for proc in processes:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
