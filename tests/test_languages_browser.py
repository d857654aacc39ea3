"""One language at a time (issue 12), in real headless chromium: as each role, every page of
the main menu and of the supervision section's menu, and the pages of the seeded articles,
accounts and rectification order found on their lists, in Chinese and in English, read as the
browser shows it after its scripts ran (`document.body.innerText`, the labels a screen reader
says, the window title). The rules and the exemption of what users typed are
tests/test_languages.py's: Chinese mode fails on a Latin word outside the allow-list and on
an ASCII colon in Chinese text, English mode on any Chinese character; the codes the program
stores (statuses, platforms, roles) are not exempted as typed data (see CODE)."""
import base64
import io
import re
from datetime import date
from urllib.parse import urljoin, urlsplit

import pytest
from PIL import Image

try:  # tests/ as a package or as a plain directory on sys.path
    from tests.browser import launch_chromium, live_app, log_in
except ImportError:  # pragma: no cover - depends on the rootdir layout
    from browser import launch_chromium, live_app, log_in

# tests/test_languages.py imports its neighbours as plain modules (tests/ is on sys.path)
from test_languages import entered_data, file_vocabulary, language_problems

from govmedia.auth import hash_password
from govmedia.extensions import db
from govmedia.models import User
from publisher.editorial.articles import create_article
from publisher.editorial.review import review_article, submit_article
from publisher.schemas import ArticleIn
from registry import services as registry_services
from registry.models import Unit
from registry.schemas import AccountIn
from registry.supervision.rectification import create_rectification

pytestmark = pytest.mark.browser
PASSWORD = "Browser-2026"
ROLES = ("sponsor", "editor", "reviewer", "signer", "supervisor", "admin")
# The codes the program stores beside what users typed (a status, a platform, a role, a kind,
# an audit action: `pending_review`, `wechat`, `account.open`) are not data shown as
# entered: a page puts them into words, so they are not taken out before the check. The
# users' names carry a digit, which no code has, to stay what a user typed.
CODE = re.compile(r"[a-z]+(?:[_.][a-z]+)*")


def username(role: str) -> str:
    return f"{role}01"


# What the browser shows: the rendered text of the body (hidden parts and code samples left
# out, as tests/test_languages.py skips code, pre and textarea), the labels read out or shown
# on hover, the buttons' words, a select's choices and the window's title.
SHOWN_TEXT = """() => {
    const skipped = 'script, style, template, code, pre, textarea';
    for (const e of document.querySelectorAll(skipped)) e.style.display = 'none';
    const parts = [document.title, ...document.body.innerText.split('\\n')];
    const labelled = '[title], [placeholder], [aria-label], [alt], input[type=submit], '
                     + 'input[type=button], option';
    for (const e of document.body.querySelectorAll(labelled)) {
        if (e.closest(skipped)) continue;
        for (const name of ['title', 'placeholder', 'aria-label', 'alt']) {
            const value = e.getAttribute(name);
            if (value) parts.push(value);
        }
        if (e.matches('input[type=submit], input[type=button]') && e.value) parts.push(e.value);
        if (e.matches('option')) parts.push(e.textContent);
    }
    return {lang: document.documentElement.lang, parts: parts.map(p => p.trim()).filter(p => p)};
}"""


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, postgres_url, redis_service):
    """A county with a department: its WeChat and Weibo accounts with their filings, an
    article waiting for the reviewer and one for the signer, a rectification order; a user
    for each role. What users typed is gathered after seeding (the pages only read)."""
    typed: list[str] = []

    def seed():
        county = Unit(name="某县人民政府", office="县政府办公室")
        db.session.add(county)
        db.session.flush()
        department = Unit(name="某县教育局", parent_id=county.id, office="局办公室信息股")
        db.session.add(department)
        db.session.flush()
        people = {}
        for role, unit, name in (("sponsor", department, "主办 刘科长"),
                                 ("editor", department, "编辑 小王"),
                                 ("reviewer", department, "审核 老李"),
                                 ("signer", department, "签发 张主任"),
                                 ("supervisor", None, "县网信办 陈"),
                                 ("admin", None, "管理员 赵")):
            people[role] = User(username=username(role), password_hash=hash_password(PASSWORD),
                                roles=[role], unit_id=unit.id if unit else None,
                                display_name=name, active=True, session_version=1)
            db.session.add(people[role])
        db.session.flush()
        wechat, _warnings = registry_services.register_account(people["sponsor"], AccountIn(
            unit_id=department.id, platform="wechat", name="某县教育发布",
            handle="gh_0123456789ab", opened_on=date(2026, 1, 5), office="局办公室信息股"))
        weibo, _warnings = registry_services.register_account(people["sponsor"], AccountIn(
            unit_id=department.id, platform="weibo", name="某县教育发布", handle="1234567890",
            opened_on=date(2026, 1, 5), filed_on=date(2026, 1, 9), filing_reference="备-2026-007",
            office="局办公室信息股"))
        waiting = create_article(people["editor"], ArticleIn(
            title="县教育局部署寒假安全工作", body_html="<p>会议研究部署了寒假期间学生安全工作。</p>",
            source_url="https://www.example.gov.cn/jyj/2026/1206.html",
            cover_image_base64=cover(), target_account_ids=[wechat.id, weibo.id]))
        submit_article(people["editor"], waiting)
        to_sign = create_article(people["editor"], ArticleIn(
            title="县教育局召开年度总结会", body_html="<p>会议总结了本年度教育工作。</p>",
            cover_image_base64=cover(), target_account_ids=[wechat.id]))
        submit_article(people["editor"], to_sign)
        review_article(people["reviewer"], to_sign, "approve")
        create_article(people["editor"], ArticleIn(
            title="草稿：教师节慰问", body_html="<p>尚未写完。</p>", target_account_ids=[weibo.id]))
        create_rectification(people["supervisor"], department.id, "dormant",
                             "账号长期未更新，请说明原因并恢复更新", account_id=wechat.id)
        db.session.flush()
        typed.extend(value for value in entered_data() if not CODE.fullmatch(value))

    with live_app(tmp_path_factory.mktemp("languages-browser"), seed, postgres_url=postgres_url,
                  redis_url=redis_service.url, worker=False,
                  SEND_FILE_MAX_AGE_DEFAULT=3600) as url:   # a page's icon, style and scripts
        yield url, typed                                     # come from the browser's cache


def cover() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 50), (30, 90, 200)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def same_origin_paths(page, base, selector: str) -> list[str]:
    """The same-origin links `selector` finds on the page, as paths (with their query)."""
    paths = []
    for href in page.eval_on_selector_all(selector, "links => links.map(a => a.href)"):
        address = urlsplit(urljoin(base + "/", href))
        if f"{address.scheme}://{address.netloc}" != base:
            continue
        path = address.path + (f"?{address.query}" if address.query else "")
        if path not in paths:
            paths.append(path)
    return paths


# Pages whose links lead to more pages of a role: the supervision section's menu, and the
# seeded articles, accounts and rectification orders on their lists (three of each at most).
FURTHER = {"/supervision": ("main nav.years a[href^='/supervision']", r"/supervision/[\w-]+"),
           "/articles": ("main a[href^='/articles/']", r"/articles/\d+"),
           "/accounts": ("main a[href^='/accounts/']", r"/accounts/\d+"),
           "/supervision/rectifications": ("main a[href^='/supervision/rectifications/']",
                                           r"/supervision/rectifications/\d+")}


def further_pages(page, base, path) -> list[str]:
    if path not in FURTHER:
        return []
    selector, wanted = FURTHER[path]
    found = [link for link in same_origin_paths(page, base, selector)
             if re.fullmatch(wanted, link.split("?")[0])]
    return found if path == "/supervision" else found[:3]


def switch_language(page, base, language):
    """The page's switch (/lang/<code>), then a page that says it. The session lives in a
    cookie that every answer renews: a request of the page before (its icon, a live table's
    poll) answered after the switch can bring the old language back, so the switch is made
    from a blank page and made again until a page says it."""
    expected = "en" if language == "en" else "zh-CN"
    page.goto("about:blank")
    for _attempt in range(3):
        page.goto(base + f"/lang/{language}")
        page.goto(base + "/")
        if page.evaluate("document.documentElement.lang") == expected:
            return
    raise AssertionError(f"the switch to {language} does not hold")


def test_every_menu_page_speaks_one_language_as_each_role_in_chromium(live_server):
    from playwright.sync_api import sync_playwright

    base, typed = live_server
    assert typed, "nothing gathered from the seeded database"
    quoted = {"zh": typed,
              "en": sorted(set(typed) | set(file_vocabulary()), key=len, reverse=True)}
    problems, faults, seen = [], [], {}
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for role in ROLES:
                context = browser.new_context(viewport={"width": 1280, "height": 900},
                                              locale="zh-CN")
                page = context.new_page()
                page.set_default_timeout(8000)
                page.on("pageerror", lambda e, role=role: faults.append(f"{role}: {e}"))
                log_in(page, base, username(role), PASSWORD)
                paths = seen[role] = []
                for language in ("zh", "en"):
                    switch_language(page, base, language)
                    if not paths:   # the main menu and the own profile; more found on the way
                        paths += same_origin_paths(page, base, "nav.mainnav a[href], #profile-link")
                    for path in paths:   # grows in the first language's sweep
                        response = page.goto(base + path)
                        if response is None or response.status >= 400:
                            faults.append(f"{language} {path} as {role}: HTTP "
                                          f"{response.status if response else 'no answer'}")
                            continue
                        shown = page.evaluate(SHOWN_TEXT)
                        if shown["lang"] != ("en" if language == "en" else "zh-CN"):
                            faults.append(f"{language} {path} as {role}: the page is in "
                                          f"{shown['lang']}")
                        for problem in language_problems(shown["parts"], language,
                                                         quoted[language]):
                            problems.append(f"{language} {path} as {role}: {problem}")
                        if language == "zh":
                            paths += [further for further in further_pages(page, base, path)
                                      if further not in paths]
                    # the sweep can fail: a planted sentence of the other language is caught, and
                    # so is a stored code shown raw in Chinese
                    planted = "稿件已发布" if language == "en" else "稿件状态为 pending_review"
                    page.evaluate("text => document.querySelector('main').insertAdjacentHTML("
                                  "'beforeend', `<p>${text}</p>`)", planted)
                    caught = language_problems(page.evaluate(SHOWN_TEXT)["parts"], language,
                                               quoted[language])
                    assert any(planted in problem for problem in caught), (language, caught)
                context.close()
        finally:
            browser.close()
    assert all(len(paths) >= 12 for paths in seen.values()), seen
    assert any(re.fullmatch(r"/articles/\d+", path) for path in seen["reviewer"]), seen
    assert any(re.fullmatch(r"/supervision/rectifications/\d+", path)
               for path in seen["supervisor"]), seen
    report = sorted(set(problems))
    assert not faults, "\n".join(faults)
    assert not report, f"{len(report)} language problems:\n" + "\n".join(report)
