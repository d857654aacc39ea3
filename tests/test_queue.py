"""The queue: RQ on a real redis-server, jobs named by function and sent after commit, periodic
slots claimed once, and a real `flask --app wsgi worker` process running an import job."""
import contextvars
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from flask import current_app

from govmedia import create_app
from govmedia.audit import verify
from govmedia.extensions import db
from govmedia.periodic import register_periodic, tick
from govmedia.queue import enqueue, job
from govmedia.worker import run_burst
from registry.importer import run_import_job
from registry.models import Account, ImportJob

ROOT = Path(__file__).resolve().parent.parent


def _inventory_job(unit_name: str, rows: int, created_by_id: int) -> ImportJob:
    lines = ["unit_name,platform,name,handle,opened_on,filed_on,filing_reference"]
    platforms = ["wechat", "weibo", "douyin", "kuaishou", "toutiao"]
    for i in range(rows):
        lines.append(f"{unit_name},{platforms[i]},示范账号{i},handle-{i},2026-03-0{i + 1},"
                     f"2026-03-1{i},REF-{i}")
    job_row = ImportJob(filename="inventory.csv", content="\n".join(lines).encode("utf-8"),
                        status="queued", created_by_id=created_by_id, options={})
    db.session.add(job_row)
    db.session.commit()
    return job_row


def _admin_id(world) -> int:
    return world.admin.get("/api/v1/users").get_json()["items"][0]["id"]


def _waiting(redis_service, name="imports") -> int:
    return Queue(name, connection=Redis.from_url(redis_service.url)).count


@job("default")
def _not_a_real_job():  # a job that is only ever enqueued, never run
    return None


@job("default")
def _secret_of_the_running_app():
    return current_app.config["SECRET_KEY"]


def test_each_burst_runs_its_jobs_in_the_app_it_was_given(app, database_url, redis_service):
    """A test process bursts jobs for several apps (databases) in turn: each burst's jobs run
    in the app given to it, not in the first one a burst ever saw."""
    from conftest import base_config

    answers = []
    for secret in ("first-app", "second-app"):
        other = create_app(base_config(database_url, redis_service.url) | {"SECRET_KEY": secret})
        with other.app_context():
            rq_job = enqueue(_secret_of_the_running_app)
        # Outside every app context, as a worker process runs its jobs.
        assert contextvars.Context().run(run_burst, other) == 1
        answers.append(rq_job.return_value(refresh=True))
    assert answers == ["first-app", "second-app"]


def test_a_real_worker_process_runs_an_import_job(world, database_url, redis_service):
    job_id = _inventory_job(world.unit_a["name"], 5, _admin_id(world)).id
    db.session.commit()
    rq_job = enqueue(run_import_job, job_id)       # outside a transaction: sent at once
    assert rq_job is not None and rq_job.meta["function"] == "run_import_job"
    assert _waiting(redis_service) == 1
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_service.url,
               SECRET_KEY="test-secret")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    db.session.expire_all()
    done = db.session.get(ImportJob, job_id)
    assert done.status == "done", (done.status, done.errors, done.message, result.stderr[-2000:])
    assert done.created_count == 5 and done.processed_rows == 5
    assert db.session.scalar(select(func.count()).select_from(Account)) == 5
    assert _waiting(redis_service) == 0


def test_a_job_enqueued_in_a_transaction_is_sent_when_it_commits(world, redis_service):
    job_row = _inventory_job(world.unit_a["name"], 1, _admin_id(world))
    db.session.get(ImportJob, job_row.id)          # the session is in a transaction now
    assert db.session().in_transaction()
    assert enqueue(run_import_job, job_row.id) is None
    assert _waiting(redis_service) == 0            # held: a worker would not see the row yet
    db.session.commit()
    assert _waiting(redis_service) == 1


def test_a_job_enqueued_in_a_transaction_that_rolls_back_is_never_sent(world, redis_service,
                                                                       run_jobs):
    job_row = _inventory_job(world.unit_a["name"], 1, _admin_id(world))
    job_row.status = "queued"                       # touch it: a transaction is open
    assert enqueue(run_import_job, job_row.id) is None
    db.session.rollback()
    assert _waiting(redis_service) == 0
    db.session.commit()                             # a later commit does not send it either
    assert _waiting(redis_service) == 0
    run_jobs()
    assert db.session.get(ImportJob, job_row.id).status == "queued"


def test_only_jobs_can_be_enqueued_and_only_to_known_queues(app):
    with pytest.raises(TypeError):
        enqueue(verify)                             # a plain function, not a @job
    with pytest.raises(ValueError):
        enqueue(_not_a_real_job, queue="nope")
    with pytest.raises(ValueError):
        job("nope")


def test_periodic_slot_fires_once_across_workers(app, redis_service):
    Redis.from_url(redis_service.url).flushdb()
    app.extensions["govmedia_periodic"] = {}  # only this test's jobs, not the product's
    register_periodic(app, "daily_test", _not_a_real_job, daily_at="07:00")
    register_periodic(app, "sweep_test", _not_a_real_job, every_seconds=60)
    before_seven = datetime(2026, 11, 22, 22, 30, tzinfo=timezone.utc)   # 06:30 in Beijing
    assert tick(app, before_seven) == ["sweep_test"]
    after_seven = datetime(2026, 11, 22, 23, 5, tzinfo=timezone.utc)     # 07:05 in Beijing
    # Two workers ticking at the same moment: each slot is claimed once.
    fired = tick(app, after_seven) + tick(app, after_seven)
    assert sorted(fired) == ["daily_test", "sweep_test"]
    later_same_day = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)   # 17:00 in Beijing
    assert tick(app, later_same_day) == ["sweep_test"]
    assert _waiting(redis_service, "default") == 4


def test_periodic_needs_one_schedule_and_a_job(app):
    with pytest.raises(ValueError):
        register_periodic(app, "x", _not_a_real_job)
    with pytest.raises(TypeError):
        register_periodic(app, "x", verify, every_seconds=60)
