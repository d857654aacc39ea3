"""One article in a real browser, through three people: the drafter meets a blocking finding
(a secrecy mark), finds it in the editor, fixes it and submits with the self-check; a
reviewer approves; a signer signs off and the deliveries are queued."""
import io
import re
from datetime import date

import pytest
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
        for platform, handle in (("wechat", "gh_0123456789ab"), ("weibo", "1234567890")):
            db.session.add(Account(unit_id=unit.id, platform=platform, name="某县发布",
                                   handle=handle, status="active", opened_on=date(2026, 1, 5),
                                   office="信息科", staff=[]))
        for username, role, name in (("editor", "editor", "编辑 小王"),
                                     ("reviewer", "reviewer", "科长 老李"),
                                     ("signer", "signer", "副主任 张")):
            db.session.add(User(username=username, password_hash=hash_password(PASSWORD),
                                roles=[role], unit_id=unit.id, display_name=name, active=True,
                                session_version=1))

    # No worker here: sign-off leaves its deliveries queued (tests/test_fanout*.py send them).
    with live_app(tmp_path_factory.mktemp("publisher-browser"), seed, postgres_url=postgres_url,
                  redis_url=redis_service.url, worker=False) as url:
        yield url


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 50), (30, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def logged_in_page(browser, base, username, errors):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(5000)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, base, username, PASSWORD)
    return page


def test_one_article_through_drafter_reviewer_and_signer(live_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            # --- the drafter -----------------------------------------------------------
            page = logged_in_page(browser, live_server, "editor", errors)
            page.get_by_role("link", name="稿件", exact=True).click()
            page.get_by_role("link", name="新建稿件").click()
            expect(page.locator("h1")).to_have_text("新建稿件")
            page.fill("#f-title", "县政府召开第十二次常务会议")
            page.fill("#f-body_html", "")
            page.click("#f-body_html")
            page.keyboard.type("会议传达了机密文件精神，研究部署近期工作。")
            page.locator("#f-body_html").select_text()
            page.get_by_role("button", name="段落").click()   # the toolbar wraps the selection
            expect(page.locator("#f-body_html")).to_have_value(
                "<p>会议传达了机密文件精神，研究部署近期工作。</p>")
            page.fill("#f-source_url", "https://www.example.gov.cn/news/12.html")
            # the live Weibo counter: title + space + link
            expect(page.locator("#weibo-counter .count")).to_have_text(
                str(len("县政府召开第十二次常务会议") + 1 + len("https://www.example.gov.cn/news/12.html")))
            page.fill("#f-weibo_text", "长" * 120)
            expect(page.locator("#weibo-counter .over")).to_be_visible()
            page.fill("#f-weibo_text", "")
            expect(page.locator("#weibo-counter .over")).to_be_hidden()
            page.locator("input[name=target_account_ids]").nth(0).check()
            page.locator("input[name=target_account_ids]").nth(1).check()
            page.set_input_files("#f-cover", files=[{"name": "cover.png", "mimeType": "image/png",
                                                     "buffer": png_bytes()}])
            page.click("#save")

            expect(page).to_have_url(re.compile(r"/articles/\d+$"))
            article_url = page.url
            expect(page.locator("#checks")).to_contain_text("密级标志")
            expect(page.locator("#marked mark.finding.block")).to_have_text("机密")
            expect(page.locator(".wx-title")).to_have_text("县政府召开第十二次常务会议")
            expect(page.locator(".wb-text")).to_contain_text("https://www.example.gov.cn/news/12.html")
            page.screenshot(path=str(tmp_path / "blocked.png"), full_page=True)

            # the blocking finding stops the submission, whatever the self-check says
            for box in page.locator("input[name=checklist]").all():
                box.check()
            page.click("#submit-button")
            expect(page.locator("#refusal")).to_contain_text("未通过自动检查")
            expect(page.locator("#refusal")).to_contain_text("机密")
            expect(page.locator("h1 .badge")).to_have_text("草稿")

            # find it in the editor, fix it, save, submit
            page.get_by_role("link", name="编辑", exact=True).click()
            page.locator("button.locate").first.click()
            selected = page.evaluate("(() => { const t = document.getElementById('f-body_html');"
                                     " return t.value.slice(t.selectionStart, t.selectionEnd); })()")
            assert selected == "机密"
            page.fill("#f-body_html", "<p>会议传达了上级文件精神，研究部署近期工作。</p>")
            page.click("#save")
            expect(page.locator("#checks")).to_contain_text("未发现问题")
            page.click("#submit-button")   # the browser refuses: the checklist is required
            expect(page.locator("h1 .badge")).to_have_text("草稿")
            for box in page.locator("input[name=checklist]").all():
                box.check()
            page.click("#submit-button")
            expect(page.locator(".flash.success")).to_contain_text("等待二审")
            expect(page.locator("h1 .badge")).to_have_text("待二审")
            expect(page.locator("#review")).to_have_count(0)   # the drafter never reviews

            # --- the reviewer --------------------------------------------------------------
            page = logged_in_page(browser, live_server, "reviewer", errors)
            page.get_by_role("link", name="我的待办").click()
            page.locator("#to-review a").first.click()
            expect(page).to_have_url(article_url)
            expect(page.locator("#review h2")).to_have_text("二审")
            page.fill("#f-comment", "内容准确")
            page.click("#approve")
            expect(page.locator("h1 .badge")).to_have_text("待签发")

            # --- the signer ---------------------------------------------------------------
            page = logged_in_page(browser, live_server, "signer", errors)
            page.get_by_role("link", name="我的待办").click()
            page.locator("#to-sign a").first.click()
            expect(page.locator("#review h2")).to_have_text("三审（签发）")
            page.click("#approve")
            expect(page.locator("h1 .badge")).to_have_text("已通过")
            expect(page.locator("#delivery-table tbody tr")).to_have_count(2)
            expect(page.locator("#deliveries")).to_contain_text("排队待发")
            expect(page.locator("#reviews tbody tr")).to_have_count(3)
            expect(page.locator("#history")).to_contain_text("签发")
            page.screenshot(path=str(tmp_path / "approved.png"), full_page=True)
        finally:
            browser.close()
    # no CSP violations or script errors (the refusals' own 409 status is expected)
    errors = [e for e in errors if "status of 409" not in e]
    assert not errors, errors
    for name in ("blocked", "approved"):
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
