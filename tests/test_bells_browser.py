"""Issue 12's notifications in headless chromium, kind by kind and role by role: the reviewer
and the signer told that an article waits for them, the drafter told of the sign-off and of a
delivery that failed, the sponsor told of a filing due tomorrow; each made by a job after the
request (never in it), each linking to its object, each said again in English when the reader
switches. The rectification order's bell is tests/test_browser_daily.py's."""
import base64
import io
import re
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

try:  # tests/ as a package or as a plain directory on sys.path
    from tests.browser import jobs_app, launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover - depends on the rootdir layout
    from browser import jobs_app, launch_chromium, live_app, log_in

from test_browser_daily import new_page

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import today_shanghai
from govmedia.worker import run_burst
from publisher.editorial.articles import create_article
from publisher.editorial.review import submit_article
from publisher.schemas import ArticleIn
from registry import services as registry_services
from registry.models import Filing, Unit
from registry.schemas import AccountIn
from registry.supervision.jobs import create_notifications

pytestmark = pytest.mark.browser
PASSWORD = "Browser-2026"
TITLE = "县政府召开第十三次常务会议"
ACCOUNT = "某县发布"
CJK = re.compile(r"[\u4e00-\u9fff]")


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 50), (30, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bells(tmp_path_factory, postgres_url, redis_service):
    """A unit with its four roles, a WeChat account registered today (its opening filing
    pending) and never authorised (so a delivery to it fails), and an article its drafter
    submitted. No worker: the test runs the queued jobs itself, as a worker would."""
    def seed():
        unit = Unit(name="某县人民政府办公室", office="县政府办公室信息科")
        db.session.add(unit)
        db.session.flush()
        people = {}
        for username, roles in [("editor", ["editor"]), ("reviewer", ["reviewer"]),
                                ("signer", ["signer"]), ("sponsor", ["sponsor"])]:
            people[username] = User(username=username, password_hash=hash_password(PASSWORD),
                                    roles=roles, unit_id=unit.id, active=True,
                                    session_version=1)
            db.session.add(people[username])
        admin = User(username="admin", password_hash=hash_password(PASSWORD), roles=["admin"],
                     active=True, session_version=1)
        db.session.add(admin)
        db.session.flush()
        account, _warnings = registry_services.register_account(admin, AccountIn(
            unit_id=unit.id, platform="wechat", name=ACCOUNT, handle="gh_0123456789ab",
            opened_on=today_shanghai()))
        article = create_article(people["editor"], ArticleIn(
            title=TITLE, body_html="<p>会议研究部署了近期重点工作。</p>",
            cover_image_base64=base64.b64encode(png_bytes()).decode(),
            target_account_ids=[account.id]))
        submit_article(people["editor"], article)

    base_dir = tmp_path_factory.mktemp("browser-bells")
    redis_url = redis_service.url.rsplit("/", 1)[0] + "/8"   # a queue of its own
    with live_app(base_dir, seed, postgres_url=postgres_url, redis_url=redis_url,
                  worker=False) as url:
        worker_app = jobs_app(postgres_url, base_dir, redis_url)
        # the failed delivery's job ends in a failed job on purpose: not raised
        yield url, worker_app, lambda: run_burst(worker_app, raise_failures=False)


def open_bell(page):
    page.click("#bell")
    page.wait_for_url(re.compile(r"/notifications"))
    return page.locator("#notifications li")


def test_each_stage_and_the_drafter_are_told_through_the_bell(bells):
    from playwright.sync_api import expect, sync_playwright

    base, _jobs_app, run_jobs = bells
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            reviewer, errors = new_page(browser)
            log_in(reviewer, base, "reviewer", PASSWORD)
            expect(reviewer.locator("#bell-count")).to_have_count(0)   # not in the request
            run_jobs()
            reviewer.reload()
            expect(reviewer.locator("#bell-count")).to_have_text("1")
            expect(open_bell(reviewer).first).to_contain_text(f"稿件“{TITLE}”等待您审核")
            reviewer.locator("#notifications li a").first.click()
            expect(reviewer).to_have_url(re.compile(r"/articles/\d+$"))
            reviewer.fill("#f-comment", "内容准确")
            reviewer.click("#approve")
            expect(reviewer.locator("h1 .badge")).to_have_text("待签发")

            signer, signer_errors = new_page(browser)
            log_in(signer, base, "signer", PASSWORD)
            expect(signer.locator("#bell-count")).to_have_count(0)
            run_jobs()
            signer.reload()
            expect(signer.locator("#bell-count")).to_have_text("1")
            expect(open_bell(signer).first).to_contain_text(f"稿件“{TITLE}”等待您签发")
            signer.locator("#notifications li a").first.click()
            expect(signer.locator("#approve")).to_have_text("签发")
            signer.click("#approve")
            expect(signer.locator(".flash.success")).to_be_visible()

            # The sign-off's notice, then the delivery's job (the account never authorised
            # WeChat: it fails), then the failure's notice: three bursts, as a worker runs them.
            for _ in range(3):
                run_jobs()
            editor, editor_errors = new_page(browser)
            log_in(editor, base, "editor", PASSWORD)
            expect(editor.locator("#bell-count")).to_have_text("2")
            items = open_bell(editor)
            expect(items).to_have_count(2)
            texts = " | ".join(items.all_inner_texts())
            assert f"稿件“{TITLE}”已签发，正在发布" in texts, texts
            assert f"“{TITLE}”未能发布到“{ACCOUNT}”" in texts, texts
            editor.locator("#notifications li a", has_text="未能发布").click()
            expect(editor).to_have_url(re.compile(r"/articles/\d+$"))
            expect(editor.locator("h1").first).to_contain_text(TITLE)
            expect(editor.locator("h1 .badge")).to_have_text("失败")   # the article's status

            # The same notices, said in English once the drafter switches.
            editor.goto(base + "/lang/en")
            items = open_bell(editor)
            english = items.all_inner_texts()
            assert any(f"The article “{TITLE}” was signed off" in t for t in english), english
            assert any(f"“{TITLE}” could not be published to “{ACCOUNT}”" in t
                       for t in english), english
            # nothing Chinese but the typed title and account name
            leftovers = [CJK.findall(t.replace(TITLE, "").replace(ACCOUNT, "")) for t in english]
            assert not any(leftovers), english
            assert not errors + signer_errors + editor_errors, errors + signer_errors + editor_errors
        finally:
            browser.close()


def test_the_sponsor_is_told_the_day_before_a_filing_is_due(bells):
    from playwright.sync_api import expect, sync_playwright

    base, worker_app, _run_jobs = bells
    with worker_app.app_context():
        filing = db.session.scalar(select(Filing).order_by(Filing.id))
        assert filing is not None and filing.filed_on is None
        due_on, event_date = filing.due_on, filing.event_date
        # the daily reminders, run on the day before the deadline
        created = create_notifications(due_on - timedelta(days=1))
        assert created >= 1
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            sponsor, errors = new_page(browser)
            log_in(sponsor, base, "sponsor", PASSWORD)
            expect(sponsor.locator("#bell-count")).to_have_text("1")
            item = open_bell(sponsor).first
            expect(item).to_contain_text(
                f"“{ACCOUNT}”的备案（{event_date.isoformat()}）明天（{due_on.isoformat()}）到期")
            sponsor.locator("#notifications li a").first.click()
            expect(sponsor).to_have_url(re.compile(r"/accounts/\d+$"))
            expect(sponsor.locator("h1")).to_contain_text(ACCOUNT)
            assert isinstance(due_on, date) and not errors, errors
        finally:
            browser.close()
