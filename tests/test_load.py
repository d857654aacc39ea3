"""Load, bounded for CI: 50 concurrent users (threads, each with its own requests.Session) on
the pages and the API of a real gunicorn node while a real `flask --app wsgi worker` fans out
deliveries to the stand-in platforms, which run in their own process. The same run at full
size (1,000 deliveries, longer) is `bench/load_run.py`; its docstring describes the users.

CI size: 40 deliveries pushed by source systems before the load (20 articles × 2 targets)
plus those of the articles the newsroom users sign off during it; users run at least 15 s and
until the pushed deliveries are settled (at most 60 s). Asserts: no 5xx and no status other
than the expected one on any request, every delivery sent, exactly one post per delivery at
the stand-in (no delivery lost, none doubled). Prints the latency percentiles per group
(`pytest -s` shows them).
"""
import sys
from pathlib import Path

import pytest
from cluster import fresh_database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.load_run import GROUPS, run_load, summary

pytestmark = pytest.mark.redis


def test_fifty_users_on_pages_and_api_while_a_worker_fans_out(postgres_url, redis_service,
                                                              tmp_path):
    from redis import Redis

    redis_url = redis_service.url.rsplit("/", 1)[0] + "/6"  # apart from the other redis tests
    Redis.from_url(redis_url).flushdb()
    database_url = fresh_database(postgres_url, "govmedia_load")
    try:
        result = run_load(database_url, redis_url, tmp_path, users=50, deliveries=40,
                          workers=1, web_workers=2, web_threads=4, units=5, min_seconds=15,
                          max_seconds=60, drain_seconds=45, think=0.2,
                          password_hash="pbkdf2:sha256:1000")
    finally:
        Redis.from_url(redis_url).flushdb()
    print("\n" + summary(result))

    assert result.recorder.errors == [], (result.recorder.errors[:20], result.logs)
    assert not result.stuck_users
    # Every kind of user got its work done, not just a few requests.
    assert set(result.recorder.latencies) == set(GROUPS)
    assert result.recorder.total() > 50 * 10
    assert result.fanout_seconds is not None, "the pushed deliveries did not settle under load"
    # Nothing lost, nothing doubled: the newsrooms' sign-offs added two deliveries each, all
    # sent, and the stand-in holds exactly the deliveries' posts.
    assert result.deliveries == result.pushed + 2 * result.signed_off
    assert result.signed_off > 0
    assert dict(result.statuses) == {"sent": result.deliveries}, result.logs
    assert (result.missing, result.extra, result.doubled) == ([], [], [])
    assert result.posts_match and result.posts == result.deliveries
