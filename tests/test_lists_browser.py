"""Lists for thousands of rows in real headless chromium (issue 12): natural order and search
on the units list, the searchable account picker as one types, bulk rectification orders from
the dormant list, a "not a duplicate" decision, and the same pages in English."""
import re
from datetime import date

import pytest

try:
    from tests.browser import launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover
    from browser import launch_chromium, live_app, log_in

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from registry.changes import account_changed
from registry.models import Account, Unit
from registry.supervision.names import refresh_name_index

pytestmark = pytest.mark.browser
PASSWORD = "Browser-2026"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, postgres_url, redis_service):
    def seed():
        units = [Unit(name=f"某县第{n}中学") for n in (99, 9, 10, 100, 1)]
        db.session.add_all(units)
        db.session.flush()
        for name, roles, unit in (("supervisor", ["supervisor"], None),
                                  ("sponsor", ["sponsor"], units[1])):
            db.session.add(User(username=name, password_hash=hash_password(PASSWORD),
                                roles=roles, unit_id=unit.id if unit else None, active=True,
                                session_version=1))
        for n in range(30):
            account = Account(unit_id=units[1].id, platform="other", name=f"某县发布{n}号",
                              handle=f"h-{n}", status="active", opened_on=date(2026, 1, 5))
            db.session.add(account)
            db.session.flush()
            account_changed(account, None)   # written directly: the outbox told by hand
        for unit, name in ((units[0], "某县教育发布"), (units[2], "某县 教育 在线")):
            account = Account(unit_id=unit.id, platform="wechat", name=name,
                              handle=f"gh_{unit.id:012d}", status="active",
                              opened_on=date(2026, 1, 5))
            db.session.add(account)
            db.session.flush()
            account_changed(account, None)
        db.session.flush()
        refresh_name_index()

    with live_app(tmp_path_factory.mktemp("listsbrowser"), seed, postgres_url=postgres_url,
                  redis_url=redis_service.url, worker=False) as url:
        yield url


def login(browser, url, username):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(8000)
    log_in(page, url, username, PASSWORD)
    return page, errors


def test_lists_search_sort_pick_and_act(live_server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page, errors = login(browser, live_server, "supervisor")
            page.goto(live_server + "/units")
            names = page.locator("#units-table tbody td:first-child a").all_inner_texts()
            assert names == ["某县第1中学", "某县第9中学", "某县第10中学", "某县第99中学",
                             "某县第100中学"]
            page.click("#units-table thead a >> text=名称")   # already ascending: descending
            expect(page).to_have_url(re.compile(r"sort=-name"))
            assert page.locator("#units-table tbody td:first-child a").first.inner_text() == \
                "某县第100中学"
            page.fill("input[name=q]", "第9")
            page.click("form.filters button[type=submit]")
            expect(page.locator("#units-table tbody td:first-child a")).to_have_count(2)

            # bulk orders from the dormant list
            page.goto(live_server + "/supervision/dormant")
            page.check("#dormant-table input[aria-label='某县发布0号']")
            page.check("#dormant-table input[aria-label='某县发布1号']")
            page.click("#bulk-orders button[type=submit]")
            expect(page).to_have_url(re.compile(r"/supervision/rectifications"))
            expect(page.locator(".flash")).to_contain_text("已下发 2 份整改通知")
            expect(page.locator("body")).to_contain_text("某县发布0号")

            # not a duplicate: the pair leaves the list
            page.goto(live_server + "/supervision/duplicates")
            row = page.locator("#similar tbody tr", has_text="某县教育发布")
            row.locator("input[name=reason]").fill("分属不同单位的不同账号")
            row.locator("button[type=submit]").click()
            expect(page.locator(".flash")).to_contain_text("不是重复账号")
            expect(page.locator("#similar")).not_to_contain_text("某县教育发布")

            # the same list in English: headings and the export link in English
            page.goto(live_server + "/lang/en")
            page.goto(live_server + "/supervision/dormant")
            expect(page.locator("#dormant-table thead")).to_contain_text("Days without update")
            expect(page.locator(".exports")).to_contain_text("Download the whole list")
            assert not errors, errors

            # the sponsor's picker: typing narrows the accounts from the server
            page, errors = login(browser, live_server, "sponsor")
            page.goto(live_server + "/supervision/post-logs")
            select = page.locator("#f-account_id option")
            expect(select).to_have_count(21)
            expect(page.locator(".picker-find")).to_be_hidden()
            page.fill("#f-account_id-q", "29")
            expect(select).to_have_count(2)           # the blank choice and 某县发布29号
            expect(page.locator("#f-account_id")).to_contain_text("某县发布29号")
            expect(page.locator("[data-picker-status]")).to_contain_text("找到 1 个账号")
            assert not errors, errors
        finally:
            browser.close()
