"""Reviews in a real browser (issue 12): the editor drafts, a form error keeps the chosen
cover; the reviewer selects a passage, comments on it and returns the article; the editor
reads the comment, changes the passage and resubmits; the reviewer sees the returned version
beside the resubmitted one."""
import re
from datetime import date

import pytest

try:  # tests/ as a package or as a plain directory on sys.path
    from tests.browser import launch_chromium, live_app
except ImportError:  # pragma: no cover - depends on the rootdir layout
    from browser import launch_chromium, live_app

from test_publisher_browser import PASSWORD, logged_in_page, png_bytes

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from registry.models import Account, Unit

pytestmark = pytest.mark.browser

FIRST = "会议研究部署了近期重点工作。"
SECOND = "会议要求各部门抓好落实。"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, postgres_url, redis_service):
    def seed():
        unit = Unit(name="某县人民政府办公室", office="县政府办公室信息科")
        db.session.add(unit)
        db.session.flush()
        for platform, handle in (("wechat", "gh_0123456789ab"), ("weibo", "1234567890")):
            db.session.add(Account(unit_id=unit.id, platform=platform, name="某县发布",
                                   handle=handle, status="active", opened_on=date(2026, 1, 5),
                                   office="信息科", staff=[]))
        for username, role, name in (("editor", "editor", "编辑 小王"),
                                     ("reviewer", "reviewer", "科长 老李")):
            db.session.add(User(username=username, password_hash=hash_password(PASSWORD),
                                roles=[role], unit_id=unit.id, display_name=name, active=True,
                                session_version=1))

    with live_app(tmp_path_factory.mktemp("review-aids-browser"), seed,
                  postgres_url=postgres_url, redis_url=redis_service.url, worker=False) as url:
        yield url


def submit_with_checklist(page):
    from playwright.sync_api import expect

    expect(page.locator("input[name=checklist]").first).to_be_visible()
    for box in page.locator("input[name=checklist]").all():
        box.check()
    page.click("#submit-button")


def test_a_comment_on_a_passage_a_return_and_the_comparison(live_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            # --- the editor: a form error keeps the chosen cover ---------------------------
            page = logged_in_page(browser, live_server, "editor", errors)
            page.goto(live_server + "/articles/new")
            page.fill("#f-title", "县政府召开常务会议")
            page.fill("#f-body_html", f"<p>{FIRST}</p><p>{SECOND}</p>")
            page.fill("#f-source_url", "ftp://www.example.gov.cn/news/12.html")
            page.locator("input[name=target_account_ids]").nth(0).check()
            page.locator("input[name=target_account_ids]").nth(1).check()
            page.set_input_files("#f-cover", files=[{"name": "cover.png", "mimeType": "image/png",
                                                     "buffer": png_bytes()}])
            page.click("#save")
            expect(page.locator(".field.invalid #f-source_url")).to_have_count(1)
            expect(page.locator("#kept-cover")).to_contain_text("已保留上次选择的封面（90×50）")
            page.fill("#f-source_url", "https://www.example.gov.cn/news/12.html")
            page.click("#save")   # no file chosen again
            expect(page).to_have_url(re.compile(r"/articles/\d+$"))
            article_url = page.url
            expect(page.locator("img.wx-cover")).to_have_count(1)
            submit_with_checklist(page)
            expect(page.locator("h1 .badge")).to_have_text("待二审")

            # --- the reviewer: selects a passage, comments on it, returns ---------------------
            page = logged_in_page(browser, live_server, "reviewer", errors)
            page.goto(article_url)
            expect(page.locator("#comparison")).to_have_count(0)   # nothing returned yet
            page.locator("#comment-body p").nth(1).select_text()
            expect(page.locator("#f-quote")).to_have_value(SECOND)
            expect(page.locator("#f-start")).to_have_value(str(len(FIRST)))
            page.fill("#f-text", "“各部门”太笼统，请写明乡镇")
            page.click("#add-comment")
            expect(page.locator(".flash.success")).to_contain_text("已对该段落添加批注")
            expect(page.locator("#comment-body mark.comment-anchor")).to_have_text(SECOND)
            expect(page.locator("#comment-list")).to_contain_text("太笼统")
            page.fill("#f-comment", "见段落批注")
            page.click("#reject")
            expect(page.locator("h1 .badge")).to_have_text("已退回")

            # --- the editor: reads the comment, changes the passage, resubmits -------------------
            page = logged_in_page(browser, live_server, "editor", errors)
            page.goto(article_url)
            expect(page.locator("#comments")).to_contain_text("太笼统")
            expect(page.locator("#comment-body mark.comment-anchor")).to_have_text(SECOND)
            expect(page.locator("#comment-form")).to_have_count(0)
            page.get_by_role("link", name="编辑", exact=True).click()
            expect(page.locator("#returned-comments")).to_contain_text("太笼统")
            page.fill("#f-body_html", f"<p>{FIRST}</p><p>会议要求各部门和各乡镇抓好落实。</p>")
            # the image button: checked on the server, inserted at the cursor as <img>
            page.set_input_files("#f-body-image", files=[{
                "name": "photo.txt", "mimeType": "text/plain", "buffer": b"not an image"}])
            expect(page.locator("#image-status")).to_contain_text("图片未插入")
            page.set_input_files("#f-body-image", files=[{
                "name": "photo.png", "mimeType": "image/png", "buffer": png_bytes()}])
            expect(page.locator("#image-status")).to_have_text("图片已插入。")
            expect(page.locator("#f-body_html")).to_have_value(re.compile(
                r'抓好落实。</p><p><img src="/articles/images/\d+" alt="" width="90" '
                r'height="50"></p>$'))
            page.click("#save")
            expect(page).to_have_url(article_url)
            submit_with_checklist(page)
            expect(page.locator("h1 .badge")).to_have_text("待二审")

            # --- the reviewer: the returned version beside the resubmitted one --------------------
            page = logged_in_page(browser, live_server, "reviewer", errors)
            page.goto(article_url)
            comparison = page.locator("#comparison")
            expect(comparison.locator("h2")).to_have_text("退回的版本与重新提交的版本对照")
            expect(comparison.locator("thead")).to_contain_text("退回时：第 1 版")
            expect(comparison.locator("thead")).to_contain_text("现在：第 2 版")
            body_rows = comparison.locator("tbody[data-field=body] tr")
            expect(body_rows).to_have_count(3)
            expect(body_rows.nth(2)).to_have_class(re.compile("diff-insert"))
            expect(body_rows.nth(2).locator("td.diff-new ins")).to_contain_text("/articles/images/")
            # the inserted image shows in the reviewer's preview
            image = page.locator(".wx-body img")
            expect(image).to_have_count(1)
            page.wait_for_function(
                "() => document.querySelector('.wx-body img').naturalWidth === 90")
            expect(body_rows.nth(1)).to_have_class(re.compile("diff-replace"))
            expect(body_rows.nth(1).locator("td.diff-new ins")).to_have_text("和各乡镇")
            expect(body_rows.nth(1).locator("td.diff-old")).to_have_text(SECOND)
            expect(comparison.locator("tbody[data-field=title] tr")).to_have_class("diff-equal")
            # the old comment is listed (earlier revision), no longer marked in the new text
            expect(page.locator("#comment-list li.earlier")).to_contain_text("太笼统")
            expect(page.locator("#comment-body mark.comment-anchor")).to_have_count(0)
            page.screenshot(path=str(tmp_path / "comparison.png"), full_page=True)
        finally:
            browser.close()
    # the form error and the refused image are expected
    errors = [e for e in errors if "status of 400" not in e]
    assert not errors, errors
    data = (tmp_path / "comparison.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
