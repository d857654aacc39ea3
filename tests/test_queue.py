"""The queue foundation: RQ on a real redis-server with a real `flask --app wsgi worker`,
and the embedded queue used when REDIS_URL is unset."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from govmedia.extensions import db
from govmedia.queue import enqueue
from registry.models import Account, ImportJob

ROOT = Path(__file__).resolve().parent.parent


def _inventory_job(unit_name: str, rows: int, created_by_id: int) -> ImportJob:
    lines = ["unit_name,platform,name,handle,opened_on,filed_on,filing_reference"]
    platforms = ["wechat", "weibo", "douyin", "kuaishou", "toutiao"]
    for i in range(rows):
        lines.append(f"{unit_name},{platforms[i]},示范账号{i},handle-{i},2026-03-0{i + 1},"
                     f"2026-03-1{i},REF-{i}")
    job = ImportJob(filename="inventory.csv", content="\n".join(lines).encode("utf-8"),
                    status="queued", created_by_id=created_by_id, options={})
    db.session.add(job)
    db.session.commit()
    return job


@pytest.mark.redis
def test_rq_worker_process_runs_the_job_after_commit(world, database_url, redis_service):
    from redis import Redis
    from rq import Queue

    admin_id = world.admin.get("/api/v1/users").get_json()["items"][0]["id"]
    job = _inventory_job(world.unit_a["name"], 5, admin_id)
    from flask import current_app

    current_app.config["REDIS_URL"] = redis_service.url
    current_app.config["QUEUE_EAGER"] = False
    rq_job = enqueue("registry.importer.run_import_job", job.id, queue="imports")
    assert rq_job is not None and rq_job.meta["path"] == "registry.importer.run_import_job"
    assert Queue("imports", connection=Redis.from_url(redis_service.url)).count == 1
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_service.url,
               SECRET_KEY="test-secret")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    db.session.expire_all()
    done = db.session.get(ImportJob, job.id)
    assert done.status == "done", (done.status, done.errors, done.message, result.stderr[-2000:])
    assert done.created_count == 5 and done.processed_rows == 5
    assert db.session.scalar(select(func.count()).select_from(Account)) == 5
    assert Queue("imports", connection=Redis.from_url(redis_service.url)).count == 0


def test_worker_refuses_without_redis(app):
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL" in result.output


def test_embedded_queue_runs_jobs_in_a_background_thread(world, app):
    admin_id = world.admin.get("/api/v1/users").get_json()["items"][0]["id"]
    job = _inventory_job(world.unit_a["name"], 3, admin_id)
    app.config["QUEUE_EAGER"] = False
    app.config["REDIS_URL"] = None
    assert enqueue("registry.importer.run_import_job", job.id, queue="imports") is None
    app.extensions["govmedia_embedded_queue"].join()
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "done"
    assert db.session.scalar(select(func.count()).select_from(Account)) == 3


def test_unknown_queue_is_a_programming_error(app):
    with pytest.raises(ValueError):
        enqueue("registry.importer.run_import_job", 1, queue="nope")


@pytest.mark.redis
def test_periodic_slot_fires_once_across_workers(app, redis_service):
    from datetime import datetime, timezone

    from redis import Redis
    from rq import Queue

    from govmedia.queue import register_periodic, tick

    app.config.update(REDIS_URL=redis_service.url, QUEUE_EAGER=False)
    Redis.from_url(redis_service.url).flushdb()
    app.extensions["govmedia_periodic"] = {}  # only this test's jobs, not the product's
    register_periodic(app, "daily_test", "govmedia.audit.verify", daily_at="07:00")
    register_periodic(app, "sweep_test", "govmedia.audit.verify", every_seconds=60)
    before_seven = datetime(2026, 11, 22, 22, 30, tzinfo=timezone.utc)   # 06:30 in Beijing
    assert tick(app, before_seven) == ["sweep_test"]
    after_seven = datetime(2026, 11, 22, 23, 5, tzinfo=timezone.utc)     # 07:05 in Beijing
    # Two workers ticking at the same moment: each slot is claimed once.
    fired = tick(app, after_seven) + tick(app, after_seven)
    assert sorted(fired) == ["daily_test", "sweep_test"]
    later_same_day = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)   # 17:00 in Beijing
    assert tick(app, later_same_day) == ["sweep_test"]
    assert Queue("default", connection=Redis.from_url(redis_service.url)).count == 4


def test_periodic_needs_one_schedule(app):
    from govmedia.queue import register_periodic

    with pytest.raises(ValueError):
        register_periodic(app, "x", "govmedia.audit.verify")
