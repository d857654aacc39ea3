"""A video in a real browser: the editor uploads it with a progress bar (type, duration and
resolution come back from ffprobe), a file that is not a video is refused on the spot, the
saved article shows the video's frame as its cover and a player the reviewers can play."""
import io
import re
from datetime import date

import pytest
from media import make_video
from PIL import Image

try:  # tests/ as a package or as a plain directory on sys.path
    from tests.browser import launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover - depends on the rootdir layout
    from browser import launch_chromium, live_app, log_in

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from registry.models import Account, Unit

pytestmark = pytest.mark.browser
PASSWORD = "Browser-2026"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, postgres_url, redis_service):
    def seed():
        unit = Unit(name="某县人民政府办公室", office="县政府办公室信息科")
        db.session.add(unit)
        db.session.flush()
        db.session.add(Account(unit_id=unit.id, platform="douyin", name="某县发布抖音号",
                               handle="dy-county", status="active", opened_on=date(2026, 1, 5),
                               office="信息科", staff=[]))
        db.session.add(User(username="editor", password_hash=hash_password(PASSWORD),
                            roles=["editor"], unit_id=unit.id, display_name="编辑 小王",
                            active=True, session_version=1))

    base = tmp_path_factory.mktemp("video-browser")
    with live_app(base, seed, postgres_url=postgres_url, redis_url=redis_service.url,
                  worker=False, VIDEO_DIR=str(base / "videos")) as url:
        yield url


def test_editor_uploads_a_video_with_progress_and_the_reviewer_can_play_it(live_server,
                                                                           tmp_path):
    from playwright.sync_api import expect, sync_playwright

    video = make_video(tmp_path / "防汛.mp4", seconds=4, size="1280x720", codec="libx264")
    not_video = tmp_path / "假视频.mp4"
    not_video.write_bytes(b"not a video at all " * 1000)
    errors = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900},
                                          locale="zh-CN")
            page = context.new_page()
            page.set_default_timeout(15000)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            log_in(page, live_server, "editor", PASSWORD)
            page.goto(live_server + "/articles/new")
            page.fill("#f-title", "防汛知识短视频")
            page.fill("#f-body_html", "<p>汛期注意安全。</p>")
            page.check("input[name=target_account_ids]")
            # Not a video: refused by its content, named, nothing attached.
            page.set_input_files("#f-video", str(not_video))
            expect(page.locator("#video-status")).to_contain_text("上传失败")
            expect(page.locator("#video-status")).to_contain_text("假视频.mp4 不是视频")
            expect(page.locator("#f-video_id")).to_have_value("")
            # A video: the bar fills, the facts come from ffprobe.
            page.set_input_files("#f-video", str(video))
            expect(page.locator("#video-status")).to_contain_text("已上传并检查")
            expect(page.locator("#video-status")).to_contain_text("1280×720")
            expect(page.locator("#video-progress")).to_have_js_property("value", 100)
            assert page.input_value("#f-video_id") != ""
            page.click("#save")
            expect(page.locator("#video-facts")).to_contain_text("1280×720")
            expect(page.locator(".wx-cover")).to_be_visible()  # the frame is the cover
            expect(page.locator("#checks")).not_to_contain_text("抖音只发布视频")
            player = page.locator("#video video")
            # Its metadata read (a promise evaluated on the element: the page's CSP forbids
            # the string predicates wait_for_function evaluates).
            player.evaluate("v => v.readyState >= 1 || new Promise(done => v.addEventListener("
                            "'loadedmetadata', () => done(true), {once: true}))")
            duration = player.evaluate("v => v.duration")
            assert 3.5 < duration < 4.5
        finally:
            browser.close()
    assert errors == [] or all("400" in e for e in errors), errors


def png_upload(name: str) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 50), (30, 90, 200)).save(buffer, format="PNG")
    return {"name": name, "mimeType": "image/png", "buffer": buffer.getvalue()}


def test_a_form_error_keeps_the_video_the_body_images_and_the_cover(live_server, tmp_path):
    """Issue 12, "a form error keeps every upload": the editor uploads a video, inserts an
    image into the body and chooses a cover; the form comes back with an error; once it is
    corrected, the article is saved with all three and nothing was chosen again."""
    from playwright.sync_api import expect, sync_playwright

    video = make_video(tmp_path / "秋收.mp4", seconds=4, size="1280x720", codec="libx264")
    errors = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            page.set_default_timeout(15000)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            log_in(page, live_server, "editor", PASSWORD)
            page.goto(live_server + "/articles/new")
            page.fill("#f-title", "秋收一线短视频")
            page.fill("#f-body_html", "<p>秋收进度过半。</p>")
            page.fill("#f-source_url", "ftp://www.example.gov.cn/news/7.html")  # the error
            page.check("input[name=target_account_ids]")
            page.set_input_files("#f-video", str(video))
            expect(page.locator("#video-status")).to_contain_text("已上传并检查")
            video_id = page.input_value("#f-video_id")
            page.locator("#f-body_html").evaluate("area => area.setSelectionRange("
                                                  "area.value.length, area.value.length)")
            page.set_input_files("#f-body-image", files=[png_upload("现场.png")])
            expect(page.locator("#image-status")).to_have_text("图片已插入。")
            body = page.input_value("#f-body_html")
            image_src = re.search(r'src="(/articles/images/\d+)"', body).group(1)
            page.set_input_files("#f-cover", files=[png_upload("封面.png")])
            page.click("#save")

            expect(page.locator(".field.invalid #f-source_url")).to_have_count(1)
            expect(page.locator("#kept-video")).to_contain_text(
                "已保留上次上传的视频（1280×720，4 秒）")
            expect(page.locator("#kept-cover")).to_contain_text("已保留上次选择的封面（90×50）")
            assert page.input_value("#f-video_id") == video_id
            assert f'src="{image_src}"' in page.input_value("#f-body_html")

            page.fill("#f-source_url", "https://www.example.gov.cn/news/7.html")
            page.click("#save")   # nothing chosen or uploaded again
            expect(page).to_have_url(re.compile(r"/articles/\d+$"))
            expect(page.locator("#video-facts")).to_contain_text("1280×720")
            expect(page.locator("img.wx-cover")).to_have_count(1)
            expect(page.locator(f'img[src="{image_src}"]').first).to_be_visible()
        finally:
            browser.close()
    assert errors == [] or all("400" in e for e in errors), errors
