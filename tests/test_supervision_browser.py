"""The supervision dashboard and the quarterly report in real headless chromium: the chart draws
(non-blank canvas pixels), the as-of picker and drill-down work, the XLSX downloaded through the
page opens with openpyxl and holds the right rows."""
import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook

try:
    from tests.browser import launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover
    from browser import launch_chromium, live_app, log_in

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import SHANGHAI
from registry.changes import account_changed
from registry.models import Account, AccountEvent, Filing, Unit
from registry.posts import record_post_as

pytestmark = pytest.mark.browser
PASSWORD = "Browser-2026"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, postgres_url, redis_service):
    def seed():
        units = [Unit(name="某县人民政府办公室"), Unit(name="某县教育局")]
        db.session.add_all(units)
        db.session.flush()
        supervisor = User(username="supervisor", password_hash=hash_password(PASSWORD),
                          roles=["supervisor"], active=True, session_version=1)
        recorder = User(username="admin", password_hash=hash_password(PASSWORD), roles=["admin"],
                        active=True, session_version=1)
        db.session.add_all([supervisor, recorder])
        db.session.flush()
        made = []
        for i, (unit, platform, name) in enumerate([(units[0], "wechat", "某县发布"),
                                                    (units[0], "weibo", "某县发布"),
                                                    (units[1], "wechat", "某县教育")]):
            account = Account(unit_id=unit.id, platform=platform, name=name,
                              handle=f"gh_{i:012d}", status="active", opened_on=datetime(
                                  2026, 7, 1).date(), office="信息科", staff=[{"name": "张三"}])
            db.session.add(account)
            db.session.flush()
            account_changed(account, None)  # written directly: the outbox told by hand
            event = AccountEvent(account_id=account.id, kind="open", event_date=account.opened_on)
            db.session.add(event)
            db.session.flush()
            db.session.add(Filing(account_id=account.id, event_id=event.id, unit_id=unit.id,
                                  event="open", event_date=account.opened_on,
                                  due_on=datetime(2026, 7, 8).date(),
                                  filed_on=datetime(2026, 7, 3).date() if i else None))
            made.append(account)
        for day in (2, 20, 40, 60, 80, 100, 120):
            when = datetime(2026, 7, 1, 1, 0, tzinfo=SHANGHAI).fromordinal(
                datetime(2026, 7, 1).toordinal() + day).replace(hour=1, tzinfo=SHANGHAI)
            record_post_as(recorder, made[0], when, f"更新{day}", None)
        record_post_as(recorder, made[1], datetime(2026, 9, 20, 9, tzinfo=SHANGHAI), "九月", None)

    with live_app(tmp_path_factory.mktemp("svbrowser"), seed, postgres_url=postgres_url,
                  redis_url=redis_service.url) as url:
        yield url


def test_dashboard_chart_and_report_download(live_server, tmp_path):
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
            log_in(page, live_server, "supervisor", PASSWORD)
            page.get_by_role("link", name="监管").first.click()
            expect(page.locator("h1")).to_have_text("监管")
            page.fill("#f-as_of", "2026-09-30")
            page.click("#asof-form button[type=submit]")
            expect(page).to_have_url(re.compile(r"as_of=2026-09-30"))
            canvas = page.locator("#trend-chart")
            expect(canvas).to_have_attribute("data-drawn", "3")
            coloured = page.evaluate("""() => {
                const c = document.getElementById('trend-chart');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0;
                for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; }
                return n;
            }""")
            assert coloured > 1000, coloured
            # 某县教育 (no posts since 07-01) and the WeChat 某县发布 (last 09-19) are dormant on 09-30
            expect(page.locator("#dormant-count")).to_have_text("2")
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            page.click("#dormant-count")
            expect(page.locator("#dormant-table")).to_contain_text("某县教育")
            page.click("#dormant-table a >> text=某县教育")
            expect(page).to_have_url(re.compile(r"/accounts/\d+$"))

            page.goto(live_server + "/supervision/reports")
            page.fill("input[name=year]", "2026")
            page.select_option("select[name=quarter]", "3")
            page.click("#generate button[type=submit]")
            expect(page.locator("#shown")).to_contain_text("某县发布")
            with page.expect_download() as info:
                page.click("#reports a.xlsx >> nth=0")
            path = tmp_path / "report.xlsx"
            info.value.save_as(str(path))
            assert not errors, errors
        finally:
            browser.close()
    wb = load_workbook(io.BytesIO(path.read_bytes()))
    ws = wb["季度检查"]
    header = [c.value for c in ws[3]]   # under the title and period rows
    assert header[:6] == ["主办单位", "账号编号", "平台", "账号名称", "状态", "本季度更新次数"]
    rows = {(r[0], r[3], r[2]): r for r in ws.iter_rows(min_row=4, values_only=True)}
    assert set(rows) == {("某县人民政府办公室", "某县发布", "微信公众号"),
                         ("某县人民政府办公室", "某县发布", "微博"),
                         ("某县教育局", "某县教育", "微信公众号")}
    assert rows[("某县人民政府办公室", "某县发布", "微信公众号")][5] == 5   # 07-03 … 10-29: 5 in Q3
    column = {name: header.index(name) for name in ("逾期未备案", "发现的问题")}
    assert rows[("某县人民政府办公室", "某县发布", "微信公众号")][column["逾期未备案"]] == 1
    assert "超过 10 天未更新" in rows[("某县教育局", "某县教育", "微信公众号")][column["发现的问题"]]
    assert ws.page_setup.orientation == "landscape"
    data = (tmp_path / "dashboard.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
