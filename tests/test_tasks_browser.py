"""The publishing tasks page in a real browser (issue 15): an editor finds the Kuaishou task of
a signed-off article, copies its text, downloads the cover, pastes another platform's link
(refused, the task stays open), then the post's own link with a screenshot: the task is done
and the article's delivery is sent."""
import io
from datetime import date

import pytest
from PIL import Image

try:  # tests/ as a package or as a plain directory on sys.path
    from tests.browser import launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover - depends on the rootdir layout
    from browser import launch_chromium, live_app, log_in

import base64

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from publisher.editorial import articles as publisher_articles
from publisher.editorial import review as publisher_review
from publisher.schemas import ArticleIn
from registry.models import Account, Unit

pytestmark = pytest.mark.browser

PASSWORD = "Browser-2026"
TITLE = "县政府召开冬季安全生产工作会议"


def png_bytes(color=(30, 90, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 50), color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, postgres_url, redis_service):
    def seed():
        unit = Unit(name="某县人民政府办公室", office="县政府办公室信息科")
        db.session.add(unit)
        db.session.flush()
        account = Account(unit_id=unit.id, platform="kuaishou", name="某县发布快手号",
                          handle="ks-3001", status="active", opened_on=date(2026, 1, 5),
                          office="信息科", staff=[])
        db.session.add(account)
        users = {}
        for username, role, name in (("editor", "editor", "编辑 小王"),
                                     ("reviewer", "reviewer", "科长 老李"),
                                     ("signer", "signer", "副主任 张")):
            users[username] = User(username=username, password_hash=hash_password(PASSWORD),
                                   roles=[role], unit_id=unit.id, display_name=name,
                                   active=True, session_version=1)
            db.session.add(users[username])
        db.session.flush()
        article = publisher_articles.create_article(users["editor"], ArticleIn(
            title=TITLE, body_html="<p>会议要求压实安全生产责任。</p><p>各乡镇做好防范。</p>",
            source_url="https://www.example.gov.cn/news/1201.html",
            cover_image_base64=base64.b64encode(png_bytes()).decode(),
            target_account_ids=[account.id]))
        publisher_review.submit_article(users["editor"], article)
        publisher_review.review_article(users["reviewer"], article, "approve")
        publisher_review.review_article(users["signer"], article, "approve", "同意")

    # No worker: a task is never a job.
    with live_app(tmp_path_factory.mktemp("tasks-browser"), seed, postgres_url=postgres_url,
                  redis_url=redis_service.url, worker=False) as url:
        yield url


def test_an_editor_completes_a_kuaishou_task_on_the_page(live_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    shot = tmp_path / "shot.png"
    shot.write_bytes(png_bytes((200, 30, 30)))
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900},
                                          locale="zh-CN", accept_downloads=True)
            context.grant_permissions(["clipboard-read", "clipboard-write"],
                                      origin=live_server)
            page = context.new_page()
            page.set_default_timeout(5000)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            log_in(page, live_server, "editor", PASSWORD)
            # The article's delivery says it waits for a person, and leads to the tasks.
            page.goto(live_server + "/articles/1")
            expect(page.locator("#deliveries")).to_contain_text("发布任务（人工发布）")
            page.locator("#deliveries a.task-link").click()
            expect(page.locator("h1")).to_have_text("发布任务")
            page.get_by_role("link", name="发布任务", exact=True).first.click()
            expect(page.locator("h1")).to_have_text("发布任务")
            card = page.locator("section.task")
            expect(card).to_have_count(1)
            expect(card).to_have_attribute("data-status", "open")
            expect(card.locator("h2")).to_contain_text("某县发布快手号")
            expect(card.locator("h2")).to_contain_text("待办")

            # The copy-ready text, and the copy button puts exactly it on the clipboard.
            text = card.locator("textarea").input_value()
            assert text.startswith("会议要求压实安全生产责任。")
            assert text.endswith("https://www.example.gov.cn/news/1201.html")
            card.get_by_role("button", name="复制正文").click()
            expect(card.locator(".copied")).to_be_visible()
            assert page.evaluate("navigator.clipboard.readText()") == text

            # The cover to download.
            media = card.locator("a.media")
            expect(media).to_have_text("封面图片")
            with page.expect_download() as download:
                media.click()
            assert download.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

            # Another platform's link is refused and the task stays open.
            card.locator("input[name=post_url]").fill("https://v.douyin.com/iRNBho6u/")
            card.get_by_role("button", name="标记为完成").click()
            expect(page.locator(".flash.error")).to_contain_text("不是本平台的内容")
            expect(page.locator("section.task")).to_have_attribute("data-status", "open")

            # The post's own link with a screenshot: done.
            card = page.locator("section.task")
            url = "https://www.kuaishou.com/short-video/3xk9dm2a"
            card.locator("input[name=post_url]").fill(url)
            card.locator("input[name=screenshot]").set_input_files(str(shot))
            card.get_by_role("button", name="标记为完成").click()
            expect(page.locator(".flash.success")).to_contain_text("已完成")
            expect(page.locator("#no-tasks")).to_be_visible()
            page.get_by_role("link", name="已完成", exact=True).click()
            done = page.locator("section.task")
            expect(done).to_have_attribute("data-status", "done")
            expect(done.locator("a.post-url")).to_have_attribute("href", url)
            shot_link = done.get_by_role("link", name="截图", exact=True)
            response = page.request.get(live_server + shot_link.get_attribute("href"))
            assert response.status == 200 and response.body() == shot.read_bytes()

            # The article's delivery is sent with the link.
            done.get_by_role("link", name="稿件", exact=True).click()
            expect(page.locator(f'#deliveries a[href="{url}"]')).to_have_count(1)
            expect(page.locator("#deliveries")).to_contain_text("已发送")
        finally:
            browser.close()
    assert errors == []
