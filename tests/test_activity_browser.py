"""Evidence of an update in real headless chromium: a sponsor records it with a screenshot
through the form, the supervisor opens the screenshot and rejects the evidence."""
import io
from datetime import date

import pytest
from PIL import Image

try:
    from tests.browser import launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover
    from browser import launch_chromium, live_app, log_in

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from registry.changes import account_changed
from registry.models import Account, Unit

pytestmark = pytest.mark.browser
PASSWORD = "Browser-2026"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, postgres_url, redis_service):
    def seed():
        unit = Unit(name="某县人民政府办公室")
        db.session.add(unit)
        db.session.flush()
        for username, roles, unit_id in (("sponsor", ["sponsor"], unit.id),
                                         ("supervisor", ["supervisor"], None)):
            db.session.add(User(username=username, password_hash=hash_password(PASSWORD),
                                roles=roles, unit_id=unit_id, active=True, session_version=1))
        account = Account(unit_id=unit.id, platform="toutiao", name="某县发布",
                          handle="tt_county", status="active", opened_on=date(2026, 7, 1),
                          office="信息科", staff=[{"name": "张三"}])
        db.session.add(account)
        db.session.flush()
        account_changed(account, None)

    with live_app(tmp_path_factory.mktemp("evbrowser"), seed, postgres_url=postgres_url,
                  redis_url=redis_service.url, worker=False) as url:
        yield url


def test_evidence_recorded_with_a_screenshot_and_rejected(live_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    shot = tmp_path / "shot.png"
    Image.new("RGB", (120, 80), (20, 120, 60)).save(shot, format="PNG")
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_context(locale="zh-CN").new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.set_default_timeout(8000)
            log_in(page, live_server, "sponsor", PASSWORD)
            page.get_by_role("link", name="更新佐证").first.click()
            # the searchable picker: type part of the name, choose among the matches
            page.fill("#f-account_id-q", "某县发布")
            option = page.locator("#f-account_id option", has_text="今日头条").first
            expect(option).to_be_attached()
            page.select_option("#f-account_id", value=option.get_attribute("value"))
            page.fill("#f-published_at", "2026-11-25T10:30")
            page.fill("#f-title", "头条号：秋收一线")
            page.fill("#f-url", "https://www.toutiao.com/article/7300000000/")
            page.set_input_files("#f-screenshot", str(shot))
            page.click("#evidence-form button[type=submit]:not(.picker-find)")
            row = page.locator("#evidence tbody tr").first
            expect(row).to_contain_text("头条号：秋收一线")
            expect(row).to_contain_text("计入中")

            page.context.clear_cookies()
            log_in(page, live_server, "supervisor", PASSWORD)
            page.goto(live_server + "/evidence")
            href = page.locator("#evidence tbody tr a >> text=查看").get_attribute("href")
            image = page.request.get(live_server + href)
            assert image.status == 200 and image.headers["content-type"] == "image/png"
            assert Image.open(io.BytesIO(image.body())).size == (120, 80)
            page.fill("#evidence tbody tr input[name=reason]", "截图与链接不符")
            page.click("#evidence tbody tr button[type=submit]")
            expect(page.locator("#evidence tbody tr").first).to_contain_text("已驳回")
            expect(page.locator("#evidence tbody tr").first).to_contain_text("截图与链接不符")
            assert not errors, errors
        finally:
            browser.close()
