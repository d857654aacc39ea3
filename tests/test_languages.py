"""One language at a time (issue 12): every page, as each role that may open it, in Chinese
and in English (every API error code: tests/test_language_errors.py). Chinese mode fails on a
Latin word outside the allow-list (product names, codes, units) and on an ASCII colon in
Chinese text; English mode fails on any Chinese character. What users typed (names, titles,
texts in the database) is taken out first: data is shown as entered, in whatever language it
was written.
"""
import html
import json
import re
from html.parser import HTMLParser

from conftest import account_body
from security_routes import EXPECTATIONS, ROLES, cases
from sqlalchemy import JSON, String, Text, select
from sqlalchemy.dialects.postgresql import JSONB
from test_security_matrix import (CALLER_NAMES, DOUYIN_APPS, DOUYIN_KEY, Caller, Matrix,
                                  douyin_standin,
                                  page_login, request_cases)

from govmedia.extensions import db
from govmedia.models import User
from registry.models import ImportJob
from publisher.editorial import articles as publisher_articles
from publisher.schemas import ArticleIn
from registry.importer import columns as import_columns
from registry.supervision import postlog
from registry.supervision.names import NAME_SUFFIXES

# Latin words a Chinese page may show: product and platform names, formats, codes, units.
ALLOWED_LATIN = {
    "API", "CSV", "XLSX", "JSON", "ID", "IDs", "URL", "UID", "AppID", "Atom", "RSS", "HTTP",
    "HTTPS", "http", "https", "PDF", "PNG", "JPEG", "JPG", "GIF", "WebP", "MB", "KB", "px",
    "English", "govmedia", "gh", "www", "gov", "cn", "example", "app", "xlsx", "csv", "json",
    "YYYY", "MM", "DD", "HH", "QQ", "UTF", "BOM", "Excel", "OpenAPI", "Bearer", "ICP",
    "B", "I", "C", "A", "Q", "GB", "GBK", "SHA", "sha", "Cookie", "true", "false", "HTML",
    "APP", "bilibili", "SMTP", "holiday", "workday",   # the last two: the schedule's syntax
    "Debian", "ffmpeg", "ffprobe",   # the server's video tools, named where they are missing
}
ALLOWED_CJK_IN_ENGLISH = {"中文"}   # the language switch names the other language in itself


def file_vocabulary() -> list[str]:
    """Words a file or a form must contain in Chinese whatever the reader's language: the
    import's column headings and platform and role words, the post log's headings, the
    holiday schedule's day words, the name suffixes duplicates ignore. An English page
    quotes them as they must be typed; they are codes, not prose."""
    words = {"休", "假", "班", "上班", "年", "月", "日", "、", "；"}
    for column in import_columns.COLUMNS:
        words.add(column.header)
        words.update(alias for alias in column.aliases)
    for names in import_columns.PLATFORM_NAMES.values():
        words.update(names)
    words.update(import_columns.ROLE_WORDS)
    for names in postlog.HEADERS.values():
        words.update(names)
    words.update(postlog.LABEL.values())
    words.update(NAME_SUFFIXES)
    return sorted(words, key=len, reverse=True)
LATIN_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
ASCII_COLON_IN_CHINESE = re.compile(r"[\u4e00-\u9fff）]:(?!//)|(?<![0-9]):\s*[\u4e00-\u9fff]")
SKIPPED_TAGS = {"script", "style", "template", "code", "pre", "textarea"}
SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}


class VisibleText(HTMLParser):
    """The text a reader sees (and hears from a screen reader): text nodes and labels."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.parts.append(value)
            if tag == "input" and name == "value" and ("type", "submit") in attrs and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def visible_text(body: str) -> list[str]:
    parser = VisibleText()
    parser.feed(body)
    return parser.parts


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def entered_data() -> list[str]:
    """Every text value in the database, longest first: what users and imports entered."""
    found = set()
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns
                   if isinstance(c.type, (String, Text, JSON, JSONB)) and c.name not in (
                       "password_hash", "hash", "prev_hash", "token_hash", "content_hash")]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for value in row:
                for text in _strings(value):
                    # a stored text shows whole, line by line (a notice's title line) or,
                    # stored as HTML (an article's body), as its text
                    shown = visible_text(text) if "<" in text else []
                    found.update(part.strip() for part in [text, *text.splitlines(), *shown]
                                 if part.strip())
    return sorted(found, key=len, reverse=True)


# A stored code (a status, a platform, a role, an audit action): shown raw, it is a fault of
# the page, not data a user typed, so it is not taken out before the check.
CODE = re.compile(r"[a-z]+(?:[_.][a-z]+)*")


def typed_data() -> list[str]:
    """What users typed, without the stored codes; usernames stay (they are typed too)."""
    names = set(db.session.scalars(select(User.username)))
    names |= set(db.session.scalars(select(ImportJob.filename)))   # a file's name as uploaded
    return [v for v in entered_data() if v in names or not CODE.fullmatch(v)]


def without_data(text: str, data: list[str]) -> str:
    for value in data:
        if value in text:
            text = text.replace(value, " ")
    return text


def language_problems(texts: list[str], language: str, data: list[str]) -> list[str]:
    problems = []
    for raw in texts:
        text = without_data(raw, data)
        if text.strip() and any(text.strip() in value for value in data):
            continue   # a piece of what a user typed (a body split by the marks of findings)
        if language == "zh":
            latin = [w for w in LATIN_WORD.findall(text) if w not in ALLOWED_LATIN]
            if latin:
                problems.append(f"Latin {latin[:5]} in {raw[:90]!r}")
            if ASCII_COLON_IN_CHINESE.search(text):
                problems.append(f"ASCII colon in {raw[:90]!r}")
        else:
            cjk = [w for w in CJK.findall(text) if w not in ALLOWED_CJK_IN_ENGLISH]
            if cjk:
                problems.append(f"Chinese {cjk[:5]} in {raw[:90]!r}")
    return problems


def page_routes():
    """Every GET page of the URL map (the API and static files are checked elsewhere)."""
    return sorted((method, rule) for method, rule in EXPECTATIONS
                  if method == "GET" and not rule.startswith(("/api/", "/static/"))
                  and rule not in ("/lang/<code>", "/healthz"))


def set_language(client, language):
    assert client.get(f"/lang/{language}").status_code == 302


def test_every_page_speaks_one_language_as_each_role(app, world, tmp_path):
    app.config.update(TEST_RUN_JOBS=False, WECHAT_API_BASE_URL="http://127.0.0.1:9",
                      WEIBO_API_BASE_URL="http://127.0.0.1:9",
                      DOUYIN_API_BASE_URL=douyin_standin(), DOUYIN_CLIENT_KEY=DOUYIN_KEY,
                      DOUYIN_CLIENT_SECRET=DOUYIN_APPS[DOUYIN_KEY],
                      VIDEO_DIR=str(tmp_path / "videos"))
    m = Matrix(world, tmp_path)
    # an article with findings: the checks' messages are shown in the reader's language too
    flagged = publisher_articles.create_article(m.user("m_editor"), ArticleIn(
        title="通知", target_account_ids=[m.weibo["A"]],
        body_html='<p>联系电话13812345678，详见<a href="https://evil.example.com/x">这里</a>。</p>'))
    db.session.commit()
    assert {f["rule"] for f in flagged.checks} >= {"mobile_number", "external_link"}
    extra_pages = [("editor", f"/articles/{flagged.id}"), ("editor", f"/articles/{flagged.id}/edit")]
    clients = {role: page_login(app, CALLER_NAMES[role]) for role in ROLES}
    clients[None] = app.test_client()
    data = entered_data()
    vocabulary = file_vocabulary()
    problems, pages_seen = [], set()
    for language in ("zh", "en"):
        data = typed_data()   # and what the first pass's requests entered
        for client in clients.values():
            set_language(client, language)
        for key in page_routes():
            for case, expect in cases(key).items():
                build = request_cases(key)[case]
                callers = [None] if expect.scope == "public" else sorted(expect.roles)
                for role in callers:
                    call = build(m, Caller(role, CALLER_NAMES.get(role)), "A", True)
                    response = clients[role].get(call.path)
                    if response.status_code != 200 or response.mimetype != "text/html":
                        response.close()
                        continue
                    body = response.get_data(as_text=True)
                    response.close()
                    pages_seen.add(key)
                    quoted = sorted(data + vocabulary, key=len, reverse=True) if (
                        language == "en") else data
                    for problem in language_problems(visible_text(body), language, quoted):
                        problems.append(f"{language} {call.path} as {role or 'anonymous'}: "
                                        f"{problem}")
        for role, path in extra_pages:
            response = clients[role].get(path)
            assert response.status_code == 200, path
            for problem in language_problems(visible_text(response.get_data(as_text=True)),
                                             language, data):
                problems.append(f"{language} {path} as {role}: {problem}")
    assert len(pages_seen) >= 30, sorted(pages_seen)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(sorted(set(problems))[:200])


# The API's error codes, every one in both languages: tests/test_language_errors.py.


def test_the_language_test_can_fail():
    """The detector itself: a mixed sentence is caught in both modes, data is not."""
    assert language_problems(["稿件状态为 published，不能修改"], "zh", [])
    assert language_problems(["统一社会信用代码无效: invalid length"], "zh", [])
    assert language_problems(["The article is 已发布"], "en", [])
    assert not language_problems(["账号 gh_0123 已登记"], "zh", ["gh_0123"])
    assert not language_problems(["Account 某县发布 registered"], "en", ["某县发布"])
    assert visible_text("<p title='提示'>A<script>x()</script></p>") == ["提示", "A"]
    assert json.loads(json.dumps({"a": html.escape("<")}))


def test_exports_speak_the_readers_language(app, world):
    """Issue 12: export headings through Babel, in the language the reader chose: the
    supervision lists (XLSX and CSV) and the filings CSV. The issued
    reports (quarterly, annual, spot check) stay Chinese: they are official documents."""
    import csv
    import io

    from openpyxl import load_workbook

    world.sponsor_a.post("/api/v1/accounts", account_body(world.unit_a["id"]))
    world.supervisor.post("/api/v1/supervision/rectifications", {
        "unit_id": world.unit_a["id"], "kind": "other", "finding": "栏目长期未更新"})
    client = page_login(app, "supervisor")
    exports = ["/supervision/dormant.csv", "/supervision/dormant.xlsx",
               "/supervision/duplicates.csv", "/supervision/rectifications.xlsx",
               "/filings/export.csv"]
    problems = []
    for language in ("zh", "en"):
        set_language(client, language)
        data = typed_data()
        for url in exports:
            answer = client.get(url)
            assert answer.status_code == 200, (url, answer.status_code)
            if url.endswith(".csv"):
                rows = list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
            else:
                sheet = load_workbook(io.BytesIO(answer.get_data())).active
                rows = [[str(v) for v in row if v is not None]
                        for row in sheet.iter_rows(values_only=True)]
            cells = [cell for row in rows for cell in row if cell]
            assert cells and (len(rows) >= 2 or "duplicates" in url), url   # headings, rows
            if url == "/filings/export.csv":
                assert rows[0][1] == {"zh": "账号", "en": "Account"}[language]
            problems += [f"{language} {url}: {p}" for p in language_problems(
                cells, language, data + (file_vocabulary() if language == "en" else []))]
    assert not problems, "\n".join(problems)
