"""Activity sync throughput: posts recorded per second beside bare calls of the same endpoints.

    .venv/bin/python bench/activity_sync_bench.py                  # 5,000 accounts, 3 rounds
    .venv/bin/python bench/activity_sync_bench.py --accounts 1000 --rounds 1
    BENCH_DATABASE_URL=postgresql://... .venv/bin/python bench/activity_sync_bench.py

A province: N accounts (half WeChat, half Weibo), each on credentials of its own, each with
posts made "in the platform's back end" of the stand-in (running in its own process):
WeChat 4 published items and 1 mass send yesterday, Weibo 5 statuses. "sync" is the product's
path, registry.activity.sync.sync_accounts(due_accounts()): the adapters' listing calls
(freepublish/batchget, datacube/getarticlesummary for each day it reads, user_timeline), the
posts and cursors of every 25 accounts written in one transaction (registry.posts.record_posts).
"baseline" makes the same calls through the same adapters and records nothing. Both run in
this one process, one account after another; rounds interleave the two and the median ratio
is the figure. Never runs in CI; results go in docs/ACTIVITY.md.
"""
import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

POSTS_PER_ACCOUNT = 5
DAY = 86400


def standin_call(url, path, body=None):
    import requests

    response = requests.post(url + path, json=body or {}, timeout=120)
    response.raise_for_status()
    return response.json()


def setup_province(n: int, url: str) -> list[tuple[int, str, dict]]:
    """Accounts straight into the tables, their apps and tokens and posts in the stand-in."""
    from datetime import date

    from govmedia.extensions import db
    from govmedia.secrets import encrypt
    from registry.models import Account, AccountCredential, Unit

    unit = Unit(name="基准测试省", contacts=[])
    db.session.add(unit)
    db.session.flush()
    accounts, now, seeds = [], time.time(), []
    for i in range(n):
        platform = "wechat" if i % 2 == 0 else "weibo"
        account = Account(unit_id=unit.id, platform=platform, name=f"基准账号{i}",
                          handle=f"bench-{i}", status="active", opened_on=date(2026, 1, 5),
                          staff=[])
        db.session.add(account)
        accounts.append(account)
    db.session.flush()
    made = []
    for i, account in enumerate(accounts):
        if account.platform == "wechat":
            creds = {"app_id": f"wxbench{i:010d}", "app_secret": f"secret{i}"}
            standin_call(url, "/_standin/wechat/apps", {"appid": creds["app_id"],
                                                         "secret": creds["app_secret"]})
            seeds += [{"platform": "wechat", "appid": creds["app_id"], "kind": "publish",
                       "title": f"发布{i}-", "at": now - 2 * DAY, "count": 4},
                      {"platform": "wechat", "appid": creds["app_id"], "kind": "mass",
                       "title": f"群发{i}", "at": now - DAY}]
        else:
            creds = {"access_token": f"2.00bench{i}"}
            standin_call(url, "/_standin/weibo/tokens", {"access_token": creds["access_token"],
                                                          "uid": 8100000000 + i})
            seeds.append({"platform": "weibo", "access_token": creds["access_token"],
                          "text": f"微博{i}-", "at": now - DAY, "count": POSTS_PER_ACCOUNT})
        db.session.add(AccountCredential(account_id=account.id, ciphertext=encrypt(creds)))
        made.append((account.id, account.platform, creds))
    for start in range(0, len(seeds), 500):
        standin_call(url, "/_standin/seed", {"posts": seeds[start:start + 500]})
    db.session.commit()
    return made


def baseline(accounts, config) -> int:
    """The same listing calls through the same adapters; nothing recorded."""
    from datetime import timedelta

    from adapters import get_adapter
    from govmedia.types import today_shanghai

    days = int(config["ACTIVITY_SYNC_DATACUBE_DAYS"])
    yesterday = today_shanghai() - timedelta(days=1)
    found = 0
    for _account_id, platform, creds in accounts:
        adapter = get_adapter(platform, creds, config)
        if platform == "wechat":
            found += len(adapter.list_published(0, 20)[0])
            for back in range(days):
                found += len(adapter.mass_sent_on(yesterday - timedelta(days=back)))
        else:
            found += len(adapter.user_timeline(None, 1, 100))
    return found


def forget_sync() -> None:
    """Back to before the sync (untimed): no posts, no cursors."""
    from sqlalchemy import text

    from govmedia.extensions import db

    db.session.execute(text("TRUNCATE activity_cursors, posts, supervision_gaps, "
                            "supervision_unit_days, supervision_day_totals, post_evidence"))
    db.session.execute(text("UPDATE accounts SET last_post_at = NULL, first_post_on = NULL"))
    db.session.commit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # Stopped with SIGTERM, it still stops its stand-in, Redis and PostgreSQL (finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    from flask_migrate import upgrade
    from services import bench_database, free_port, start_redis
    from sqlalchemy import text

    from govmedia import create_app
    from govmedia.extensions import db
    from registry.activity.sync import due_accounts, sync_accounts

    tmp = Path(tempfile.mkdtemp(prefix="activity-bench-"))
    database_url, pg = bench_database(tmp / "pg")
    redis = start_redis(tmp / "redis")
    port = free_port()
    standin = subprocess.Popen([sys.executable, "-m", "standins", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    standin.stdout.readline()
    url = f"http://127.0.0.1:{port}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis.url,
                      "SECRET_KEY": "bench-secret", "INSTANCE_PATH": str(tmp / "instance"),
                      "WECHAT_API_BASE_URL": url, "WEIBO_API_BASE_URL": url,
                      "ADAPTER_TIMEOUT": 30.0})
    results = []
    try:
        with app.app_context():
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
            upgrade(revision="heads")
            started = time.perf_counter()
            accounts = setup_province(args.accounts, url)
            print(f"{len(accounts)} accounts set up in {time.perf_counter() - started:.0f} s",
                  flush=True)
            baseline(accounts, app.config)   # warm-up: every WeChat token fetched once
            for round_no in range(1, args.rounds + 1):
                started = time.perf_counter()
                listed = baseline(accounts, app.config)
                base = time.perf_counter() - started
                forget_sync()
                started = time.perf_counter()
                totals = sync_accounts(due_accounts())
                ours = time.perf_counter() - started
                results.append((round_no, listed, base, totals["posts"], ours, totals))
                print(f"round {round_no}: baseline {listed / base:.0f} posts/s, sync "
                      f"{totals['posts'] / ours:.0f} posts/s, ratio {base / ours:.0%} "
                      f"({dict(totals)})", flush=True)
        print(f"\n{'round':>5} {'accounts':>8} {'posts':>7} {'baseline/s':>11} {'sync/s':>8}"
              f" {'ratio':>6}")
        for round_no, listed, base, posts, ours, _totals in results:
            print(f"{round_no:5d} {len(accounts):8d} {posts:7d} {listed / base:11.0f}"
                  f" {posts / ours:8.0f} {base / ours:6.0%}")
        ratios = sorted(r[2] / r[4] for r in results)
        print(f"median ratio: {statistics.median(ratios):.0%}")
    finally:
        standin.terminate()
        redis.stop()
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
