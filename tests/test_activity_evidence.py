"""Evidence of updates on platforms without an API (issue 14): a URL and a PNG/JPEG screenshot
make a post; a supervisor's rejection leaves the derived figures as if it never counted."""
import base64
import io
import os
from datetime import timedelta

import pytest
from conftest import PASSWORD, account_body, make_user
from PIL import Image
from sqlalchemy import func, select, text

from govmedia.extensions import db
from govmedia.types import today_shanghai, utcnow
from registry.activity.models import Evidence
from registry.models import Account, Post
from registry.supervision.pending import apply_pending, rebuild_all


def image_bytes(kind="PNG", size=(60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=kind)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def room(app, world, tmp_path):
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")
    a = world.unit_a["id"]
    make_user("editor_a", ["editor"], a)
    channels = world.sponsor_a.post("/api/v1/accounts", account_body(
        a, platform="other", handle="sph_county", name="某县发布视频号",
        opened_on="2026-10-01")).get_json()["id"]
    busy = world.sponsor_a.post("/api/v1/accounts", account_body(
        a, platform="toutiao", handle="tt_county", name="某县发布",
        opened_on="2026-10-01")).get_json()["id"]
    for when in ("2026-10-03T09:00:00+08:00", "2026-11-20T09:00:00+08:00"):
        assert world.sponsor_a.post(f"/api/v1/accounts/{busy}/posts", {
            "published_at": when, "title": "日常"}).status_code == 201

    class Room:
        account, other = channels, busy
        folder = tmp_path / "evidence"

    return Room


def evidence_body(**extra):
    body = {"published_at": "2026-11-25T10:30:00+08:00", "title": "视频号：秋收一线",
            "url": "https://channels.weixin.qq.com/video/abc", "screenshot_base64":
            b64(image_bytes())}
    body.update(extra)
    return body


def figures() -> dict:
    """Every derived figure of rule 5, as rows (zero day totals are no figure)."""
    apply_pending()
    db.session.commit()
    query = {
        "gaps": "SELECT account_id, start_day, end_day FROM supervision_gaps ORDER BY 1, 2",
        "unit_days": "SELECT unit_id, day, posts FROM supervision_unit_days ORDER BY 1, 2",
        "totals": "SELECT day, band, dormant, posts FROM supervision_day_totals "
                  "WHERE band <> 0 OR dormant <> 0 OR posts <> 0 ORDER BY 1",
        "accounts": "SELECT id, first_post_on, last_post_at FROM accounts ORDER BY 1"}
    return {name: db.session.execute(text(sql)).all() for name, sql in query.items()}


def test_evidence_makes_a_post_with_its_screenshot_kept(world, room, app):
    made = world.sponsor_a.post(f"/api/v1/accounts/{room.account}/evidence", evidence_body())
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["status"] == "recorded" and body["post_id"]
    post = db.session.get(Post, body["post_id"])
    assert (post.origin, post.source, post.url) == ("manual", "evidence", evidence_body()["url"])
    stored = os.listdir(room.folder)
    assert len(stored) == 1 and stored[0].endswith(".png")
    shot = world.supervisor.get(body["screenshot_url"])
    assert shot.status_code == 200 and shot.mimetype == "image/png"
    assert shot.data == image_bytes()
    # Another unit sees neither the evidence nor its screenshot.
    assert world.sponsor_b.get(body["screenshot_url"]).status_code == 403
    assert world.sponsor_b.get("/api/v1/evidence").get_json()["total"] == 0
    assert world.sponsor_a.get("/api/v1/evidence").get_json()["total"] == 1
    jpeg = world.sponsor_a.post(f"/api/v1/accounts/{room.account}/evidence", evidence_body(
        screenshot_base64=b64(image_bytes("JPEG")), title="第二条"))
    assert jpeg.status_code == 201 and jpeg.get_json()["screenshot_type"] == "image/jpeg"
    listed = world.sponsor_a.get(f"/api/v1/accounts/{room.account}/posts",
                                 origin="manual").get_json()
    assert listed["total"] == 2 and {p["source"] for p in listed["items"]} == {"evidence"}
    assert world.sponsor_a.get(f"/api/v1/accounts/{room.account}/posts",
                               origin="platform").get_json()["total"] == 0


@pytest.mark.parametrize("screenshot,field", [
    (b"this is not an image at all", "not_an_image"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not_an_image"),        # a PNG signature, no image
    (None, "not_png_or_jpeg"),                                   # a real GIF
    (b"", "required"),
])
def test_a_screenshot_is_judged_by_its_content_and_nothing_is_kept_when_refused(
        world, room, screenshot, field):
    if screenshot is None:
        screenshot = image_bytes("GIF")
    refused = world.sponsor_a.post(f"/api/v1/accounts/{room.account}/evidence",
                                   evidence_body(screenshot_base64=b64(screenshot)))
    assert refused.status_code == 400
    assert refused.get_json()["error"]["fields"] == {"screenshot": field}
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert db.session.scalar(select(func.count()).select_from(Post).where(
        Post.account_id == room.account)) == 0


def test_size_limit_base64_address_and_time_are_checked(world, room, app):
    app.config["EVIDENCE_MAX_BYTES"] = 200
    big = world.sponsor_a.post(f"/api/v1/accounts/{room.account}/evidence",
                               evidence_body(screenshot_base64=b64(image_bytes(size=(400, 400)))))
    assert big.status_code == 400
    assert big.get_json()["error"]["fields"] == {"screenshot": "too_large"}
    app.config["EVIDENCE_MAX_BYTES"] = 5 * 2**20
    for body, fields in [
            (evidence_body(screenshot_base64="%%%"), {"screenshot_base64": "not_base64"}),
            (evidence_body(url="javascript:alert(1)"), {"url": "invalid"}),
            (evidence_body(published_at="2099-01-01T00:00:00+08:00"),
             {"published_at": "in_future"})]:
        answer = world.sponsor_a.post(f"/api/v1/accounts/{room.account}/evidence", body)
        assert answer.status_code == 400 and answer.get_json()["error"]["fields"] == fields
    assert world.sponsor_b.post(f"/api/v1/accounts/{room.account}/evidence",
                                evidence_body()).status_code == 403
    assert not room.folder.exists() or os.listdir(room.folder) == []


def test_a_rejected_post_leaves_the_figures_as_if_it_never_counted(world, room, login):
    today = today_shanghai().isoformat()

    def dormant() -> set[int]:
        body = world.supervisor.get("/api/v1/supervision/dormant", as_of=today).get_json()
        return {i["account_id"] for i in body["items"]}

    before = figures()
    assert room.account in dormant()
    # A minute ago (today's 08:00 lies in the future before 08:00 Beijing time, and is refused).
    recent = (utcnow() - timedelta(minutes=1)).isoformat()
    made = world.sponsor_a.post(f"/api/v1/accounts/{room.account}/evidence",
                                evidence_body(published_at=recent)).get_json()
    assert room.account not in dormant()      # the evidence counts, figures applied
    assert figures() != before
    assert db.session.get(Post, made["post_id"]).counted is True
    # Recorded and rejected before any reader applied it: rejected while still uncounted.
    second = world.sponsor_a.post(f"/api/v1/accounts/{room.other}/evidence",
                                  evidence_body(published_at=recent)).get_json()
    assert db.session.get(Post, second["post_id"]).counted is False
    assert world.supervisor.post(f"/api/v1/evidence/{second['id']}/reject",
                                 {"reason": "不是本账号"}).status_code == 200

    assert world.sponsor_a.post(f"/api/v1/evidence/{made['id']}/reject",
                                {"reason": "截图与链接不符"}).status_code == 403
    rejected = world.supervisor.post(f"/api/v1/evidence/{made['id']}/reject",
                                     {"reason": "截图与链接不符"})
    assert rejected.status_code == 200
    assert rejected.get_json()["status"] == "rejected" and rejected.get_json()["post_id"] is None
    assert room.account in dormant()
    assert figures() == before
    rebuild_all()
    db.session.commit()
    assert figures() == before
    again = world.supervisor.post(f"/api/v1/evidence/{made['id']}/reject", {"reason": "再次"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_rejected"
    assert db.session.get(Account, room.account).last_post_at is None


def test_the_evidence_page_records_and_a_supervisor_rejects(app, world, room):
    sponsor = app.test_client()
    assert sponsor.post("/login", data={"username": "sponsor_a",
                                        "password": PASSWORD}).status_code == 302
    page = sponsor.get("/evidence")
    assert page.status_code == 200 and "更新佐证" in page.get_data(as_text=True)
    posted = sponsor.post("/evidence", data={
        "account_id": str(room.account), "published_at": "2026-11-25T10:30",
        "title": "头条号：秋收", "url": "https://www.toutiao.com/article/1/",
        "screenshot": (io.BytesIO(image_bytes("JPEG")), "shot.jpg")},
        content_type="multipart/form-data")
    assert posted.status_code == 302
    row = db.session.scalars(select(Evidence)).one()
    assert row.screenshot_type == "image/jpeg" and row.title == "头条号：秋收"
    refused = sponsor.post("/evidence", data={
        "account_id": str(room.account), "published_at": "2026-11-25T10:30", "title": "x",
        "url": "https://www.toutiao.com/article/2/",
        "screenshot": (io.BytesIO(b"GIF89a fake"), "shot.png")},
        content_type="multipart/form-data")
    assert refused.status_code == 400 and "PNG" in refused.get_data(as_text=True)
    assert sponsor.post(f"/evidence/{row.id}/reject", data={"reason": "x"}).status_code == 403

    supervisor = app.test_client()
    supervisor.post("/login", data={"username": "supervisor", "password": PASSWORD})
    html = supervisor.get("/evidence").get_data(as_text=True)
    assert f'action="/evidence/{row.id}/reject"' in html
    assert supervisor.post(f"/evidence/{row.id}/reject",
                           data={"reason": "链接打不开"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Evidence, row.id).status == "rejected"
    assert supervisor.get(f"/evidence/{row.id}/screenshot").status_code == 200
