"""Issue 12 in headless chromium, for bullets that had only test-client tests: a withdrawn
article (已撤稿) on its page, in the list and in the list's filter (editor); the publishing queue's
counts following a delivery without a reload (supervisor, admin); a unit's name taken under the
same parent refused on the form (admin); account and article search from the search box
(sponsor, editor); a supervision list's XLSX download opened as a workbook (supervisor)."""
import base64
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

try:  # tests/ as a package or as a plain directory on sys.path
    from tests.browser import launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover - depends on the rootdir layout
    from browser import launch_chromium, live_app, log_in

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from publisher.editorial.articles import create_article
from publisher.editorial.review import review_article, submit_article
from publisher.schemas import ArticleIn
from registry.changes import account_changed
from registry.models import Account, Unit

pytestmark = pytest.mark.browser

PASSWORD = "Browser-2026"
WITHDRAWN_TITLE = "县政府召开常务会议"
KEPT_TITLE = "县教育局部署秋季开学工作"
QUEUE_TITLE = "县文旅局发布国庆假期出游提示"
DRAFT_TITLE = "关于做好春耕生产工作的通知"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 50), (30, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, postgres_url, redis_service):
    """One unit with three accounts (opened long ago: all dormant), three signed-off articles
    whose deliveries wait (publish_at tomorrow) and a draft; a parent unit with its 教育局.
    No worker: a test writes a delivery's outcome as a worker would."""
    def seed():
        county = Unit(name="某县人民政府")
        db.session.add(county)
        db.session.flush()
        bureau = Unit(name="教育局", parent_id=county.id)
        office = Unit(name="某县人民政府办公室", office="县政府办公室信息科")
        db.session.add_all([bureau, office])
        db.session.flush()
        people = {}
        for username, roles, unit_id in [("admin", ["admin"], None),
                                         ("supervisor", ["supervisor"], None),
                                         ("sponsor", ["sponsor"], office.id),
                                         ("editor", ["editor"], office.id),
                                         ("reviewer", ["reviewer"], office.id),
                                         ("signer", ["signer"], office.id)]:
            people[username] = User(username=username, password_hash=hash_password(PASSWORD),
                                    roles=roles, unit_id=unit_id, active=True,
                                    session_version=1)
            db.session.add(people[username])
        accounts = []
        for platform, name, handle in [("wechat", "某县发布", "gh_0123456789ab"),
                                       ("weibo", "某县教育发布", "jyfb2026"),
                                       ("douyin", "某县文旅", "wenlv_01")]:
            account = Account(unit_id=office.id, platform=platform, name=name, handle=handle,
                              status="active", opened_on=date(2026, 1, 5), staff=[])
            db.session.add(account)
            db.session.flush()
            account_changed(account, None)   # written directly: the outbox told by hand
            accounts.append(account)
        db.session.flush()
        cover = base64.b64encode(png_bytes()).decode()
        for title in (WITHDRAWN_TITLE, KEPT_TITLE, QUEUE_TITLE):
            article = create_article(people["editor"], ArticleIn(
                title=title, body_html="<p>会议研究部署了近期重点工作。</p>",
                cover_image_base64=cover, target_account_ids=[accounts[0].id],
                publish_at=datetime.now(timezone.utc) + timedelta(days=1)))
            submit_article(people["editor"], article)
            review_article(people["reviewer"], article, "approve")
            review_article(people["signer"], article, "approve")
        create_article(people["editor"], ArticleIn(
            title=DRAFT_TITLE, body_html="<p>各乡镇要抓好春耕备耕。</p>",
            cover_image_base64=cover, target_account_ids=[accounts[0].id]))

    base_dir = tmp_path_factory.mktemp("daily-more")
    with live_app(base_dir, seed, postgres_url=postgres_url, redis_url=redis_service.url,
                  worker=False, SEND_FILE_MAX_AGE_DEFAULT=3600) as url:
        database_url = make_url(postgres_url).set(
            database="browser_" + base_dir.name.replace("-", "_")).render_as_string(
            hide_password=False)
        yield url, database_url


def new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                  accept_downloads=True)
    page = context.new_page()
    errors = []
    # A refused form answers 400 or 409 on purpose; any other console error is a fault.
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and not re.search(r"status of 40[09]", msg.text) else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.set_default_timeout(8000)
    return page, errors


def titles(page):
    return page.locator("table.stack tbody td:first-child a").all_inner_texts()


def test_a_withdrawn_article_shows_withdrawn_on_its_page_in_the_list_and_in_the_filter(
        live_server):
    from playwright.sync_api import expect, sync_playwright

    url, _database = live_server
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page, errors = new_page(browser)
            log_in(page, url, "editor", PASSWORD)
            page.goto(url + "/articles")
            page.get_by_role("link", name=WITHDRAWN_TITLE).click()
            expect(page.locator("#article-status .badge")).to_have_text("已通过")
            page.fill("#f-reason", "数据有误，撤稿更正")
            page.click("#withdraw")
            expect(page.locator(".flash.success")).to_contain_text("已开始撤稿")
            expect(page.locator(".heading h1")).to_contain_text(WITHDRAWN_TITLE)
            expect(page.locator("#article-status .badge")).to_have_text("已撤稿")
            expect(page.locator("#withdrawal")).to_contain_text("数据有误，撤稿更正")
            page.reload()   # and it stays so
            expect(page.locator("#article-status .badge")).to_have_text("已撤稿")

            # the list: 已撤稿 on its row, not on the others
            page.goto(url + "/articles")
            withdrawn_row = page.locator("table.stack tbody tr", has_text=WITHDRAWN_TITLE)
            expect(withdrawn_row.locator(".badge")).to_have_text("已撤稿")
            kept_row = page.locator("table.stack tbody tr", has_text=KEPT_TITLE)
            expect(kept_row.locator(".badge")).to_have_text("已通过")
            expect(page.locator("table.stack tbody .badge", has_text="已撤稿")).to_have_count(1)

            # the filter offers 已撤稿 and keeps only the withdrawn article
            status = page.locator("form.filters select[name=status]")
            expect(status.locator("option", has_text="已撤稿")).to_have_count(1)
            status.select_option(label="已撤稿")
            page.locator("form.filters button[type=submit]").click()
            expect(page).to_have_url(re.compile(r"status=withdrawn"))
            expect(status).to_have_value("withdrawn")
            expect(page.locator("table.stack tbody tr")).to_have_count(1)
            assert titles(page) == [WITHDRAWN_TITLE]

            # and 已通过 no longer holds it (its stored status is still approved)
            page.locator("form.filters select[name=status]").select_option(label="已通过")
            page.locator("form.filters button[type=submit]").click()
            expect(page).to_have_url(re.compile(r"status=approved"))
            expect(page.locator("table.stack tbody tr", has_text=KEPT_TITLE)).to_have_count(1)
            assert WITHDRAWN_TITLE not in titles(page)
            assert not errors, errors
        finally:
            browser.close()


def test_the_publishing_queue_counts_follow_a_delivery_without_a_reload(live_server):
    from playwright.sync_api import expect, sync_playwright

    url, database_url = live_server
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            pages = []
            for username in ("supervisor", "admin"):
                page, errors = new_page(browser)
                log_in(page, url, username, PASSWORD)
                page.goto(url + "/publishing/queue")
                expect(page.locator("h1")).to_have_text("发布队列")
                expect(page.locator("#count-sent")).to_have_text("0")
                expect(page.locator("#count-failed")).to_have_text("0")
                page.evaluate("window.stillTheSamePage = true")
                pages.append((page, errors))
            queued = int(pages[0][0].locator("#count-queued").inner_text())
            assert queued >= 3, queued   # the three signed-off articles' deliveries wait

            # what the delivery job writes when the platform refuses (publisher.fanout.settle)
            engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg"))
            with engine.begin() as conn:
                changed = conn.execute(text(
                    "UPDATE deliveries SET status = 'failed', attempts = 1, "
                    "last_error = '平台拒绝：标题过长' WHERE article_id = "
                    "(SELECT id FROM articles WHERE title = :title)"), {"title": QUEUE_TITLE})
                assert changed.rowcount == 1
            engine.dispose()
            for page, _errors in pages:
                expect(page.locator("#count-failed")).to_have_text("1", timeout=15_000)
                expect(page.locator("#count-queued")).to_have_text(str(queued - 1))
                expect(page.locator("#count-sent")).to_have_text("0")
                assert page.evaluate("window.stillTheSamePage") is True
            for page, errors in pages:
                assert not errors, errors
        finally:
            browser.close()


def test_a_second_unit_of_the_same_name_under_the_same_parent_is_refused(live_server):
    from playwright.sync_api import expect, sync_playwright

    url, _database = live_server
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page, errors = new_page(browser)
            log_in(page, url, "admin", PASSWORD)
            page.goto(url + "/units/new")
            page.fill("#f-name", "教育局")
            page.fill("#f-office", "县教育局办公室")
            page.fill("#f-parent_id-q", "某县人民政府")
            expect(page.locator("#f-parent_id option", has_text="某县人民政府")).not_to_have_count(0)
            page.select_option("#f-parent_id", label="某县人民政府")
            page.get_by_role("button", name="保存").click()
            page.wait_for_load_state("load")

            name_field = page.locator(".field", has=page.locator("#f-name"))
            expect(name_field).to_have_class(re.compile(r"\binvalid\b"))
            expect(page.locator("#f-name")).to_have_attribute("aria-invalid", "true")
            expect(name_field.locator(".field-error")).to_contain_text(
                "同一上级单位下已有名为教育局的单位")
            expect(page.locator("h1")).to_have_text("新建单位")
            # what was typed stays, to be corrected
            expect(page.locator("#f-name")).to_have_value("教育局")
            expect(page.locator("#f-office")).to_have_value("县教育局办公室")
            expect(page.locator("#f-parent_id option:checked")).to_have_text("某县人民政府")

            # nothing was saved: one 教育局 in the list
            page.goto(url + "/units?q=" + "教育局")
            expect(page.locator("#units-table tbody td:first-child a")).to_have_count(1)
            assert not errors, errors
        finally:
            browser.close()


def test_accounts_and_articles_are_found_from_the_search_box(live_server):
    from playwright.sync_api import expect, sync_playwright

    url, _database = live_server
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for username in ("sponsor", "editor"):
                page, errors = new_page(browser)
                log_in(page, url, username, PASSWORD)
                page.goto(url + "/accounts")
                expect(page.locator("table.stack tbody td:first-child a")).to_have_count(3)
                for typed, found in (("教育", "某县教育发布"), ("wenlv", "某县文旅"),
                                     ("0123456789", "某县发布")):
                    search = page.locator("form.filters input[name=q]")
                    search.fill(typed)
                    search.press("Enter")
                    expect(page).to_have_url(re.compile(r"[?&]q="))
                    expect(page.locator("table.stack tbody td:first-child a")).to_have_text(
                        [found])
                    expect(page.locator("form.filters input[name=q]")).to_have_value(typed)
                page.locator("form.filters input[name=q]").fill("没有这个账号")
                page.locator("form.filters button[type=submit]").click()
                expect(page.locator("table.stack tbody")).to_contain_text("没有符合条件的账号")

                page.goto(url + "/articles")
                expect(page.locator("table.stack tbody td:first-child a")).to_have_count(4)
                search = page.locator("form.filters input[name=q]")
                search.fill("开学")
                page.locator("form.filters button[type=submit]").click()
                expect(page.locator("table.stack tbody td:first-child a")).to_have_text(
                    [KEPT_TITLE])
                page.locator("form.filters input[name=q]").fill("春耕")
                page.locator("form.filters input[name=q]").press("Enter")
                expect(page.locator("table.stack tbody td:first-child a")).to_have_text(
                    [DRAFT_TITLE])
                page.locator("form.filters input[name=q]").fill("县")
                page.locator("form.filters button[type=submit]").click()
                expect(page.locator("table.stack tbody td:first-child a")).to_have_count(3)
                assert sorted(titles(page)) == sorted([WITHDRAWN_TITLE, KEPT_TITLE, QUEUE_TITLE])
                assert not errors, (username, errors)
        finally:
            browser.close()


def test_the_dormant_list_downloads_as_a_workbook(live_server, tmp_path):
    from openpyxl import load_workbook
    from playwright.sync_api import expect, sync_playwright

    url, _database = live_server
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page, errors = new_page(browser)
            log_in(page, url, "supervisor", PASSWORD)
            page.goto(url + "/supervision/dormant")
            title = page.locator("h1").inner_text()
            row = page.locator("#dormant-table tbody tr", has_text="某县教育发布")
            expect(row).to_have_count(1)
            days = row.locator("td").nth(4).inner_text().strip()
            band = row.locator("td").nth(5).inner_text().strip()
            link = page.locator(".exports a.xlsx")
            expect(page.locator(".exports")).to_contain_text("下载")
            with page.expect_download() as info:
                link.click()
            download = info.value
            assert download.suggested_filename.endswith(".xlsx")
            saved = tmp_path / "dormant.xlsx"
            download.save_as(saved)

            sheet = load_workbook(saved).active
            assert sheet["A1"].value == title
            assert sheet["A2"].value.startswith("截至 ")
            assert [c.value for c in sheet[3]] == [
                "账号", "平台", "单位", "最近更新", "未更新天数", "状态"]
            rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
            assert set(rows) == {"某县发布", "某县教育发布", "某县文旅"}
            data = rows["某县教育发布"]
            assert data[1] == "微博" and data[2] == "某县人民政府办公室"
            assert data[3] in (date(2026, 1, 5), datetime(2026, 1, 5))
            assert str(data[4]) == days and data[5] == band   # as the page shows them
            assert not errors, errors
        finally:
            browser.close()
