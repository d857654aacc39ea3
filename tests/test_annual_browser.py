"""The annual report in real headless chromium (issue 16): a county supervisor opens last year's
report from the supervision menu, downloads the XLSX, issues it, and the public finds it under
"annual reports" with the same figures."""
import io
import re
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

try:
    from tests.browser import launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover
    from browser import launch_chromium, live_app, log_in

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import SHANGHAI, today_shanghai
from registry.models import Account, Post, Unit

pytestmark = pytest.mark.browser
PASSWORD = "Browser-2026"
YEAR = today_shanghai().year - 1     # the page opens at last year, the one due by 31 January


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, postgres_url, redis_service):
    def seed():
        county = Unit(name="某县人民政府")
        db.session.add(county)
        db.session.flush()
        town = Unit(name="某镇人民政府", parent_id=county.id)
        other = Unit(name="邻县人民政府")
        db.session.add_all([town, other])
        db.session.flush()
        db.session.add(User(username="county", password_hash=hash_password(PASSWORD),
                            roles=["supervisor"], unit_id=county.id, active=True,
                            session_version=1))
        accounts = {}
        for key, unit, platform in (("county", county, "wechat"), ("town", town, "douyin"),
                                    ("other", other, "wechat")):
            account = Account(unit_id=unit.id, platform=platform, name=f"{unit.name[:2]}发布",
                              handle=f"h-{key}", status="active", opened_on=date(YEAR - 1, 3, 1),
                              office="信息科", staff=[{"name": "张三"}])
            db.session.add(account)
            db.session.flush()
            accounts[key] = account.id
        for key, month, origin in (("county", 1, "govmedia"), ("county", 5, "platform"),
                                   ("county", 11, "govmedia"), ("town", 6, "manual"),
                                   ("other", 7, "govmedia")):
            db.session.add(Post(account_id=accounts[key], title="更新", source="api",
                                origin=origin,   # uncounted by default: the outbox
                                published_at=datetime(YEAR, month, 3, 9, tzinfo=SHANGHAI)))

    with live_app(tmp_path_factory.mktemp("annualbrowser"), seed, postgres_url=postgres_url,
                  redis_url=redis_service.url) as url:
        yield url


def test_a_county_supervisor_issues_the_annual_report_and_the_public_reads_it(live_server,
                                                                              tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900},
                                          locale="zh-CN", accept_downloads=True)
            page = context.new_page()
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.set_default_timeout(8000)
            log_in(page, live_server, "county", PASSWORD)
            page.goto(live_server + "/supervision")
            page.get_by_role("link", name="年度工作报表").first.click()
            expect(page).to_have_url(re.compile(r"/supervision/annual"))
            expect(page.locator("#annual-head h2")).to_contain_text(f"某县人民政府 · {YEAR}")
            table = page.locator("#annual-accounts")
            expect(table).to_contain_text("某县发布")
            expect(table).to_contain_text("某镇发布")
            expect(table).not_to_contain_text("邻县发布")      # beside the county: not in reach
            county_row = table.locator("tr", has_text="某县发布")
            expect(county_row.locator("td.posts")).to_have_text("3")
            expect(county_row.locator("td.original")).to_have_text("2")
            expect(table.locator("tr", has_text="某镇发布").locator("td.received")).to_have_text("—")
            with page.expect_download() as info:
                page.click("#annual-xlsx")
            path = tmp_path / "annual.xlsx"
            info.value.save_as(str(path))
            page.click("#annual-issue button[type=submit]")
            expect(page.locator("#annual-issued")).to_contain_text(
                f"某县人民政府{YEAR}年度政务新媒体工作报表")
            expect(page.locator(".flash.success")).to_be_visible()

            public = context.new_page()
            public.goto(live_server + "/public")
            public.get_by_role("link", name="年度工作报表").first.click()
            public.get_by_role("link", name=f"某县人民政府{YEAR}年度政务新媒体工作报表").click()
            expect(public.locator("#annual-title")).to_have_text(
                f"某县人民政府{YEAR}年度政务新媒体工作报表")
            expect(public.locator("#annual-accounts tr", has_text="某县发布")
                   .locator("td.posts")).to_have_text("3")
            expect(public.locator("#annual-platforms")).to_contain_text("抖音")
            assert not errors, errors
        finally:
            browser.close()
    sheet = load_workbook(io.BytesIO(path.read_bytes()))["新媒体账号"]
    assert sheet["A1"].value == f"某县人民政府{YEAR}年度政务新媒体工作报表"
    assert sheet["A2"].value.startswith(f"统计期间：{YEAR}-01-01 至 {YEAR}-12-31")
    rows = {r[1]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows["某县发布"][6] == 3 and rows["某镇发布"][6] == 1 and "邻县发布" not in rows
