"""The real app in a real browser: log in, register an account, meet the one-per-platform
refusal, switch to English; screenshots on desktop and on a 390 px phone."""
import re

import pytest

try:  # tests/ as a package or as a plain directory on sys.path
    from tests.browser import launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover - depends on the rootdir layout
    from browser import launch_chromium, live_app, log_in

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from registry.models import Unit

pytestmark = pytest.mark.browser

PASSWORD = "Browser-2026"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, postgres_url, redis_service):
    def seed():
        unit = Unit(name="某县人民政府办公室", office="县政府办公室信息科")
        db.session.add(unit)
        db.session.flush()
        db.session.add(User(username="sponsor", password_hash=hash_password(PASSWORD),
                            roles=["sponsor"], unit_id=unit.id, display_name="县政府办 张三",
                            active=True, session_version=1))

    with live_app(tmp_path_factory.mktemp("browser"), seed, postgres_url=postgres_url,
                  redis_url=redis_service.url) as url:
        yield url


def fill_wechat_account(page, name, handle):
    page.select_option("#f-platform", "wechat")
    page.fill("#f-name", name)
    page.fill("#f-handle", handle)
    page.fill("#f-opened_on", "2026-11-02")
    page.fill("#f-office", "县政府办公室信息科")
    page.fill("#f-staff-0-name", "张三")
    page.fill("#f-staff-0-phone", "13800000000")


def test_sponsor_registers_an_account_and_meets_the_refusal(live_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            errors = []
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" else None)
            page.set_default_timeout(5000)

            page.goto(live_server + "/")
            expect(page).to_have_url(re.compile(r"/login\?next="))
            log_in(page, live_server, "sponsor", PASSWORD, next_path="/")
            expect(page.locator("h1")).to_have_text("政务新媒体管理平台")

            page.get_by_role("link", name="登记账号").first.click()
            expect(page.locator("h1")).to_have_text("登记账号")
            # the handle hint follows the platform (static/js/app.js)
            page.select_option("#f-platform", "weibo")
            expect(page.locator("#handle-hint")).to_contain_text("UID")
            fill_wechat_account(page, "某县发布", "gh_0123456789ab")
            expect(page.locator("#handle-hint")).to_contain_text("gh_")
            page.get_by_role("button", name="添加一行").click()
            page.fill("#f-staff-1-name", "李四")
            page.select_option("#f-staff-1-platform_role", "operator")
            page.screenshot(path=str(tmp_path / "form-desktop.png"), full_page=True)
            page.click("#account-form button[type=submit]")

            expect(page).to_have_url(re.compile(r"/accounts/\d+$"))
            expect(page.locator("h1")).to_contain_text("某县发布")
            expect(page.locator("#filings .due").first).to_contain_text("2026-11-09")
            # pending or overdue, depending on today's date
            expect(page.locator("#filings tbody")).to_contain_text(re.compile("待备案|逾期未备案"))
            expect(page.locator(".flash.success")).to_contain_text("2026-11-09")
            assert "李四" in page.inner_text("main")
            page.screenshot(path=str(tmp_path / "account-desktop.png"), full_page=True)

            page.goto(live_server + "/accounts/new")
            fill_wechat_account(page, "某县发布二号", "gh_ffffffffffff")
            page.click("#account-form button[type=submit]")
            refusal = page.locator(".refusal")
            expect(refusal).to_contain_text("一个单位在同一平台原则上只能开设一个账号")
            expect(refusal.get_by_role("link", name="查看已有账号")).to_be_visible()
            expect(page.locator("#f-handle")).to_have_value("gh_ffffffffffff")
            page.screenshot(path=str(tmp_path / "refusal-desktop.png"), full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(tmp_path / "refusal-phone.png"), full_page=True)
            # nothing wider than the phone's screen but the scrollable tables
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= 390, overflow

            page.get_by_role("link", name="English").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.locator("h1")).to_have_text("Register an account")
            expect(page.get_by_role("link", name="Filings")).to_be_visible()
            page.goto(live_server + "/accounts")
            expect(page.locator("table")).to_contain_text("WeChat official account")
            page.click("table tbody a")   # the headings link to sort orders
            expect(page.locator("#filings tbody")).to_contain_text(re.compile("Pending|Overdue"))
            page.screenshot(path=str(tmp_path / "account-phone-en.png"), full_page=True)
            # no CSP violations or script errors (the refusal's own 409 status is expected)
            errors = [e for e in errors if "status of 409" not in e]
            assert not errors, errors
        finally:
            browser.close()
    for name in ("form-desktop", "account-desktop", "refusal-desktop", "refusal-phone",
                 "account-phone-en"):
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
