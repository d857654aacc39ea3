"""Issue 12, live status on the import page: an import of thousands of rows shows its progress
and then its result in the page that uploaded it, without a reload (headless chromium)."""
import csv
import io
import threading
import time

import pytest

try:  # tests/ as a package or as a plain directory on sys.path
    from tests.browser import jobs_app, launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover - depends on the rootdir layout
    from browser import jobs_app, launch_chromium, live_app, log_in


from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from registry.importer import run as import_run
from registry.models import Unit

pytestmark = pytest.mark.browser

PASSWORD = "Browser-2026"
UNITS = 200
PLATFORMS = ["微信公众号", "微博", "抖音", "快手", "今日头条", "哔哩哔哩", "小红书", "移动客户端",
             "小程序", "其他"]
ROWS = UNITS * len(PLATFORMS)


@pytest.fixture(scope="module")
def import_server(tmp_path_factory, postgres_url, redis_service):
    def seed():
        db.session.add(User(username="admin", password_hash=hash_password(PASSWORD),
                            roles=["admin"], active=True, session_version=1))
        db.session.add_all(Unit(name=f"某县第{k:03d}号单位", contacts=[]) for k in range(UNITS))

    base_dir = tmp_path_factory.mktemp("import-live")
    # No worker: the test runs the job itself once the page is watching, at a known pace.
    with live_app(base_dir, seed, postgres_url=postgres_url, redis_url=redis_service.url,
                  worker=False) as url:
        yield url, jobs_app(postgres_url, base_dir, redis_service.url)


def inventory() -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["主办单位", "平台", "账号名称", "账号ID", "开设日期", "管理科室", "管理人员"])
    for k in range(ROWS):
        unit = f"某县第{k // len(PLATFORMS):03d}号单位"
        writer.writerow([unit, PLATFORMS[k % len(PLATFORMS)], unit + "发布", f"live-{k:05d}",
                         "2024-03-15", "办公室信息科", "张三/13800000000/管理员"])
    return buffer.getvalue().encode("utf-8-sig")


def test_an_import_of_thousands_of_rows_shows_progress_and_result_without_a_reload(
        import_server, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    url, worker_app = import_server
    parse_row = import_run.parse_row

    def slow_parse_row(*args, **kwargs):  # 2,000 rows over about four seconds of checking
        time.sleep(0.002)
        return parse_row(*args, **kwargs)

    monkeypatch.setattr(import_run, "parse_row", slow_parse_row)
    outcome = {}

    def run_job(job_id):
        with worker_app.app_context():
            outcome["status"] = import_run.run_import_job(job_id)

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.set_default_timeout(8000)
            log_in(page, url, "admin", PASSWORD)
            page.goto(url + "/imports/new")
            page.set_input_files("#import-file", files=[{
                "name": "台账.csv", "mimeType": "text/csv", "buffer": inventory()}])
            page.get_by_role("button", name="上传并检查").click()
            page.wait_for_url(lambda address: "/imports/new" not in address)
            expect(page.locator("#import-status")).to_have_text("等待开始…")
            job_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
            # A mark on this document (a reload would lose it) and a record of every count shown.
            page.evaluate("""() => {
                window.sameDocument = true;
                window.countsSeen = [];
                const count = document.getElementById("import-count");
                new MutationObserver(() => window.countsSeen.push(count.textContent))
                    .observe(count, {childList: true, characterData: true, subtree: true});
            }""")
            worker = threading.Thread(target=run_job, args=(job_id,))
            worker.start()
            try:
                expect(page.locator("#import-status")).to_have_text("正在检查各行…")
                expect(page.locator("#import-result")).to_contain_text(
                    f"已导入 {ROWS} 个账号。", timeout=30000)
            finally:
                worker.join(timeout=60)
            assert outcome["status"] == "done"
            assert page.evaluate("window.sameDocument") is True   # no reload happened
            seen = page.evaluate("window.countsSeen")
            partial = [text for text in seen if text.startswith("已检查 ")
                       and not text.startswith(f"已检查 {ROWS} ")]
            assert partial, seen                                 # the bar moved on the way
            assert page.locator("#import-progress").count() == 0
            expect(page.get_by_role("link", name="查看账号")).to_be_visible()
            assert not errors, errors
        finally:
            browser.close()
