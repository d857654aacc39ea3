"""Fan-out, job by job (the test client's burst worker runs each request's jobs): the real
adapters against the stand-in platforms served on loopback, every delivery state transition,
retry, fix and withdrawal (撤稿)."""
import base64
import io
from datetime import timedelta

import pytest
import requests
from conftest import PASSWORD, account_body, make_user
from flask import current_app
from PIL import Image
from sqlalchemy import func, select, update

from standins import DEFAULT_WECHAT_APPS, DEFAULT_WEIBO_TOKENS, serve_in_thread
from adapters.wechat import clear_local_tokens
from govmedia import audit
from govmedia.extensions import db
from govmedia.models import AuditEntry
from govmedia.types import utcnow
from govmedia.worker import run_burst
from publisher.fanout.claim import claim
from publisher.fanout.sweep import sweep as sweep_job
from publisher.models import Article, Delivery
from registry.models import AccountCredential, Post

APP_ID, APP_SECRET = next(iter(DEFAULT_WECHAT_APPS.items()))
WEIBO_TOKEN = next(iter(DEFAULT_WEIBO_TOKENS))


def sweep(**kwargs) -> dict:
    """A sweep, then a worker runs what it enqueued."""
    result = sweep_job(**kwargs)
    run_burst(current_app._get_current_object())
    return result


def png_base64(size=(40, 30)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 90, 200)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="session")
def standin():
    server, url = serve_in_thread("127.0.0.1", 0)
    yield url
    server.shutdown()


class Standin:
    def __init__(self, url):
        self.url = url

    def fault(self, **fault):
        requests.post(f"{self.url}/_standin/faults", json=fault, timeout=5).raise_for_status()

    def config(self, **values):
        requests.post(f"{self.url}/_standin/config", json=values, timeout=5).raise_for_status()

    def token(self, token, state="valid", uid=None):
        requests.post(f"{self.url}/_standin/weibo/tokens", json={
            "access_token": token, "state": state, "uid": uid}, timeout=5).raise_for_status()

    def posts(self):
        return requests.get(f"{self.url}/_standin/posts", timeout=5).json()

    def calls(self, path):
        return requests.get(f"{self.url}/_standin/calls", timeout=5).json()["calls"].get(path, 0)


def page_login(app, username):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def platform_config(url: str) -> dict:
    return {"WECHAT_API_BASE_URL": url, "WEIBO_API_BASE_URL": url, "ADAPTER_TIMEOUT": 1.0,
            "WECHAT_POLL_INTERVAL": 0.05, "WECHAT_POLL_ATTEMPTS": 40,
            "DELIVERY_BACKOFF_SECONDS": "30", "DELIVERY_MAX_ATTEMPTS": 3}


def build_newsroom(world, login, app_config, url):
    """Unit A: a WeChat and a Weibo account with the stand-in's credentials, and its staff."""
    app_config.update(platform_config(url))
    a = world.unit_a["id"]
    wechat = world.sponsor_a.post("/api/v1/accounts", account_body(a)).get_json()
    weibo = world.sponsor_a.post("/api/v1/accounts", account_body(
        a, platform="weibo", handle="7000000001")).get_json()
    assert world.sponsor_a.put(f"/api/v1/accounts/{wechat['id']}/credentials",
                               {"app_id": APP_ID, "app_secret": APP_SECRET}).status_code == 204
    assert world.sponsor_a.put(f"/api/v1/accounts/{weibo['id']}/credentials",
                               {"access_token": WEIBO_TOKEN}).status_code == 204
    for name, roles in [("editor", ["editor"]), ("reviewer", ["reviewer"]),
                        ("signer", ["signer"])]:
        make_user(name, roles, a)

    class Newsroom:
        wechat_id, weibo_id = wechat["id"], weibo["id"]
        editor, reviewer, signer = login("editor"), login("reviewer"), login("signer")
        sponsor = world.sponsor_a
        supervisor = world.supervisor

    return Newsroom


@pytest.fixture
def newsroom(app, world, login, standin):
    requests.post(f"{standin}/_standin/reset", timeout=5).raise_for_status()
    clear_local_tokens()
    room = build_newsroom(world, login, app.config, standin)
    room.platforms = Standin(standin)
    # A WeChat publish settles at the first look, so one burst sends it; a publish still
    # running (follow-ups through RQ's scheduler) is tests/test_fanout_followup.py.
    room.platforms.config(wechat_publish_polls=0)
    return room


def reviewed(room, title, targets, body_html="<p>会议要求压实安全生产责任。</p>", **extra):
    """Drafted, submitted and reviewed: waiting for the sign-off. Returns its id."""
    body = {"title": title, "body_html": body_html,
            "source_url": "https://www.example.gov.cn/news/" + str(abs(hash(title)) % 10**8),
            "cover_image_base64": png_base64(), "target_account_ids": targets}
    body.update(extra)
    created = room.editor.post("/api/v1/articles", body)
    assert created.status_code == 201, created.get_json()
    article_id = created.get_json()["id"]
    assert room.editor.post(f"/api/v1/articles/{article_id}/submit", {}).status_code == 200
    assert room.reviewer.post(f"/api/v1/articles/{article_id}/review",
                              {"decision": "approve", "comment": ""}).status_code == 200
    return article_id


def publish(room, title="县政府召开安全生产工作会议", targets=None, **extra):
    """Draft, submit, review and sign off; returns the signed-off article's JSON."""
    article_id = reviewed(room, title, targets or [room.wechat_id, room.weibo_id], **extra)
    signed = room.signer.post(f"/api/v1/articles/{article_id}/review",
                              {"decision": "approve", "comment": "同意"})
    assert signed.status_code == 200, signed.get_json()
    return signed.get_json()


def article(room, article_id):
    return room.editor.get(f"/api/v1/articles/{article_id}").get_json()


def by_platform(body):
    return {d["platform"]: d for d in body["deliveries"]}


def make_due():
    """Let the backoff pass without waiting: every retry is due now. Its job still waits in
    RQ's scheduler for the real time, so the rows are marked not enqueued: the sweep sends
    them, as it would a job the scheduler lost."""
    db.session.execute(update(Delivery).where(Delivery.next_attempt_at.is_not(None))
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1),
                               enqueued_at=None))
    db.session.commit()


def test_sign_off_sends_to_every_target_once_and_records_posts(newsroom):
    body = publish(newsroom)
    shown = article(newsroom, body["id"])
    assert shown["status"] == "published"
    wechat, weibo = by_platform(shown)["wechat"], by_platform(shown)["weibo"]
    for d in (wechat, weibo):
        assert d["status"] == "sent" and d["attempts"] == 1 and d["error"] is None
        assert d["post_id"] and d["post_url"].startswith(newsroom.platforms.url)
    posts = newsroom.platforms.posts()
    assert posts["wechat"]["count"] == 1 and posts["weibo"]["count"] == 1
    assert posts["wechat"]["items"][0]["title"] == body["title"]
    assert posts["weibo"]["items"][0]["text"].endswith(body["source_url"])
    # Each sent delivery is an update of its account (rule 5, the 10-day rule).
    rows = db.session.execute(select(Post.account_id, Post.source, Post.url)).all()
    assert sorted(rows) == sorted([(newsroom.wechat_id, "publisher", wechat["post_url"]),
                                   (newsroom.weibo_id, "publisher", weibo["post_url"])])
    account = newsroom.sponsor.get(f"/api/v1/accounts/{newsroom.wechat_id}").get_json()
    assert account["last_post_at"] is not None
    # The WeChat steps' ids were saved on the row, in order, and the sweep finds no work.
    row = db.session.get(Delivery, wechat["id"])
    assert {"cover_media_id", "draft_media_id", "publish_id", "article_id"} <= set(row.platform_ids)
    assert row.lease_until is None and row.claim_token is None
    # The article's audit entry (every delivery's outcome) is owed, then written by the sweep.
    assert db.session.get(Article, body["id"]).delivery_audit_pending is True
    swept = sweep()
    assert swept["enqueued"] == 0 and swept["audited"] == 1
    db.session.expire_all()
    assert db.session.get(Article, body["id"]).delivery_audit_pending is False
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "article.delivered")).one()
    assert entry.object_id == body["id"] and entry.after["status"] == "published"
    assert sorted((d["platform"], d["status"], d["post_id"]) for d in entry.after["deliveries"]) \
        == sorted([("wechat", "sent", wechat["post_id"]), ("weibo", "sent", weibo["post_id"])])
    assert sweep()["audited"] == 0 and audit.verify().ok
    assert newsroom.platforms.posts()["wechat"]["count"] == 1


def test_a_retryable_error_is_retried_with_backoff_and_resumes(newsroom):
    newsroom.platforms.fault(path="/cgi-bin/draft/add", errcode=-1, times=1)
    body = publish(newsroom)
    wechat = by_platform(article(newsroom, body["id"]))["wechat"]
    assert wechat["status"] == "retrying" and "繁忙" in wechat["error"]
    assert wechat["next_attempt_at"] is not None
    assert article(newsroom, body["id"])["status"] == "publishing"
    uploads = newsroom.platforms.calls("/cgi-bin/material/add_material")
    make_due()
    assert wechat["id"] in sweep()["deliver"]
    wechat = by_platform(article(newsroom, body["id"]))["wechat"]
    assert wechat["status"] == "sent" and wechat["attempts"] == 2 and wechat["error"] is None
    # Resumed: the cover uploaded before the failure was not uploaded again.
    assert newsroom.platforms.calls("/cgi-bin/material/add_material") == uploads
    assert newsroom.platforms.posts()["wechat"]["count"] == 1
    assert article(newsroom, body["id"])["status"] == "published"


def test_retries_stop_after_the_configured_attempts(newsroom, app):
    app.config["DELIVERY_MAX_ATTEMPTS"] = 2
    newsroom.platforms.fault(path="/2/statuses/share.json", http_status=503, times=5)
    body = publish(newsroom, targets=[newsroom.weibo_id])
    make_due()
    sweep()
    weibo = by_platform(article(newsroom, body["id"]))["weibo"]
    assert weibo["status"] == "failed" and weibo["attempts"] == 2
    assert weibo["error"].startswith("重试 2 次仍未成功")
    assert article(newsroom, body["id"])["status"] == "failed"
    assert newsroom.platforms.posts()["weibo"]["count"] == 0


def test_weibo_token_error_fails_and_marks_the_account_until_authorized_again(newsroom, app):
    newsroom.platforms.token(WEIBO_TOKEN, state="expired", uid=7000000001)
    body = publish(newsroom)
    shown = article(newsroom, body["id"])
    weibo = by_platform(shown)["weibo"]
    assert shown["status"] == "partially_published"
    assert weibo["status"] == "failed" and "重新授权" in weibo["error"] and "21327" in weibo["error"]
    assert db.session.get(AccountCredential, newsroom.weibo_id).token_expired is True
    page = page_login(app, "sponsor_a").get(f"/accounts/{newsroom.weibo_id}")
    assert "授权" in page.get_data(as_text=True)
    # Never shown: not on the page, not in the API.
    assert WEIBO_TOKEN not in page.get_data(as_text=True)
    # The sponsor authorizes again; a retry sends the same revision.
    newsroom.platforms.token(WEIBO_TOKEN, state="valid", uid=7000000001)
    assert newsroom.sponsor.put(f"/api/v1/accounts/{newsroom.weibo_id}/credentials",
                                {"access_token": WEIBO_TOKEN}).status_code == 204
    assert db.session.get(AccountCredential, newsroom.weibo_id).token_expired is False
    retried = newsroom.editor.post(f"/api/v1/deliveries/{weibo['id']}/retry")
    assert retried.status_code == 202, retried.get_json()
    shown = article(newsroom, body["id"])
    assert by_platform(shown)["weibo"]["status"] == "sent"
    assert shown["status"] == "published"
    assert newsroom.platforms.posts()["weibo"]["count"] == 1


def test_wechat_token_rejected_once_is_refreshed_inside_the_adapter(newsroom):
    publish(newsroom, targets=[newsroom.wechat_id], title="第一篇")
    newsroom.platforms.fault(revoke_tokens=True)
    body = publish(newsroom, targets=[newsroom.wechat_id], title="第二篇")
    assert by_platform(article(newsroom, body["id"]))["wechat"]["status"] == "sent"
    assert newsroom.platforms.posts()["wechat"]["count"] == 2


def test_a_persistent_wechat_token_error_fails_after_one_refresh(newsroom):
    newsroom.platforms.fault(path="/cgi-bin/material/*", errcode=40001, times=100)
    body = publish(newsroom, targets=[newsroom.wechat_id])
    wechat = by_platform(article(newsroom, body["id"]))["wechat"]
    assert wechat["status"] == "failed" and "AppSecret" in wechat["error"]


def test_a_permanent_error_fails_with_the_platforms_message_in_chinese(newsroom):
    newsroom.platforms.fault(path="/cgi-bin/draft/add", errcode=48001, times=1)
    body = publish(newsroom)
    shown = article(newsroom, body["id"])
    assert by_platform(shown)["wechat"]["status"] == "failed"
    assert "api功能未授权" in by_platform(shown)["wechat"]["error"]
    assert by_platform(shown)["weibo"]["status"] == "sent"
    assert shown["status"] == "partially_published"
    assert sweep()["deliver"] == []  # a failure is final until someone retries


@pytest.mark.parametrize("platform,path", [("weibo", "/2/statuses/share.json"),
                                           ("wechat", "/cgi-bin/freepublish/submit")])
def test_a_timeout_after_sending_is_unconfirmed_and_asked_before_sending_again(
        newsroom, platform, path):
    newsroom.platforms.fault(path=path, after_commit_delay=1.6, times=1)
    target = newsroom.weibo_id if platform == "weibo" else newsroom.wechat_id
    body = publish(newsroom, targets=[target])
    row = by_platform(article(newsroom, body["id"]))[platform]
    assert row["status"] == "unconfirmed" and "核实" in row["error"]
    # Asked no sooner than the adapter's timeout.
    assert row["next_attempt_at"] is not None
    db.session.expire_all()
    wait = db.session.get(Delivery, row["id"]).next_attempt_at - utcnow()
    assert wait > timedelta(seconds=0.5)
    make_due()
    sweep()
    row = by_platform(article(newsroom, body["id"]))[platform]
    assert row["status"] == "sent" and row["attempts"] == 2
    assert newsroom.platforms.posts()[platform]["count"] == 1
    assert newsroom.platforms.calls(path) == 1  # found, never sent again


def test_a_job_that_died_mid_call_is_recovered_by_the_sweep_without_a_second_post(newsroom,
                                                                                  app):
    body = publish(newsroom, targets=[newsroom.weibo_id])
    assert article(newsroom, body["id"])["deliveries"][0]["status"] == "sent"
    # Now play a job that claimed a second article's delivery, sent it and died.
    app.config["TEST_RUN_JOBS"] = False  # the sign-off's job waits: nothing runs
    body = publish(newsroom, targets=[newsroom.weibo_id], title="第二篇稿件")
    row_id = by_platform(body)["weibo"]["id"]
    work = claim(row_id, withdrawing=False)
    assert work is not None and claim(row_id, withdrawing=False) is None
    from adapters import get_adapter

    get_adapter("weibo", work.credentials, app.config).publish(work.content, {}, lambda s: None)
    assert db.session.get(Delivery, row_id).status == "sending"
    # A sweep while the lease runs does nothing; after it lapses the row is resumed.
    app.config["TEST_RUN_JOBS"] = True
    assert row_id not in sweep()["deliver"]
    db.session.execute(update(Delivery).where(Delivery.id == row_id)
                       .values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert row_id in sweep()["deliver"]
    db.session.expire_all()
    row = db.session.get(Delivery, row_id)
    assert row.status == "sent" and row.attempts == 2
    texts = [p["text"] for p in newsroom.platforms.posts()["weibo"]["items"]]
    assert len(texts) == 2 and len(set(texts)) == 2  # one post per article, none twice


def test_retry_endpoint_answers_409_unless_failed_and_unchanged(newsroom, login):
    newsroom.platforms.fault(path="/2/statuses/share.json", error_code=20019, times=1)
    body = publish(newsroom)
    shown = article(newsroom, body["id"])
    wechat, weibo = by_platform(shown)["wechat"], by_platform(shown)["weibo"]
    assert weibo["status"] == "failed" and "重复内容" in weibo["error"]
    sent = newsroom.editor.post(f"/api/v1/deliveries/{wechat['id']}/retry")
    assert sent.status_code == 409 and sent.get_json()["error"]["code"] == "not_failed"
    assert newsroom.reviewer.post(f"/api/v1/deliveries/{weibo['id']}/retry").status_code == 403
    assert login("sponsor_b").post(f"/api/v1/deliveries/{weibo['id']}/retry").status_code == 403
    assert newsroom.editor.post("/api/v1/deliveries/999999/retry").status_code == 404
    # A fix: the article goes back to draft, through the three reviews, then only to Weibo.
    fixed = newsroom.editor.put(f"/api/v1/articles/{body['id']}", {
        "title": body["title"], "body_html": body["body_html"], "source_url": body["source_url"],
        "weibo_text": "修改后的微博文字", "target_account_ids": body["target_account_ids"]})
    assert fixed.status_code == 200 and fixed.get_json()["status"] == "draft"
    stale = newsroom.editor.post(f"/api/v1/deliveries/{weibo['id']}/retry")
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "revision_changed"
    assert newsroom.editor.post(f"/api/v1/articles/{body['id']}/submit", {}).status_code == 200
    assert newsroom.reviewer.post(f"/api/v1/articles/{body['id']}/review",
                                  {"decision": "approve"}).status_code == 200
    signed = newsroom.signer.post(f"/api/v1/articles/{body['id']}/review",
                                  {"decision": "approve"})
    assert signed.status_code == 200
    shown = article(newsroom, body["id"])
    assert shown["status"] == "published"
    revisions = sorted((d["platform"], d["revision"], d["status"]) for d in shown["deliveries"])
    assert revisions == [("wechat", 1, "sent"), ("weibo", 1, "failed"), ("weibo", 2, "sent")]
    posts = newsroom.platforms.posts()
    assert posts["wechat"]["count"] == 1 and posts["weibo"]["count"] == 1
    assert posts["weibo"]["items"][0]["text"].startswith("修改后的微博文字")


def test_withdrawal_removes_every_post_and_every_delivery_ends_withdrawn(newsroom):
    body = publish(newsroom)
    assert newsroom.platforms.posts()["wechat"]["live"] == 1
    path = f"/api/v1/articles/{body['id']}/withdraw"
    assert newsroom.reviewer.post(path, {"reason": "数据有误"}).status_code == 403
    missing = newsroom.editor.post(path, {})
    assert missing.status_code == 400 and "reason" in missing.get_json()["error"]["fields"]
    answer = newsroom.signer.post(path, {"reason": "数据有误，撤稿更正"})
    assert answer.status_code == 202, answer.get_json()
    shown = article(newsroom, body["id"])
    assert [d["status"] for d in shown["deliveries"]] == ["withdrawn", "withdrawn"]
    assert shown["withdrawal"]["reason"] == "数据有误，撤稿更正" and shown["withdrawal"]["complete"]
    posts = newsroom.platforms.posts()
    assert posts["wechat"]["live"] == 0 and posts["weibo"]["live"] == 0
    again = newsroom.editor.post(path, {"reason": "再次"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_withdrawn"
    retry = newsroom.editor.post(f"/api/v1/deliveries/{shown['deliveries'][0]['id']}/retry")
    assert retry.status_code == 409
    draft = newsroom.editor.post("/api/v1/articles", {
        "title": "草稿", "body_html": "<p>x</p>", "target_account_ids": [newsroom.wechat_id]})
    nothing = newsroom.editor.post(f"/api/v1/articles/{draft.get_json()['id']}/withdraw",
                                   {"reason": "x"})
    assert nothing.status_code == 409 and nothing.get_json()["error"]["code"] == "invalid_transition"


def test_a_withdrawal_the_platform_cannot_do_yet_is_retried(newsroom):
    body = publish(newsroom, targets=[newsroom.weibo_id])
    newsroom.platforms.fault(path="/2/statuses/destroy.json", http_status=502, times=1)
    assert newsroom.editor.post(f"/api/v1/articles/{body['id']}/withdraw",
                                {"reason": "撤回"}).status_code == 202
    row = article(newsroom, body["id"])["deliveries"][0]
    assert row["status"] == "sent" and row["withdrawal"] == "pending" and "撤稿" in row["error"]
    make_due()
    assert row["id"] in sweep()["withdraw"]
    row = article(newsroom, body["id"])["deliveries"][0]
    assert row["status"] == "withdrawn" and row["withdrawal"] is None
    assert newsroom.platforms.posts()["weibo"]["live"] == 0


def test_a_scheduled_article_waits_for_its_time(newsroom):
    at = (utcnow() + timedelta(hours=2)).isoformat()
    body = publish(newsroom, publish_at=at)
    assert body["status"] == "approved"
    assert [d["status"] for d in article(newsroom, body["id"])["deliveries"]] == ["queued"] * 2
    assert sweep()["deliver"] == []
    assert newsroom.platforms.posts()["wechat"]["count"] == 0
    make_due()  # two hours later
    assert len(sweep()["deliver"]) == 2
    assert article(newsroom, body["id"])["status"] == "published"


def test_queue_page_for_supervisors_and_the_article_page_shows_deliveries(newsroom, app):
    body = publish(newsroom)
    supervisor = page_login(app, "supervisor")
    page = supervisor.get("/publishing/queue")
    assert page.status_code == 200
    assert 'id="count-sent"' in page.get_data(as_text=True)
    editor = page_login(app, "editor")
    assert editor.get("/publishing/queue").status_code == 403
    html = editor.get(f"/articles/{body['id']}").get_data(as_text=True)
    assert 'id="delivery-table"' in html and newsroom.platforms.url + "/s/" in html
    assert db.session.scalar(select(func.count()).select_from(Article)) == 1


def test_the_others_waiting_look_is_a_probe_of_the_partial_index(app):
    """Each sent delivery asks whether another of its article still waits for a job. With the
    statuses written into the statement the plan is a probe of ix_deliveries_article_waiting
    (bound statuses could not be matched to the index's predicate by a generic plan), not a
    walk past the article's sent rows: 500 targets made that 250 rows a delivery."""
    from sqlalchemy.dialects import postgresql

    from publisher.fanout.settle import _statements
    from publisher.states import SENDABLE

    index = next(i for i in Delivery.__table__.indexes
                 if i.name == "ix_deliveries_article_waiting")
    predicate = str(index.dialect_options["postgresql"]["where"])
    assert all(f"'{status}'" in predicate for status in SENDABLE), predicate
    sql = str(_statements()["sent"].compile(dialect=postgresql.dialect()))
    assert all(f"'{status}'" in sql for status in SENDABLE), sql
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    connection.exec_driver_sql("PREPARE sent_look AS " + _numbered(sql))
    types = connection.exec_driver_sql(
        "SELECT parameter_types::text FROM pg_prepared_statements WHERE name = 'sent_look'"
    ).scalar()
    n = types.count(",") + 1
    plan = "\n".join(r[0] for r in connection.exec_driver_sql(
        f"EXPLAIN EXECUTE sent_look({', '.join(['NULL'] * n)})"))
    db.session.rollback()
    assert "ix_deliveries_article_waiting" in plan, plan


def _numbered(sql: str) -> str:
    """psycopg's %(name)s placeholders as PREPARE's $1, $2 … (one number per name)."""
    import re

    names: dict[str, int] = {}
    return re.sub(r"%\((\w+)\)s", lambda m: f"${names.setdefault(m.group(1), len(names) + 1)}",
                  sql)
