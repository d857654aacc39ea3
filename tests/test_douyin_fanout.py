"""Douyin through the whole product against the stand-in over HTTP: the sponsor authorises the
account in the browser, a large video goes out in parts, the post waits for the platform's
review (follow-ups through the queue), a lapsed authorisation fails cleanly and resumes after
re-authorisation, a worker killed mid-upload resumes without a second post, withdrawal."""
import os
import signal
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from conftest import account_body, make_user
from flask import current_app
from media import make_video
from sqlalchemy import select, update
from test_fanout import Standin, page_login, standin  # noqa: F401
from test_fanout_worker import Workers, wait_for

from govmedia.extensions import db
from govmedia.types import utcnow
from govmedia.worker import run_burst
from publisher.fanout.sweep import sweep
from publisher.models import Delivery
from publisher.editorial.platform_auth import refresh_douyin_tokens
from registry.models import AccountCredential, Post
from registry.supervision.models import Notification
from standins import DEFAULT_DOUYIN_APPS

CLIENT_KEY, CLIENT_SECRET = next(iter(DEFAULT_DOUYIN_APPS.items()))
PART = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def big_video(tmp_path_factory):
    """~25 MB (seven 4 MB parts)."""
    return make_video(tmp_path_factory.mktemp("dyf") / "big.mp4", seconds=18, size="1280x720")


@pytest.fixture(scope="module")
def video_200mb(tmp_path_factory):
    """The bar's 200 MB: a real MP4 padded with zeros to 200 MiB (ffprobe reads its streams and
    ignores the tail; the product hashes, stores and uploads every byte) — 200 MB to move
    without minutes of encoding."""
    path = make_video(tmp_path_factory.mktemp("dy200") / "big200.mp4", seconds=2)
    with open(path, "r+b") as fh:
        fh.truncate(200 * 1024 * 1024)
    return path


def douyin_config(url: str, video_dir) -> dict:
    return {"DOUYIN_API_BASE_URL": url, "DOUYIN_CLIENT_KEY": CLIENT_KEY,
            "DOUYIN_CLIENT_SECRET": CLIENT_SECRET, "DOUYIN_PART_BYTES": PART,
            "DOUYIN_SINGLE_UPLOAD_MAX_BYTES": PART, "DOUYIN_REVIEW_CHECK_SECONDS": 30,
            "VIDEO_DIR": str(video_dir), "ADAPTER_TIMEOUT": 5.0,
            "DELIVERY_BACKOFF_SECONDS": "30", "DELIVERY_MAX_ATTEMPTS": 3}


def authorise_in_browser(app, platforms, account_id, open_id="standin-douyin-user-1"):
    """The sponsor's browser: our page, its button, Douyin's page and button, our callback."""
    browser = page_login(app, "sponsor_a")
    shown = browser.get(f"/accounts/{account_id}/douyin/authorise")
    assert shown.status_code == 200 and "video.create" in shown.get_data(as_text=True)
    to_douyin = browser.post(f"/accounts/{account_id}/douyin/authorise")
    assert to_douyin.status_code == 302
    url = to_douyin.headers["Location"]
    assert url.startswith(platforms.url + "/platform/oauth/connect/")
    query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    assert set(query["scope"].split(",")) >= {"video.create", "video.delete", "video.data"}
    assert requests.get(url, timeout=5).status_code == 200
    approved = requests.post(f"{platforms.url}/platform/oauth/approve",
                             data={**query, "open_id": open_id}, allow_redirects=False,
                             timeout=5)
    back = urlparse(approved.headers["Location"])
    assert back.path == "/douyin/callback"
    done = browser.get(f"{back.path}?{back.query}")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/accounts/{account_id}")
    return browser


@pytest.fixture
def room(app, world, login, standin, tmp_path):  # noqa: F811
    requests.post(f"{standin}/_standin/reset", timeout=5).raise_for_status()
    platforms = Standin(standin)
    platforms.config(douyin_min_part_bytes=1024 * 1024)
    app.config.update(douyin_config(standin, tmp_path / "videos"))
    a = world.unit_a["id"]
    douyin = world.sponsor_a.post("/api/v1/accounts", account_body(
        a, platform="douyin", handle="dy-county", name="某县发布抖音号")).get_json()
    for name, roles in [("editor", ["editor"]), ("reviewer", ["reviewer"]),
                        ("signer", ["signer"])]:
        make_user(name, roles, a)
    authorise_in_browser(app, platforms, douyin["id"])

    class Room:
        douyin_id = douyin["id"]
        editor, reviewer, signer = login("editor"), login("reviewer"), login("signer")
        sponsor = world.sponsor_a

    Room.platforms = platforms
    return Room


def upload(api, path):
    with open(path, "rb") as fh:
        answer = api.client.post("/api/v1/videos?name=big.mp4", input_stream=fh,
                                 headers={**api._headers(), "Content-Type": "video/mp4",
                                          "Content-Length": str(path.stat().st_size)})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def publish_video(room, video_path, title="防汛知识短视频"):
    video = upload(room.editor, video_path)
    created = room.editor.post("/api/v1/articles", {
        "title": title, "body_html": "<p>汛期注意安全。</p>", "digest": "防汛提示",
        "video_id": video["id"], "target_account_ids": [room.douyin_id]})
    assert created.status_code == 201, created.get_json()
    article_id = created.get_json()["id"]
    assert room.editor.post(f"/api/v1/articles/{article_id}/submit", {}).status_code == 200
    assert room.reviewer.post(f"/api/v1/articles/{article_id}/review",
                              {"decision": "approve", "comment": ""}).status_code == 200
    signed = room.signer.post(f"/api/v1/articles/{article_id}/review",
                              {"decision": "approve", "comment": "同意"})
    assert signed.status_code == 200, signed.get_json()
    return article_id


def delivery(room, article_id):
    db.session.expire_all()  # the jobs wrote on connections of their own
    shown = room.editor.get(f"/api/v1/articles/{article_id}").get_json()
    return shown, shown["deliveries"][0]


def review_check_due():
    """The next review check is due now (its job waits in RQ's scheduler for real time)."""
    db.session.execute(update(Delivery).where(Delivery.next_attempt_at.is_not(None))
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1),
                               enqueued_at=None))
    db.session.commit()
    sweep()
    run_burst(current_app._get_current_object())


def test_credentials_are_stored_encrypted(room):
    row = db.session.get(AccountCredential, room.douyin_id)
    assert row is not None and not row.token_expired
    assert b"act." not in row.ciphertext and b"rft." not in row.ciphertext


def test_video_goes_out_in_parts_then_waits_for_the_platforms_review(room, big_video):
    article_id = publish_video(room, big_video)
    shown, d = delivery(room, article_id)
    assert d["status"] == "unconfirmed" and "审核中" in d["error"]
    assert shown["status"] == "publishing"
    row = db.session.get(Delivery, d["id"])
    # The follow-up is a scheduled job, DOUYIN_REVIEW_CHECK_SECONDS away, not a sleep.
    assert timedelta(seconds=25) < row.next_attempt_at - utcnow() <= timedelta(seconds=31)
    posts = room.platforms.posts()["douyin"]
    parts = -(-big_video.stat().st_size // PART)
    assert posts["count"] == 1 and posts["under_review"] == 1
    assert posts["items"][0]["parts"] == parts >= 6
    assert posts["items"][0]["size"] == big_video.stat().st_size
    assert db.session.scalar(select(Post.id).where(Post.account_id == room.douyin_id)) is None
    review_check_due()
    shown, d = delivery(room, article_id)
    assert d["status"] == "sent" and d["error"] is None, d
    assert d["post_url"] == f"{room.platforms.url}/video/{d['post_id']}"
    assert shown["status"] == "published"
    assert db.session.scalar(select(Post.url).where(Post.account_id == room.douyin_id)) \
        == d["post_url"]
    assert room.platforms.calls("/video/create/") == 1
    assert room.platforms.calls("/video/part/upload/") == parts
    # 撤稿 deletes the post.
    assert room.editor.post(f"/api/v1/articles/{article_id}/withdraw",
                            {"reason": "内容需更新"}).status_code == 202
    withdrawn = delivery(room, article_id)[1]
    assert withdrawn["status"] == "withdrawn"
    assert room.platforms.posts()["douyin"]["live"] == 0


def test_lapsed_authorisation_fails_cleanly_tells_once_and_resumes(room, big_video, app):
    requests.post(f"{room.platforms.url}/_standin/douyin/lapse", json={},
                  timeout=5).raise_for_status()
    article_id = publish_video(room, big_video, title="授权失效后的视频")
    shown, d = delivery(room, article_id)
    assert d["status"] == "failed" and "重新授权" in d["error"]
    assert shown["status"] == "failed"
    assert db.session.get(AccountCredential, room.douyin_id).token_expired is True
    assert room.platforms.posts()["douyin"]["count"] == 0
    # The periodic refresh sees the same lapse: still one notification for the sponsor.
    refresh_douyin_tokens()
    notes = db.session.scalars(select(Notification).where(
        Notification.kind == "authorisation_lapsed")).all()
    assert len(notes) == 1 and "某县发布抖音号" in notes[0].text
    page = page_login(app, "sponsor_a").get(f"/accounts/{room.douyin_id}")
    assert 'id="douyin-authorise"' in page.get_data(as_text=True)
    # Authorised again in the browser: the stopped delivery goes out by itself.
    authorise_in_browser(app, room.platforms, room.douyin_id)
    assert db.session.get(AccountCredential, room.douyin_id).token_expired is False
    assert delivery(room, article_id)[1]["status"] == "unconfirmed"  # under review now
    review_check_due()
    shown, d = delivery(room, article_id)
    assert d["status"] == "sent" and shown["status"] == "published"
    assert room.platforms.posts()["douyin"]["count"] == 1


def test_tokens_are_refreshed_before_they_end(room, app):
    stored = db.session.get(AccountCredential, room.douyin_id).ciphertext
    app.config["DOUYIN_REFRESH_BEFORE_SECONDS"] = 10 ** 9  # every token is "ending soon"
    assert refresh_douyin_tokens()["refreshed"] == 1
    db.session.expire_all()
    assert db.session.get(AccountCredential, room.douyin_id).ciphertext != stored
    assert room.platforms.calls("/oauth/refresh_token/") == 1


@pytest.mark.redis
@pytest.mark.parametrize("size", ["25MB", "200MB"])
def test_worker_killed_mid_upload_resumes_without_a_second_post(room, size, app, database_url,
                                                                 redis_service, request):
    # 25 MB in 4 MB parts, and the bar's 200 MB in the product's default 20 MB parts.
    big_video, part = ((request.getfixturevalue("big_video"), PART) if size == "25MB" else
                       (request.getfixturevalue("video_200mb"), 20 * 1024 * 1024))
    app.config["TEST_RUN_JOBS"] = False  # worker processes run the jobs
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_service.url,
               SECRET_KEY="test-secret", PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
               DOUYIN_API_BASE_URL=room.platforms.url, DOUYIN_CLIENT_KEY=CLIENT_KEY,
               DOUYIN_CLIENT_SECRET=CLIENT_SECRET, DOUYIN_PART_BYTES=str(part),
               DOUYIN_SINGLE_UPLOAD_MAX_BYTES=str(part), DOUYIN_REVIEW_CHECK_SECONDS="1",
               VIDEO_DIR=app.config["VIDEO_DIR"], ADAPTER_TIMEOUT="2",
               DELIVERY_BACKOFF_SECONDS="1", DELIVERY_LEASE_SECONDS="3")
    workers = Workers(env)
    try:
        # Every part takes a moment, so the worker can be killed between parts.
        room.platforms.fault(path="/video/part/upload/", delay=0.4, times=100)
        worker = workers.start()
        article_id = publish_video(room, big_video, title="处理进程在上传中被结束")
        delivery_id = delivery(room, article_id)[1]["id"]
        wait_for(lambda: room.platforms.calls("/video/part/upload/") >= 3, timeout=60,
                 what="three parts sent")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=5)
        saved = db.session.get(Delivery, delivery_id)
        assert saved.status == "sending" and saved.platform_ids.get("parts_done", 0) >= 2
        workers.start()
        wait_for(lambda: db.session.get(Delivery, delivery_id).lease_until < utcnow(),
                 what="lease")
        assert delivery_id in sweep()["deliver"]
        wait_for(lambda: db.session.get(Delivery, delivery_id).status == "sent", timeout=90,
                 what="resumed, reviewed and sent")
    finally:
        workers.stop()
    parts = -(-big_video.stat().st_size // part)
    assert room.platforms.calls("/video/part/init/") == 1
    # At most the part in flight when the worker died went twice; never the whole video.
    assert parts <= room.platforms.calls("/video/part/upload/") <= parts + 1
    assert room.platforms.calls("/video/create/") == 1
    posted = room.platforms.posts()["douyin"]
    assert posted["count"] == 1 and posted["items"][0]["size"] == big_video.stat().st_size


def test_an_article_without_a_video_goes_out_as_an_image_text_post(room):
    from cluster import png_base64
    created = room.editor.post("/api/v1/articles", {
        "title": "冬季防火提示", "body_html": "<p>注意用火安全。</p>", "digest": "防火提示",
        "cover_image_base64": png_base64(), "target_account_ids": [room.douyin_id]})
    assert created.status_code == 201, created.get_json()
    article_id = created.get_json()["id"]
    assert created.get_json()["checks"] == []
    assert room.editor.post(f"/api/v1/articles/{article_id}/submit", {}).status_code == 200
    assert room.reviewer.post(f"/api/v1/articles/{article_id}/review",
                              {"decision": "approve", "comment": ""}).status_code == 200
    assert room.signer.post(f"/api/v1/articles/{article_id}/review",
                            {"decision": "approve", "comment": "同意"}).status_code == 200
    _shown, d = delivery(room, article_id)
    assert d["status"] == "unconfirmed" and "审核中" in d["error"]
    review_check_due()
    shown, d = delivery(room, article_id)
    assert d["status"] == "sent" and shown["status"] == "published", d
    assert room.platforms.calls("/image/upload/") == 1
    assert room.platforms.calls("/image/create/") == 1
    assert room.platforms.calls("/video/create/") == 0
    assert db.session.scalar(select(Post.url).where(Post.account_id == room.douyin_id)) \
        == d["post_url"]
