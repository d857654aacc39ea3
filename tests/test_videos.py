"""Video as content: uploaded streamed to disk, read with ffprobe (not from the name), a cover
frame from ffmpeg, the platform limits before sign-off, the approval bound to the bytes."""
import io
import json
import socket
import threading

import pytest
from conftest import account_body, make_user
from media import make_video
from PIL import Image
from werkzeug.serving import make_server

from sqlalchemy import select

from govmedia.extensions import db
from govmedia.models import User
from publisher import videos
from publisher.models import ArticleVideo
from registry.models import Account
from registry.services import set_credentials


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("v") / "clip.mp4", seconds=2)


@pytest.fixture(scope="module")
def other_clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("v") / "other.mp4", seconds=3, size="320x240")


@pytest.fixture
def room(app, world, login, tmp_path):
    app.config["VIDEO_DIR"] = str(tmp_path / "videos")
    a = world.unit_a["id"]
    douyin = world.sponsor_a.post("/api/v1/accounts", account_body(
        a, platform="douyin", handle="dy-county", name="某县发布抖音号")).get_json()
    weibo = world.sponsor_a.post("/api/v1/accounts", account_body(
        a, platform="weibo", handle="7000000001")).get_json()
    make_user("editor", ["editor"], a)
    make_user("editor2", ["editor"], a)

    class Room:
        douyin_id, weibo_id = douyin["id"], weibo["id"]
        editor, editor2 = login("editor"), login("editor2")
        video_dir = tmp_path / "videos"

    return Room


def upload(api, path_or_bytes, name="clip.mp4", content_length=None):
    data = path_or_bytes.read_bytes() if hasattr(path_or_bytes, "read_bytes") else path_or_bytes
    headers = {**api._headers(), "Content-Type": "video/mp4"}
    if content_length is None:
        return api.client.post(f"/api/v1/videos?name={name}", data=data, headers=headers)
    return api.client.post(f"/api/v1/videos?name={name}", input_stream=io.BytesIO(data),
                           headers={**headers, "Content-Length": str(content_length)})


def article_body(room, **extra):
    return {"title": "防汛知识短视频", "body_html": "<p>汛期注意安全。</p>",
            "source_url": "https://www.example.gov.cn/v/1",
            "target_account_ids": [room.douyin_id], **extra}


def test_upload_is_read_with_ffprobe_and_gets_a_cover_frame(room, clip):
    answer = upload(room.editor, clip)
    assert answer.status_code == 201, answer.get_json()
    video = answer.get_json()
    assert video["mime"] == "video/mp4" and video["codec"] == "mpeg4"
    assert (video["width"], video["height"]) == (640, 360)
    assert 1.9 <= video["duration"] <= 2.2 and video["size"] == clip.stat().st_size
    stored = room.video_dir / f"{video['sha256']}.mp4"
    assert stored.read_bytes() == clip.read_bytes()
    frame = db.session.get(ArticleVideo, video["id"]).frame
    with Image.open(io.BytesIO(frame.data)) as img:
        assert img.format == "JPEG" and img.size == (640, 360)
    # Played back with ranges (the reviewers' player seeks).
    part = room.editor.client.get(f"/api/v1/videos/{video['id']}/file",
                                  headers={**room.editor._headers(), "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == clip.read_bytes()[:100]


def test_not_a_video_is_refused_by_its_content_not_its_name(room):
    png = io.BytesIO()
    Image.new("RGB", (20, 20)).save(png, format="PNG")
    for data in (b"this is plain text, named like a video" * 10, png.getvalue()):
        answer = upload(room.editor, data, name="宣传片.mp4")
        assert answer.status_code == 400
        error = answer.get_json()["error"]
        assert error["fields"] == {"video": "not a video"}
        assert "宣传片.mp4" in error["message"] and "视频" in error["message"]
    assert list(room.video_dir.iterdir()) == []  # nothing kept


def test_truncated_upload_is_refused_and_nothing_kept(room, clip, app):
    """Over a real socket: the client says N bytes, sends half and stops."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    data = clip.read_bytes()
    try:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as sock:
            sock.sendall((f"POST /api/v1/videos?name=clip.mp4 HTTP/1.1\r\nHost: x\r\n"
                          f"Authorization: Bearer {room.editor.token}\r\n"
                          f"Content-Type: video/mp4\r\nContent-Length: {len(data)}\r\n"
                          "Connection: close\r\n\r\n").encode() + data[: len(data) // 2])
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    finally:
        server.shutdown()
    head, _sep, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    error = json.loads(body)["error"]
    assert error["fields"] == {"video": "truncated upload"}
    assert str(len(data) // 2) in error["message"] and str(len(data)) in error["message"]
    assert list(room.video_dir.iterdir()) == []
    assert db.session.query(ArticleVideo).count() == 0


def test_article_with_video_takes_its_frame_and_binds_the_hash(room, clip, other_clip):
    video = upload(room.editor, clip).get_json()
    created = room.editor.post("/api/v1/articles", article_body(room, video_id=video["id"]))
    assert created.status_code == 201, created.get_json()
    article = created.get_json()
    assert article["video"]["sha256"] == video["sha256"]
    assert article["cover"]["sha256"] == video["frame"]["sha256"]
    assert not [f for f in article["checks"] if f["rule"] == "video_limits"]
    other = upload(room.editor, other_clip).get_json()
    changed = room.editor.client.put(
        f"/api/v1/articles/{article['id']}", headers=room.editor._headers(),
        json=article_body(room, video_id=other["id"])).get_json()
    assert changed["content_hash"] != article["content_hash"]
    assert changed["cover"]["sha256"] == other["frame"]["sha256"]  # the new video's frame
    assert changed["revision"] == article["revision"] + 1


def test_another_users_video_cannot_be_attached(room, clip):
    video = upload(room.editor, clip).get_json()
    answer = room.editor2.post("/api/v1/articles", article_body(room, video_id=video["id"]))
    assert answer.status_code == 403
    assert answer.get_json()["error"]["fields"] == {"video_id": "uploaded by another user"}


def test_douyin_without_a_video_is_blocked_naming_the_platform(room, world):
    # Never authorised, the account gets a publishing task: staff may post image and text
    # by hand, so nothing blocks.
    as_task = room.editor.post("/api/v1/articles", article_body(room)).get_json()
    assert not [f for f in as_task["checks"] if f["rule"] == "video_limits"]
    # Authorised, the adapter posts videos only.
    account = db.session.get(Account, room.douyin_id)
    sponsor = db.session.scalar(select(User).where(User.username == "sponsor_a"))
    set_credentials(sponsor, account, {"access_token": "act.x", "refresh_token": "rft.x",
                                       "open_id": "open-1"})
    db.session.commit()
    article = room.editor.post("/api/v1/articles", article_body(room)).get_json()
    found = [f for f in article["checks"] if f["rule"] == "video_limits"]
    assert len(found) == 1 and found[0]["severity"] == "block" and "抖音" in found[0]["message"]
    refused = room.editor.post(f"/api/v1/articles/{article['id']}/submit", {})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "checks_failed"
    # With a cover picture it goes out as an image-text post (图文): nothing blocks.
    from cluster import png_base64
    with_cover = room.editor.post("/api/v1/articles", article_body(
        room, cover_image_base64=png_base64())).get_json()
    assert not [f for f in with_cover["checks"] if f["rule"] == "video_limits"]


def test_video_over_a_platform_limit_is_blocked_with_the_limit(room, clip, monkeypatch):
    monkeypatch.setitem(videos.PLATFORM_LIMITS, "douyin",
                        videos.Limits(100 * 1024, 1.5, ("video/webm",)))
    video = upload(room.editor, clip).get_json()
    article = room.editor.post("/api/v1/articles", article_body(
        room, video_id=video["id"], target_account_ids=[room.douyin_id, room.weibo_id])
    ).get_json()
    messages = [f["message"] for f in article["checks"] if f["rule"] == "video_limits"]
    assert len(messages) == 3 and all("抖音" in m for m in messages)
    assert any("1.5" in m for m in messages) and any("0.09" in m and "MB" in m for m in messages)
    assert any("video/webm" in m for m in messages)
