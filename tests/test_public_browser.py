"""The public lookup and the notices page in headless Debian chromium on a 390×844 phone."""
import re
from datetime import date

import pytest

try:  # tests/ as a package or as a plain directory on sys.path
    from tests.browser import launch_chromium, live_app
except ImportError:  # pragma: no cover - depends on the rootdir layout
    from browser import launch_chromium, live_app

from govmedia.extensions import db
from govmedia.models import User
from notices.services import record_event_with_notice
from registry import services as registry_services
from registry.models import Unit
from registry.schemas import AccountIn, EventIn

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def public_server(tmp_path_factory, postgres_url, redis_service):
    def seed():
        unit = Unit(name="某县人民政府办公室", office="县政府办公室信息科")
        other = Unit(name="某县教育局")
        db.session.add_all([unit, other])
        db.session.flush()
        admin = User(username="admin", password_hash="x", roles=["admin"], active=True,
                     session_version=1)
        db.session.add(admin)
        db.session.flush()
        accounts = []
        for unit_id, platform, name, handle in [
                (unit.id, "wechat", "某县发布", "gh_0123456789ab"),
                (unit.id, "douyin", "某县发布抖音号（一个相当长的名称用于检查窄屏换行）",
                 "dy-1234567890123456789"),
                (other.id, "weibo", "某县教育", "1234567890")]:
            account, _ = registry_services.register_account(admin, AccountIn(
                unit_id=unit_id, platform=platform, name=name, handle=handle,
                opened_on=date(2026, 3, 2)))
            accounts.append(account)
        record_event_with_notice(admin, accounts[1], EventIn(
            kind="deregister", event_date=date(2026, 11, 2), reason="并入“某县发布”",
            reason_category="merged", successor="微信公众号“某县发布”"))
        record_event_with_notice(admin, accounts[2], EventIn(
            kind="change", event_date=date(2026, 11, 2), changes={"name": "某县教育发布"}))

    with live_app(tmp_path_factory.mktemp("public-browser"), seed, postgres_url=postgres_url,
                  redis_url=redis_service.url) as url:
        yield url


def test_lookup_and_notices_on_a_phone(public_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport=PHONE, locale="zh-CN", is_mobile=True,
                                    has_touch=True)
            errors = []
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" else None)
            page.set_default_timeout(5000)

            page.goto(public_server + "/public")
            expect(page.locator("h1")).to_have_text("这是政务新媒体账号吗？")
            page.fill("#q", "县发")
            page.click("#lookup-form button[type=submit]")
            expect(page.locator("#results tbody tr")).to_have_count(2)
            page.wait_for_load_state("load")  # the results page's script is wired
            # choosing a platform filters at once (static/js/notices-public.js)
            page.select_option("#platform", "douyin")
            expect(page).to_have_url(re.compile(r"platform=douyin"))
            expect(page.locator("#results tbody tr")).to_have_count(1)
            expect(page.locator("#results")).to_contain_text("注销中")
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path=str(tmp_path / "lookup-phone.png"), full_page=True)

            page.click("#results tbody a")
            expect(page.locator("#official")).to_contain_text("该账号正在注销")
            expect(page.locator("#notices")).to_contain_text("微信公众号“某县发布”")

            page.goto(public_server + "/public?q=冒充的账号")
            expect(page.locator("#not-in-registry")).to_contain_text("不在登记库中")
            page.screenshot(path=str(tmp_path / "not-found-phone.png"), full_page=True)

            page.goto(public_server + "/notices")
            expect(page.locator("h1")).to_have_text("公告")
            current = page.locator("#current article")
            expect(current).to_have_count(2)
            expect(current.first.locator(".period")).to_contain_text(" 至 ")
            expect(page.locator("#current")).to_contain_text("名称由“某县教育”变更为“某县教育发布”")
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path=str(tmp_path / "notices-phone.png"), full_page=True)

            page.get_by_role("link", name="English").click()
            expect(page.locator("h1")).to_have_text("Notices")
            assert not errors, errors
        finally:
            browser.close()
    for name in ("lookup-phone", "not-found-phone", "notices-phone"):
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
