"""Issue 12 in headless chromium: a future filing date refused and corrected, a deregistration
that asks why and whom to ask and shows the notice before it goes public."""
import base64
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

try:  # tests/ as a package or as a plain directory on sys.path
    from tests.browser import database_of, jobs_app, launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover - depends on the rootdir layout
    from browser import database_of, jobs_app, launch_chromium, live_app, log_in

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import today_shanghai
from govmedia.worker import run_burst
from registry import services as registry_services
from publisher.editorial.articles import create_article
from publisher.editorial.review import review_article, submit_article
from publisher.schemas import ArticleIn
from registry.models import Account, Unit
from registry.schemas import AccountIn

pytestmark = pytest.mark.browser

PASSWORD = "Browser-2026"


@pytest.fixture(scope="module")
def daily_server(tmp_path_factory, postgres_url, redis_service):
    def seed():
        unit = Unit(name="某县人民政府办公室", office="县政府办公室信息科")
        db.session.add(unit)
        db.session.flush()
        users = {}
        for username, roles, unit_id in [("sponsor", ["sponsor"], unit.id),
                                         ("supervisor", ["supervisor"], None),
                                         ("editor", ["editor"], unit.id)]:
            users[username] = User(username=username, password_hash=hash_password(PASSWORD),
                                   roles=roles, unit_id=unit_id, active=True, session_version=1)
            db.session.add(users[username])
        db.session.flush()
        newsroom = Unit(name="某县融媒体中心")  # its own account: the first test deregisters one
        db.session.add(newsroom)
        db.session.flush()
        users["editor"].unit_id = newsroom.id
        db.session.add(Account(unit_id=newsroom.id, platform="wechat", name="某县融媒", status="active",
                               handle="gh_0000000000aa", opened_on=date(2026, 1, 5), staff=[]))
        registry_services.register_account(users["sponsor"], AccountIn(
            unit_id=unit.id, platform="wechat", name="某县发布", handle="gh_0123456789ab",
            opened_on=date(2026, 11, 2), office="县政府办公室信息科"))

    with live_app(tmp_path_factory.mktemp("browser-daily"), seed, postgres_url=postgres_url,
                  redis_url=redis_service.url, worker=False) as url:
        yield url


def new_page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    errors = []
    # A refused form answers 400 or 409 on purpose; any other console error is a fault.
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
            and not re.search(r"status of 40[09]", msg.text) else None)
    page.set_default_timeout(5000)
    return page, errors


def test_a_future_filing_is_refused_then_corrected_and_a_deregistration_confirmed(
        daily_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    tomorrow = (today_shanghai() + timedelta(days=1)).isoformat()
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page, errors = new_page(browser)
            log_in(page, daily_server, "sponsor", PASSWORD)
            page.goto(daily_server + "/accounts")
            page.get_by_role("link", name="某县发布").first.click()
            filings = page.locator("#filings")
            filings.locator("input[name=filed_on]").fill(tomorrow)
            filings.locator("input[name=reference]").fill("备-2026-001")
            filings.get_by_role("button", name="登记备案").click()
            expect(page.locator("#filings .field.invalid")).to_contain_text("尚未到来")
            # the form stays with what was typed, to be corrected
            expect(filings.locator("input[name=reference]")).to_have_value("备-2026-001")
            filings.locator("input[name=filed_on]").fill("2026-11-03")
            filings.get_by_role("button", name="登记备案").click()
            expect(page.locator(".flash.success")).to_contain_text("按时备案")
            expect(filings).to_contain_text("2026-11-03")

            # a wrong filing is corrected from the same row
            filings.get_by_text("更正此备案").click()
            filings.locator("input[name=filed_on]").fill("2026-11-04")
            filings.get_by_role("button", name="保存更正").click()
            expect(filings.locator("tbody")).to_contain_text("2026-11-04")

            # deregistration: the page asks why and whom to ask, then shows the notice
            page.select_option("#f-kind", "deregister")
            page.fill("#f-event_date", "2026-12-01")
            page.once("dialog", lambda dialog: dialog.accept())
            page.locator("#event-form button[type=submit]").click()
            expect(page.locator("#decision-fields .field.invalid")).to_have_count(2)
            page.select_option("#f-kind", "deregister")
            page.select_option("#f-reason_category", "merged")
            page.fill("#f-contact", "县委宣传部 0000-1234567")
            page.fill("#f-event-reason", "职能划入县融媒体中心")
            page.once("dialog", lambda dialog: dialog.accept())
            page.locator("#event-form button[type=submit]").click()
            expect(page.locator("#notice-preview")).to_contain_text("县委宣传部 0000-1234567")
            expect(page.locator("#notice-preview")).to_contain_text("关于注销政务新媒体账号")
            page.screenshot(path=str(tmp_path / "confirm-deregistration.png"), full_page=True)
            page.get_by_role("button", name="确认并发布公告").click()
            expect(page.locator(".flash.success").first).to_contain_text("注销")
            expect(page.locator("h1")).to_contain_text("某县发布")

            # the supervisor corrects a filing too; the audit log has it
            other, other_errors = new_page(browser)
            log_in(other, daily_server, "supervisor", PASSWORD)
            other.goto(page.url)
            other.locator("#filings").get_by_text("更正此备案").first.click()
            other.locator("#filings input[name=reference]").first.fill("备-2026-002")
            other.locator("#filings").get_by_role("button", name="保存更正").first.click()
            expect(other.locator("#filings tbody")).to_contain_text("备-2026-002")
            assert not errors and not other_errors, errors + other_errors
        finally:
            browser.close()


def test_an_article_over_wechats_title_limit_cannot_enter_review(daily_server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page, errors = new_page(browser)
            log_in(page, daily_server, "editor", PASSWORD)
            page.goto(daily_server + "/articles/new")
            page.fill("#f-title", "县" * 70)
            page.fill("#f-body_html", "<p>会议研究部署了近期重点工作。</p>")
            page.locator("input[name=target_account_ids]").first.check()
            page.set_input_files("#f-cover", files=[{"name": "cover.png", "mimeType": "image/png",
                                                     "buffer": png_bytes()}])
            page.click("#save")
            expect(page).to_have_url(re.compile(r"/articles/\d+$"))
            expect(page.locator("#checks")).to_contain_text("微信公众号：标题 70 字，超过平台上限 64 字")
            for box in page.locator("input[name=checklist]").all():
                box.check()
            page.click("#submit-button")
            expect(page.locator("#refusal")).to_contain_text("未通过自动检查")
            expect(page.locator("h1 .badge")).to_have_text("草稿")
            assert not errors, errors
        finally:
            browser.close()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 50), (30, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_user_changes_their_password_and_ends_other_sessions(daily_server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page, errors = new_page(browser)
            elsewhere, other_errors = new_page(browser)
            log_in(page, daily_server, "supervisor", PASSWORD)
            log_in(elsewhere, daily_server, "supervisor", PASSWORD)
            page.click("#profile-link")
            expect(page.locator("h1")).to_have_text("个人设置")
            expect(page.locator("#my-roles")).to_contain_text("监管")
            expect(page.locator("#my-unit")).to_have_text("全部单位")
            page.fill("#f-current_password", "wrong-password-1")
            page.fill("#f-new_password", "Changed-2026x")
            page.locator("#password button[type=submit]").click()
            expect(page.locator("#password .field.invalid")).to_contain_text("当前密码不正确")
            page.fill("#f-current_password", PASSWORD)
            page.fill("#f-new_password", "Changed-2026x")
            page.locator("#password button[type=submit]").click()
            expect(page.locator(".flash.success")).to_contain_text("密码已修改")
            elsewhere.reload()
            expect(elsewhere).to_have_url(re.compile(r"/login"))
            log_in(elsewhere, daily_server, "supervisor", "Changed-2026x")
            page.once("dialog", lambda dialog: dialog.accept())
            page.locator("#sessions button[type=submit]").click()
            expect(page.locator(".flash.success")).to_contain_text("已全部结束")
            elsewhere.reload()
            expect(elsewhere).to_have_url(re.compile(r"/login"))
            page.reload()
            expect(page.locator("h1")).to_have_text("个人设置")
            assert not errors and not other_errors, errors + other_errors
        finally:
            browser.close()


@pytest.fixture(scope="module")
def notify_server(tmp_path_factory, postgres_url, redis_service):
    """With a real worker: notifications are created by jobs, after the request's commit."""
    def seed():
        unit = Unit(name="某县人民政府办公室", office="县政府办公室信息科")
        db.session.add(unit)
        db.session.flush()
        for username, roles, unit_id in [("sponsor", ["sponsor"], unit.id),
                                         ("supervisor", ["supervisor"], None)]:
            db.session.add(User(username=username, password_hash=hash_password(PASSWORD),
                                roles=roles, unit_id=unit_id, active=True, session_version=1))

    base_dir = tmp_path_factory.mktemp("browser-notify")
    # A Redis database of its own: no other test's worker (or leftover job) shares its queue.
    redis_url = redis_service.url.rsplit("/", 1)[0] + "/7"
    # No worker process: the test runs the queued jobs itself (a burst, as a worker would run
    # them after the commit), so nothing races and nothing waits on a worker's shutdown.
    with live_app(base_dir, seed, postgres_url=postgres_url, redis_url=redis_url,
                  worker=False) as url:
        worker_app = jobs_app(postgres_url, base_dir, redis_url)
        yield url, lambda: run_burst(worker_app)


def issue_order(page, base, finding):
    page.goto(base + "/supervision/rectifications")
    page.fill("#f-finding", finding)
    page.locator("#new-order button[type=submit]").click()
    page.wait_for_load_state("load")


def test_a_rectification_order_rings_the_sponsors_bell_unless_turned_off(notify_server):
    from playwright.sync_api import expect, sync_playwright

    notify_server, run_jobs = notify_server
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            supervisor, errors = new_page(browser)
            sponsor, other_errors = new_page(browser)
            log_in(supervisor, notify_server, "supervisor", PASSWORD)
            log_in(sponsor, notify_server, "sponsor", PASSWORD)
            expect(sponsor.locator("#bell")).to_be_visible()
            expect(sponsor.locator("#bell-count")).to_have_count(0)
            issue_order(supervisor, notify_server, "账号简介缺少主办单位名称")
            sponsor.reload()
            expect(sponsor.locator("#bell-count")).to_have_count(0)   # not in the request
            run_jobs()
            sponsor.reload()
            expect(sponsor.locator("#bell-count")).to_have_text("1")
            sponsor.click("#bell")
            expect(sponsor.locator("#notifications")).to_contain_text("账号简介缺少主办单位名称")
            sponsor.locator(".mark-read").first.click()
            expect(sponsor.locator("#bell-count")).to_have_count(0)
            sponsor.locator("#notifications a").first.click()
            expect(sponsor).to_have_url(re.compile(r"/supervision/rectifications/\d+$"))

            # turned off on the profile page: the next order is not told
            sponsor.click("#profile-link")
            sponsor.uncheck("#kind-rectification_order")
            sponsor.get_by_role("button", name="保存通知设置").click()
            expect(sponsor.locator(".flash.success")).to_contain_text("通知设置已保存")
            expect(sponsor.locator("#kind-rectification_order")).not_to_be_checked()
            issue_order(supervisor, notify_server, "第二项问题")
            run_jobs()
            sponsor.reload()
            expect(sponsor.locator("#bell-count")).to_have_count(0)
            assert not errors and not other_errors, errors + other_errors
        finally:
            browser.close()



@pytest.fixture(scope="module")
def live_server(tmp_path_factory, postgres_url, redis_service):
    """A signed-off article whose delivery waits (publish_at tomorrow); no worker: the test
    writes the outcome as a worker would, and the open page must show it."""
    def seed():
        unit = Unit(name="某县人民政府办公室")
        db.session.add(unit)
        db.session.flush()
        people = {}
        for username, role in [("editor", "editor"), ("reviewer", "reviewer"),
                               ("signer", "signer")]:
            people[username] = User(username=username, password_hash=hash_password(PASSWORD),
                                    roles=[role], unit_id=unit.id, active=True,
                                    session_version=1)
            db.session.add(people[username])
        account = Account(unit_id=unit.id, platform="wechat", name="某县发布", status="active",
                          handle="gh_0123456789ab", opened_on=date(2026, 1, 5), staff=[])
        db.session.add(account)
        db.session.flush()
        article = create_article(people["editor"], ArticleIn(
            title="县政府召开常务会议", body_html="<p>会议研究部署了近期重点工作。</p>",
            cover_image_base64=base64.b64encode(png_bytes()).decode(),
            target_account_ids=[account.id],
            publish_at=datetime.now(timezone.utc) + timedelta(days=1)))
        submit_article(people["editor"], article)
        review_article(people["reviewer"], article, "approve")
        review_article(people["signer"], article, "approve")

    base_dir = tmp_path_factory.mktemp("browser-live")
    with live_app(base_dir, seed, postgres_url=postgres_url, redis_url=redis_service.url,
                  worker=False) as url:
        yield url, database_of(postgres_url, base_dir)


def test_the_delivery_table_follows_the_outcome_without_a_reload(live_server):
    from playwright.sync_api import expect, sync_playwright

    url, database_url = live_server
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page, errors = new_page(browser)
            log_in(page, url, "editor", PASSWORD)
            page.goto(url + "/articles")
            page.get_by_role("link", name="县政府召开常务会议").click()
            status = page.locator("#delivery-table tbody tr [data-field=status]")
            expect(status).to_have_text("排队待发")
            page.evaluate("window.stillTheSamePage = true")
            # what the delivery job writes when the platform refuses (publisher.fanout.settle)
            engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg"))
            with engine.begin() as conn:
                conn.execute(text("UPDATE deliveries SET status = 'failed', attempts = 1, "
                                  "last_error = '平台拒绝：标题过长'"))
            engine.dispose()
            expect(status).to_have_text("失败", timeout=15_000)
            row = page.locator("#delivery-table tbody tr").first
            expect(row.locator("[data-field=error]")).to_have_text("平台拒绝：标题过长")
            expect(row.locator("[data-field=attempts]")).to_have_text("1")
            assert page.evaluate("window.stillTheSamePage") is True
            assert not errors, errors
        finally:
            browser.close()
