"""Hostile input, end to end: script in every text field a user can set, spreadsheet formulas,
oversized bodies and uploads, path tricks in upload names, SQL metacharacters, and platform
credentials that must never come back out.

The script test puts a payload with a per-field marker into every free-text field (through the
API and the forms), then fetches every page of the URL map as each kind of user, the public
pages, the Atom feed and every export, and parses what came back: an HTML page may show a
marker only as text or inside an attribute value, never as a <script>, an event handler or a
javascript: URL; the Atom feed keeps it as escaped text; CSV, XLSX and JSON downloads are served
as downloads that no browser renders as HTML. Every field's payload must be seen on some page
(NOT_SHOWN names the few that no page shows), so no field goes untested by accident.

Also here: odd query parameters ('²', 30-digit numbers, year 1 and 9999, SQL) on every page, and
control characters (refused on input, dropped from imports, never breaking the feed or the
quarterly report).
"""
import base64
import csv
import io
import itertools
import logging
import os
import re
from datetime import date
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
import requests
from conftest import PASSWORD, ApiClient, account_body, make_user
from markupsafe import escape
from openpyxl import load_workbook
from redis import Redis
from sqlalchemy import func, select, update
from test_fanout import Standin, platform_config, png_base64, standin  # noqa: F401

from adapters.wechat import clear_local_tokens
from govmedia.extensions import db
from govmedia.models import AuditEntry, User
from govmedia.types import today_shanghai, utcnow
from govmedia.worker import run_burst
from publisher.fanout.sweep import sweep
from publisher.covers import store_body_image
from publisher.models import Article, Delivery
from interaction import services as interaction_services
from interaction.models import Message
from interaction.wechat_callback import Incoming
from registry.models import Account, ImportJob
from registry.supervision.spotcheck import draw as draw_spot_check

ATOM = "{http://www.w3.org/2005/Atom}"


def forget_tokens(app) -> None:
    """Forget the WeChat tokens cached in this process and in Redis (shared by the workers)."""
    clear_local_tokens()
    redis = Redis.from_url(app.config["REDIS_URL"])
    for key in redis.scan_iter("govmedia:wechat:*"):
        redis.delete(key)
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCRIPTABLE_URL = re.compile(r"^\s*(javascript|vbscript|data\s*:\s*text/html)", re.IGNORECASE)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- payloads and the HTML scan ------------------------------------------------------------

class Payloads:
    """One payload per field, each with its own marker so that a finding names its field."""

    def __init__(self):
        self.fields: dict[str, str] = {}     # marker -> field

    def __call__(self, field: str, limit: int = 200, slash: bool = True) -> str:
        marker = f"xss{len(self.fields):03d}q"
        self.fields[marker] = field
        full = f'<script>alert("{marker}")</script>"\'><img src=x onerror=alert("{marker}")>'
        short = f'"\'><script>{marker}</script>'
        if not slash:  # a file name: no slash (a directory) and no " (multipart quoting)
            return f"'><img src=x onerror=alert('{marker}')>"
        return full if len(full) <= limit else short[:limit]

    def found_in(self, body: str) -> set[str]:
        return {marker for marker in self.fields if marker in body}


class PageScan(HTMLParser):
    """What a browser would run: script elements, event-handler attributes, script URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.seen: str = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            self.seen += " " + value
            if name.startswith("on"):
                # The pages use no inline handlers at all (the CSP forbids them).
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction", "srcdoc", "data") and \
                    SCRIPTABLE_URL.match(value):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self._in_script = True

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._in_script = False

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and "xss" in data:
            self.problems.append(f"<script>{data[:80]}")
        self.seen += " " + data


def scan_html(body: str) -> PageScan:
    scan = PageScan()
    scan.feed(body)
    scan.close()
    return scan


def test_the_scan_sees_what_a_browser_would_run():
    """The checker itself can fail: raw payloads are caught, escaped ones are not."""
    payload = Payloads()("probe")
    assert scan_html(f"<p>{payload}</p>").problems
    assert scan_html(f'<input value="{payload}">').problems
    assert scan_html('<a href=" JavaScript:alert(1)">x</a>').problems
    clean = scan_html(f'<p>{escape(payload)}</p><input value="{escape(payload)}">')
    assert not clean.problems and clean.seen.count("xss000q") == 4


# --- the hostile world ---------------------------------------------------------------------

def page_client(app, username):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def ok(response, status=(200, 201, 202, 204)):
    status = (status,) if isinstance(status, int) else status
    assert response.status_code in status, (response.status_code,
                                            response.get_data(as_text=True)[:800])
    return response.get_json() if response.is_json else None


def csv_bytes(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture
def hostile(app, world, login, standin):  # noqa: F811
    """Unit A and everything in it filled with payloads, through the API and the forms."""
    requests.post(f"{standin}/_standin/reset", timeout=5).raise_for_status()
    # A WeChat publish settles at the first look (follow-ups: tests/test_fanout_followup.py).
    Standin(standin).config(wechat_publish_polls=0)
    clear_local_tokens()
    app.config.update(platform_config(standin))
    h = Payloads()
    a = world.unit_a["id"]
    admin, supervisor, sponsor = world.admin, world.supervisor, world.sponsor_a
    unit_name = h("unit.name")
    ok(supervisor.put(f"/api/v1/units/{a}", {
        "name": unit_name, "leader": h("unit.leader", 80),
        "deputy_leader": h("unit.deputy_leader", 80), "office": h("unit.office"),
        "contacts": [{"name": h("unit.contacts.name"), "phone": h("unit.contacts.phone", 40),
                      "title": h("unit.contacts.title")}]}))
    ok(supervisor.post(f"/api/v1/units/{a}/platform-exceptions",
                       {"platform": "douyin", "reason": h("platform_exception.reason")}))
    for name, roles in [("editor", ["editor"]), ("reviewer", ["reviewer"]),
                        ("signer", ["signer"]), ("source", ["source"])]:
        make_user(name, roles, a)
    user = ok(admin.post("/api/v1/users", {
        "username": "hostile.user", "password": PASSWORD, "roles": ["editor"], "unit_id": a,
        "display_name": h("user.display_name", 120)}))

    staff = [{"name": h("account.staff.name"), "phone": h("account.staff.phone", 40),
              "platform_role": "admin"}]
    wechat = ok(sponsor.post("/api/v1/accounts", account_body(
        a, name=h("account.name"), handle=h("account.handle"), office=h("account.office"),
        verified_subject=h("account.verified_subject"), staff=staff, filed_on="2026-11-03",
        filing_reference=h("account.filing_reference", 120))))
    weibo = ok(sponsor.post("/api/v1/accounts", account_body(
        a, platform="weibo", handle="7000000001", name=h("weibo.name"))))
    ok(sponsor.put(f"/api/v1/accounts/{wechat['id']}/credentials",
                   {"app_id": "wx5a7e1d0c0standin",
                    "app_secret": "standin-app-secret-0123456789abcdef"}), 204)
    from standins import DEFAULT_WEIBO_TOKENS

    ok(sponsor.put(f"/api/v1/accounts/{weibo['id']}/credentials",
                   {"access_token": next(iter(DEFAULT_WEIBO_TOKENS))}), 204)
    douyin = ok(sponsor.post("/api/v1/accounts", account_body(
        a, platform="douyin", handle="dy-hostile", name="某县抖音")))
    renamed = ok(sponsor.post("/api/v1/accounts", account_body(
        a, platform="other", handle="other-hostile", name="某县其他")))
    app_account = ok(sponsor.post("/api/v1/accounts", account_body(
        a, platform="app", handle="cn.gov.hostile", name="某县App")))
    ok(sponsor.put(f"/api/v1/accounts/{app_account['id']}/app", {
        "app_filing_number": h("app.filing_number", 120), "app_version": h("app.version", 40)}))
    closing = ok(sponsor.post("/api/v1/accounts", account_body(
        a, platform="kuaishou", handle="ks-hostile", name="某县快手")))

    change = ok(sponsor.post(f"/api/v1/accounts/{renamed['id']}/events", {
        "kind": "change", "event_date": "2026-11-16", "reason": h("change.reason"),
        "changes": {"name": h("change.new_name"), "handle": h("change.new_handle")},
        "contact": h("change.contact"), "internal_note": h("change.internal_note")}))
    ok(sponsor.post(f"/api/v1/filings/{change['filing']['id']}/complete",
                    {"filed_on": "2026-11-18", "reference": h("filing.reference", 120)}))
    dereg = ok(sponsor.post(f"/api/v1/accounts/{app_account['id']}/events", {
        "kind": "deregister", "event_date": "2026-11-16", "reason": h("deregister.reason"),
        "reason_category": "merged", "successor": h("deregister.successor"),
        "contact": h("deregister.contact"), "internal_note": h("deregister.internal_note"),
        "takedown": [{"kind": "link", "label": h("deregister.takedown.label")}]}))
    notice_id = dereg["notice"]["id"]
    ok(sponsor.post(f"/api/v1/notices/{notice_id}/amendments",
                    {"text": h("notice.amended_text"), "note": h("notice.amendment_note")}))
    ok(sponsor.post(f"/api/v1/accounts/{app_account['id']}/takedown",
                    {"kind": "store", "label": h("takedown.store_label")}))
    closed = ok(sponsor.post(f"/api/v1/accounts/{closing['id']}/events", {
        "kind": "close", "event_date": "2026-11-16", "reason": h("close.reason")}))
    ok(supervisor.post(f"/api/v1/notices/{closed['notice']['id']}/withdraw",
                       {"reason": h("notice.withdraw_reason")}))
    ok(sponsor.post(f"/api/v1/accounts/{douyin['id']}/posts", {
        "published_at": "2026-11-20T10:00:00+08:00", "title": h("post.title"),
        "url": h("post.url")}))

    order = ok(supervisor.post("/api/v1/supervision/rectifications", {
        "unit_id": a, "kind": "dormant", "finding": h("rectification.finding"),
        "account_id": douyin["id"]}))
    ok(sponsor.post(f"/api/v1/supervision/rectifications/{order['id']}/answer",
                    {"answer": h("rectification.answer")}))
    ok(supervisor.post(f"/api/v1/supervision/rectifications/{order['id']}/reopen",
                       {"note": h("rectification.reopen_note")}))
    ok(supervisor.post("/api/v1/checks/lists/caution", {"add": [h("checks.caution_term", 100)]}))

    editor, reviewer, signer = login("editor"), login("reviewer"), login("signer")
    # Text typed into the editor arrives escaped; markup around it is what the sanitiser sees.
    body = (f"<p>{escape(h('article.body_text'))}</p><script>alert('{h('article.body_script')}')"
            "</script><img src=x onerror=\"alert('body')\"><a href=\"javascript:alert(1)\">"
            "link</a><iframe src=\"https://evil.example\"></iframe>")
    # The title within WeChat's 64 characters: a longer one is refused by the checks.
    draft = {"title": h("article.title", 64), "body_html": body, "digest": h("article.digest"),
             "author": h("article.author", 80), "weibo_text": h("article.weibo_text"),
             "source_url": "https://www.example.gov.cn/news/1.html",
             "cover_image_base64": png_base64(),
             "target_account_ids": [wechat["id"], weibo["id"]]}
    published = ok(editor.post("/api/v1/articles", draft))
    warnings = [c["rule"] for c in published["checks"] if c["severity"] == "warn"]
    ok(editor.post(f"/api/v1/articles/{published['id']}/submit", {"confirmations": warnings}))
    ok(reviewer.post(f"/api/v1/articles/{published['id']}/review",
                     {"decision": "approve", "comment": h("review.comment")}))
    ok(signer.post(f"/api/v1/articles/{published['id']}/review",
                   {"decision": "approve", "comment": h("signoff.comment")}))
    ok(editor.post(f"/api/v1/articles/{published['id']}/withdraw",
                   {"reason": h("article.withdraw_reason")}))
    returned = ok(editor.post("/api/v1/articles", dict(draft, title="县政府召开常务会议")))
    ok(editor.post(f"/api/v1/articles/{returned['id']}/submit", {"confirmations": warnings}))
    ok(reviewer.post(f"/api/v1/articles/{returned['id']}/review",
                     {"decision": "reject", "comment": h("review.reject_comment")}))
    # A publishing task (issue 15): the hostile title and body on the tasks page.
    toutiao = ok(sponsor.post("/api/v1/accounts", account_body(
        a, platform="toutiao", handle="tt-hostile", name="某县头条")))
    tasked = ok(editor.post("/api/v1/articles", dict(draft, target_account_ids=[toutiao["id"]])))
    ok(editor.post(f"/api/v1/articles/{tasked['id']}/submit", {"confirmations": warnings}))
    ok(reviewer.post(f"/api/v1/articles/{tasked['id']}/review",
                     {"decision": "approve", "comment": ""}))
    signed = ok(signer.post(f"/api/v1/articles/{tasked['id']}/review",
                            {"decision": "approve", "comment": ""}))
    assert [d["status"] for d in signed["deliveries"]] == ["task"]
    record = [{"stage": n, "name": h(f"review_record.name{n}", 80),
               "reviewed_at": "2026-11-20T09:00:00+08:00"} for n in (1, 2, 3)]
    pushed = ok(login("source").post("/api/v1/articles", {
        "title": "县政府召开安全生产工作会议", "body_html": "<p>会议要求压实安全生产责任。</p>",
        "source_url": "https://www.example.gov.cn/news/2.html", "cover_image_base64": png_base64(),
        "target_account_ids": [wechat["id"]], "review_record": record}))

    # Imports: one written, with a hostile file name and values; one refused, whose errors
    # quote the values they refuse.
    header = ["主办单位", "平台", "账号名称", "账号ID", "开设日期", "管理科室", "管理人员"]
    upload = csv_bytes([header, [unit_name, "哔哩哔哩", h("import.account_name"),
                                 h("import.handle"), "2026-11-02", h("import.office"),
                                 "李四/13900000000/运营"]])
    job = ok(sponsor.post("/api/v1/imports", data={
        "file": (io.BytesIO(upload), h("import.filename", slash=False) + ".csv")},
        content_type="multipart/form-data"), 202)
    assert ok(sponsor.get(f"/api/v1/imports/{job['id']}"))["status"] == "done"
    refused = csv_bytes([header, [h("import.unknown_unit"), h("import.platform"), "x", "y",
                                  h("import.opened_on"), "", ""]])
    refused_job = ok(sponsor.post("/api/v1/imports", data={
        "file": (io.BytesIO(refused), "refused.csv")}, content_type="multipart/form-data"), 202)
    log = csv_bytes([["发布时间", "标题", "链接"],
                     ["2026-11-19 10:00", h("post_log.title"), h("post_log.url")]])
    ok(sponsor.post("/api/v1/supervision/post-logs", data={
        "file": (io.BytesIO(log), "log.csv"), "account_id": str(douyin["id"])},
        content_type="multipart/form-data"), 201)

    # Evidence of an update (issue 14): its title, address and rejection reason are shown.
    evidence = ok(sponsor.post(f"/api/v1/accounts/{douyin['id']}/evidence", {
        "published_at": "2026-11-19T10:00:00+08:00", "title": h("evidence.title"),
        "url": "https://www.douyin.com/video/1?" + h("evidence.url"),
        "screenshot_base64": png_base64()}), 201)
    ok(supervisor.post(f"/api/v1/evidence/{evidence['id']}/reject",
                       {"reason": h("evidence.reject_reason")}))

    pages = {name: page_client(app, name) for name in ("admin", "supervisor", "sponsor_a")}
    ok(pages["admin"].post("/holidays", data={
        "year": "2027", "schedule": f"2027-10-01~2027-10-07,休,{h('holiday.name', 80)}",
        "confirm": "1"}), (200, 302, 303))
    ok(pages["sponsor_a"].post("/notifications", data={
        "action": "email", "email": h("notification.email", 200) + "@example.gov.cn"}),
        (302, 303))
    from registry.supervision.jobs import create_notifications

    create_notifications(date(2026, 12, 1))
    db.session.commit()
    today = today_shanghai()
    report = ok(supervisor.post("/api/v1/supervision/reports",
                                {"year": today.year, "quarter": (today.month - 1) // 3 + 1}))
    # An annual report as issued, of this year (issuing waits for the year's end; the public
    # page shows what was stored): the hostile names in its rows and title.
    from registry.supervision import annual
    from registry.supervision.models import AnnualReport

    data = annual.compute(a, today.year)
    issued = AnnualReport(year=today.year, unit_id=a, title=annual.title_of(data), data=data,
                          xlsx=annual.to_xlsx(data))
    db.session.add(issued)
    db.session.commit()
    assert issued.id == report["id"]   # one id serves both reports' routes

    # A message from the public, as the WeChat callback stores it (tests/test_interaction.py
    # sends real callbacks): its text is the public's, shown in the inbox.
    interaction_services.store_message(db.session.get(Account, wechat["id"]), Incoming(
        msg_id="1234567890", sender=h("message.sender", 120), kind="text",
        text=h("message.text"), received_at=utcnow()))
    db.session.commit()
    message_id = db.session.scalar(select(Message.id))
    # A reference answer of the knowledge base (its page shows topic, question and answer).
    answer = ok(sponsor.post("/api/v1/answers", {
        "unit_id": a, "topic": h("answer.topic"), "question": h("answer.question"),
        "answer": h("answer.answer")}), 201)
    # An image for an article's body, as the editor's image button uploads it.
    editor = next(u for u in db.session.scalars(select(User).order_by(User.id))
                  if u.has_role("editor") and u.unit_id == a)
    body_image = store_body_image(editor, base64.b64decode(png_base64()))
    db.session.commit()
    today = today_shanghai()
    spot_check = draw_spot_check(db.session.scalar(select(User).where(User.username == "admin")),
                                 today.year, (today.month - 1) // 3 + 1, None)
    db.session.commit()
    object_ids = {"account_id": [wechat["id"], weibo["id"], douyin["id"], renamed["id"],
                                 app_account["id"], closing["id"]],
                  "unit_id": [a], "article_id": [published["id"], returned["id"], pushed["id"]],
                  "notice_id": [notice_id, change["notice"]["id"], closed["notice"]["id"]],
                  "order_id": [order["id"]], "report_id": [report["id"]],
                  "job_id": [job["id"], refused_job["id"]], "user_id": [user["id"]],
                  "video_id": [1], "image_id": [body_image.id], "message_id": [message_id],
                  "draw_id": [spot_check.id], "answer_id": [answer["id"]]}

    class Hostile:
        payloads = h
        unit_id = a
        ids = object_ids
        articles = (published["id"], returned["id"], pushed["id"])
        clients = pages

    Hostile.clients["editor"] = page_client(app, "editor")
    return Hostile


# --- every page, feed and export -----------------------------------------------------------

# Fields no page shows: the test cannot see them rendered, so it names them.
NOT_SHOWN = {"article.body_script",     # inside <script>: the sanitiser drops it, text and all
             "post_log.title", "post_log.url"}
SKIPPED_PAGES = {"web.set_language",   # a redirect, no page
                 "web.login",          # fetched anonymously below
                 # the platform's redirect back, with a signed state and a code
                 # (tests/test_douyin_fanout.py, test_security_matrix.py)
                 "publisher.douyin_callback",
                 # WeChat's URL check: plain text for the platform, signed (test_interaction)
                 "interaction_callbacks.wechat_check"}
EXPORT_ENDPOINTS = {"registry.filings_csv", "notices_public.open_data_csv",
                    "supervision.annual_report_xlsx", "supervision.annual_issued_xlsx",
                    "notices_public.annual_report_xlsx",
                    "notices_public.open_data_json", "notices_public.notices_atom",
                    "supervision.report_download", "supervision.export_list",
                    "imports.template_csv",
                    "imports.template_xlsx", "imports.status_json", "publisher.article_cover",
                    "publisher_tasks.task_screenshot", "publisher.video_file_page",
                    "activity.screenshot", "supervision.inspection_file",
                    "supervision.spot_check_xlsx", "static"}


def page_urls(app, ids) -> list[str]:
    """Every GET page of the URL map, once for each object in `ids` that it can show."""
    from flask import url_for

    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/") or \
                rule.endpoint in SKIPPED_PAGES or rule.endpoint in EXPORT_ENDPOINTS:
            continue
        missing = set(rule.arguments) - set(ids)
        assert not missing, f"no value for {missing} of {rule.rule}: add one to `ids`"
        names = sorted(rule.arguments)
        with app.test_request_context():
            for values in itertools.product(*(ids[name] for name in names)):
                urls.append(url_for(rule.endpoint, **dict(zip(names, values, strict=True))))
    return sorted(set(urls))


def test_script_in_every_text_field_never_runs_in_any_page_feed_or_export(app, hostile, client):
    h = hostile.payloads
    found_on: dict[str, set[str]] = {}   # marker -> pages where it is shown (escaped)
    problems = []
    fetched = 0

    def check_page(who, url, response, shown=(200,)):
        nonlocal fetched
        fetched += 1
        assert response.status_code in (*shown, 403), (who, url, response.status_code)
        if response.status_code not in shown or response.mimetype == "application/json":
            return  # JSON (a health check) is not rendered by a browser
        if response.mimetype in ("image/png", "image/jpeg") and "/images/" in url:
            return  # an uploaded image, checked by its content when it was stored
        assert response.mimetype == "text/html", (who, url, response.mimetype)
        scan = scan_html(response.get_data(as_text=True))
        problems.extend(f"{who} {url}: {p}" for p in scan.problems)
        for marker in h.found_in(scan.seen):
            found_on.setdefault(marker, set()).add(url)

    urls = page_urls(app, hostile.ids)
    for who, browser in hostile.clients.items():
        for url in urls:
            check_page(who, url, browser.get(url))
    for url in urls[:: max(1, len(urls) // 8)]:  # the English pages too, a sample
        check_page("admin/en", url, hostile.clients["admin"].get(url, query_string={"lang": "en"}))
    for url in ("/login", "/notices", "/public", "/public?q=xss", "/notices?lang=en",
                f"/public/accounts/{hostile.ids['account_id'][0]}", "/public?q=%3Cscript"):
        check_page("anonymous", url, client.get(url))
    assert not problems, "\n".join(problems[:40])

    # Forms sent back with what was typed (refused input is shown again, escaped).
    admin = hostile.clients["admin"]
    again = [admin.post("/units/new", data={"name": h("form.unit_name"), "code": "bad",
                                            "leader": h("form.unit_leader", 80)}),
             admin.post("/users", data={"username": "bad name", "password": PASSWORD,
                                        "roles": "editor", "display_name": h("form.display")}),
             admin.post("/holidays", data={"year": "2027",
                                           "schedule": h("form.schedule") + ",休"}),
             hostile.clients["sponsor_a"].post("/accounts/new", data={
                 "platform": "wechat", "name": h("form.account_name"), "handle": "",
                 "opened_on": "2026-11-02", "office": h("form.account_office")})]
    for response in again:
        check_page("form", "(form)", response, shown=(400,))
    assert not problems, "\n".join(problems[:40])

    # Article bodies are sanitised with nh3 on the way in (and again on the way out).
    editor_api = ApiClient(client, login_token(app, "editor"))
    for article_id in hostile.articles:
        stored = db.session.get(Article, article_id).body_html
        served = editor_api.get(f"/api/v1/articles/{article_id}").get_json()["body_html"]
        for body in (stored, served):
            assert not scan_html(body).problems, body
            assert not re.search(r"<\s*(script|iframe|style|object|embed)", body, re.IGNORECASE)

    # The Atom feed: well-formed XML, the payloads as text, no HTML content.
    atom = client.get("/notices.atom")
    assert atom.status_code == 200 and atom.mimetype == "application/atom+xml"
    feed = ElementTree.fromstring(atom.data)
    feed_text = " ".join(element.text or "" for element in feed.iter())
    for element in feed.iter():
        assert element.get("type") in (None, "text"), (element.tag, element.get("type"))
    in_feed = h.found_in(feed_text)
    assert {"notice.amended_text", "change.new_name", "unit.name"} <= {
        h.fields[m] for m in in_feed}, in_feed

    # Downloads: attachments with a non-HTML type, never sniffed as HTML.
    downloads = ["/filings/export.csv", "/public/data.csv", "/public/data.json",
                 f"/supervision/reports/{hostile.ids['report_id'][0]}.csv",
                 f"/supervision/reports/{hostile.ids['report_id'][0]}.xlsx",
                 "/imports/template.csv", "/imports/template.xlsx",
                 "/supervision/dormant.csv?include=warning", "/supervision/duplicates.xlsx",
                 "/supervision/rectifications.xlsx",
                 f"/api/v1/supervision/reports/{hostile.ids['report_id'][0]}/csv",
                 f"/api/v1/supervision/reports/{hostile.ids['report_id'][0]}/xlsx"]
    in_downloads = set()
    for url in downloads:
        response = admin.get(url, headers={"Authorization": f"Bearer {login_token(app)}"})
        assert response.status_code == 200, url
        assert response.mimetype in ("text/csv", "application/json", XLSX_MIME), url
        assert "attachment" in response.headers.get("Content-Disposition", ""), url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        in_downloads |= h.found_in(response.get_data().decode("utf-8", "replace"))
        if url.endswith("xlsx"):
            book = load_workbook(io.BytesIO(response.data))
            cells = " ".join(str(c.value) for ws in book for row in ws.iter_rows() for c in row)
            in_downloads |= h.found_in(cells)
    status = admin.get(f"/imports/{hostile.ids['job_id'][0]}.json")
    assert status.mimetype == "application/json"

    # Every field's payload was shown somewhere, so every field was really tested.
    never_shown = {h.fields[m] for m in set(h.fields) - set(found_on)}
    print(f"{len(h.fields)} fields, {len(urls)} page URLs x {len(hostile.clients)} users, "
          f"{fetched} page fetches, {len(downloads)} downloads + the Atom feed; "
          f"{sum(len(v) for v in found_on.values())} (field, page) pairs shown escaped; "
          f"{len(in_feed)} fields in the feed, {len(in_downloads)} in downloads")
    assert never_shown == NOT_SHOWN, sorted(never_shown ^ NOT_SHOWN)


def login_token(app, username="admin") -> str:
    response = app.test_client().post("/api/v1/auth/tokens",
                                      json={"username": username, "password": PASSWORD})
    return response.get_json()["token"]


# --- spreadsheet formulas ------------------------------------------------------------------

FORMULAS = ["=1+2", "+1+2", "-1+2", "@SUM(1,2)", '=HYPERLINK("https://evil.example","x")',
            "\t=1+3", "\r=1+4"]


def test_formulas_in_exported_fields_are_neutralised_in_csv_and_xlsx(app, world):
    a, b = world.unit_a["id"], world.unit_b["id"]
    sponsor, supervisor = world.sponsor_a, world.supervisor
    ok(supervisor.put(f"/api/v1/units/{b}", {"name": "=cmd|' /C calc'!A0"}))
    created = []
    for n, value in enumerate(FORMULAS):
        account = ok(sponsor.post("/api/v1/accounts", account_body(
            a, platform="other", handle=f"{value}-{n}", name=value, filed_on="2026-11-03",
            filing_reference=value)))
        created.append(account)
    ok(world.sponsor_b.post("/api/v1/accounts", account_body(b, handle="gh_bbbbbbbbbbbb")))
    ok(sponsor.post(f"/api/v1/accounts/{created[0]['id']}/events", {
        "kind": "change", "event_date": "2026-11-16", "changes": {"name": "@renamed"}}))
    order = ok(supervisor.post("/api/v1/supervision/rectifications", {
        "unit_id": a, "kind": "dormant", "finding": "=finding()", "account_id": created[1]["id"]}))
    ok(sponsor.post(f"/api/v1/supervision/rectifications/{order['id']}/answer",
                    {"answer": "-answer"}))
    today = today_shanghai()
    report = ok(supervisor.post("/api/v1/supervision/reports",
                                {"year": today.year, "quarter": (today.month - 1) // 3 + 1}))
    admin = page_client(app, "admin")
    bearer = {"Authorization": f"Bearer {world.supervisor.token}"}
    exports = {"/filings/export.csv": admin, "/public/data.csv": app.test_client(),
               f"/supervision/reports/{report['id']}.csv": admin,
               f"/supervision/reports/{report['id']}.xlsx": admin,
               f"/api/v1/supervision/reports/{report['id']}/csv": app.test_client(),
               f"/api/v1/supervision/reports/{report['id']}/xlsx": app.test_client(),
               "/imports/template.csv": admin, "/imports/template.xlsx": admin,
               f"/supervision/annual.xlsx?year={today.year}": admin}
    neutralised, cells = set(), 0
    for url, browser in exports.items():
        response = browser.get(url, headers=bearer)
        assert response.status_code == 200, url
        if response.mimetype == XLSX_MIME:
            book = load_workbook(io.BytesIO(response.data))
            values = []
            for sheet in book:
                for row in sheet.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f", (url, cell.coordinate, cell.value)
                        values.append(cell.value)
        else:
            assert response.mimetype == "text/csv", url
            values = [v for row in csv.reader(io.StringIO(response.data.decode("utf-8-sig")))
                      for v in row]
        for value in values:
            if isinstance(value, str):
                cells += 1
                assert not value.startswith(FORMULA_START), (url, value)
                if value.startswith("'") and value[1:2] in ("=", "+", "-", "@"):
                    neutralised.add((url.rsplit(".", 1)[-1].rsplit("/", 1)[-1], value))
    # The formulas reached the exports (kept as text), so the check above saw them.
    kinds = {kind for kind, _value in neutralised}
    assert {"csv", "xlsx"} <= kinds, neutralised
    shown = {value for _kind, value in neutralised}
    assert {"'=1+2", "'+1+2", "'-1+2", "'@SUM(1,2)", "'=finding()", "'-answer"} <= shown, shown
    assert any(v.startswith("'=cmd") for v in shown), shown
    print(f"{len(exports)} exports, {cells} text cells checked, {len(neutralised)} neutralised")


# --- oversized bodies and uploads ----------------------------------------------------------

def _row_counts() -> dict:
    from govmedia.models import AuditEntry, User
    from registry.models import Account, ImportJob, Post

    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Account, ImportJob, Post, AuditEntry, Article)}


def test_oversized_bodies_and_uploads_are_refused_and_nothing_is_written(app, world, login):
    app.config.update(MAX_CONTENT_LENGTH=256 * 1024, IMPORT_MAX_BYTES=64 * 1024)
    a = world.unit_a["id"]
    make_user("editor", ["editor"], a)
    editor = login("editor")
    account = ok(world.sponsor_a.post("/api/v1/accounts", account_body(a)))
    before = _row_counts()
    huge, big = "x" * (300 * 1024), "x" * (100 * 1024)   # over the body limit; over the upload one
    refusals = {
        "json account": world.sponsor_a.post("/api/v1/accounts", account_body(a, office=huge)),
        "json article": editor.post("/api/v1/articles", {
            "title": "t", "body_html": f"<p>{huge}</p>", "target_account_ids": [account["id"]]}),
        "json token": world.sponsor_a.client.post(
            "/api/v1/auth/tokens", json={"username": "admin", "password": huge}),
        "import over body": world.sponsor_a.post("/api/v1/imports", data={
            "file": (io.BytesIO(huge.encode()), "big.csv")}, content_type="multipart/form-data"),
        "import over upload": world.sponsor_a.post("/api/v1/imports", data={
            "file": (io.BytesIO(("主办单位,平台\n" + big).encode()), "big.csv")},
            content_type="multipart/form-data"),
        "post log": world.sponsor_a.post("/api/v1/supervision/post-logs", data={
            "file": (io.BytesIO(huge.encode()), "log.csv")}, content_type="multipart/form-data"),
    }
    for what, response in refusals.items():
        assert response.status_code == 413, (what, response.status_code)
        error = response.get_json()["error"]
        assert error["code"] == "too_large" and "MB" in error["message"] or \
            "too large" in error["message"], (what, error)
    sponsor_page, admin_page = page_client(app, "sponsor_a"), page_client(app, "admin")
    pages = {
        "account form": sponsor_page.post("/accounts/new", data={"name": huge}),
        "import page": sponsor_page.post("/imports", data={
            "file": (io.BytesIO(big.encode()), "big.csv")}, content_type="multipart/form-data"),
        "holiday upload": admin_page.post("/holidays", data={
            "year": "2027", "schedule_file": (io.BytesIO(huge.encode()), "h.csv")},
            content_type="multipart/form-data"),
    }
    for what, response in pages.items():
        assert response.status_code == 413, (what, response.status_code)
        page = response.get_data(as_text=True)
        assert response.mimetype == "text/html" and "MB" in page and "过大" in page, (what, page)
    assert _row_counts() == before


# --- path tricks in upload names -----------------------------------------------------------

def _inventory() -> bytes:
    return csv_bytes([["主办单位", "平台", "账号名称", "账号ID", "开设日期"],
                      ["某县人民政府办公室", "抖音", "某县抖音{n}", "dy-path-{n}", "2026-11-02"]])


UPLOAD_NAMES = {"parent dirs": "../../etc/passwd.csv", "absolute": "/etc/passwd.csv",
                "windows parents": "..\\..\\windows\\win.ini.csv", "drive": "C:\\boot.csv",
                "dots": "./../.csv", "nul": "a\x00b.csv", "long": "x" * 1000 + ".csv",
                "spaces": "名单 (1).csv", "extension only": ".csv", "empty": ""}


@pytest.mark.parametrize("name", UPLOAD_NAMES.values(), ids=UPLOAD_NAMES.keys())
def test_path_tricks_in_upload_names_stay_names(app, world, tmp_path, name):
    """The upload's name is kept as its last path part, never used as a path; NUL or nothing
    is refused; no file appears anywhere it could have pointed to."""
    watched = [app.instance_path, os.getcwd(), str(tmp_path), "/etc"]
    files_before = {d: set(os.listdir(d)) for d in watched}
    content = _inventory().replace(b"{n}", str(abs(hash(name)) % 10**6).encode())
    before = db.session.scalar(select(func.count()).select_from(ImportJob))
    response = world.sponsor_a.post("/api/v1/imports", data={
        "file": (io.BytesIO(content), name)}, content_type="multipart/form-data")
    if "\x00" in name or not name.strip() or os.path.basename(name.replace("\\", "/")) in ("", "."):
        assert response.status_code == 400, response.get_json()
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) == before
    else:
        assert response.status_code == 202, response.get_json()
        job = ok(world.sponsor_a.get(f"/api/v1/imports/{response.get_json()['id']}"))
        assert job["status"] == "done", job
        stored = job["filename"]
        assert "/" not in stored and "\\" not in stored and stored not in ("", ".", "..")
        assert len(stored) <= 255 and stored.endswith(name.replace("\\", "/").rsplit("/")[-1][-20:])
    log = world.sponsor_a.post("/api/v1/supervision/post-logs", data={
        "file": (io.BytesIO(csv_bytes([["发布时间", "标题"]])), name)},
        content_type="multipart/form-data")
    assert log.status_code in (201, 400), log.status_code
    assert {d: set(os.listdir(d)) for d in watched} == files_before


# --- SQL metacharacters --------------------------------------------------------------------

METACHARACTERS = ["'; DROP TABLE accounts; --", "100%真实", "a_b", "c\\d", '"quoted"', "O'Brien",
                  "%", "_", "\\", "' OR '1'='1"]


def test_sql_metacharacters_are_stored_and_found_literally(app, world, client):
    a = world.unit_a["id"]
    ids = {}
    for n, value in enumerate(METACHARACTERS):
        account = ok(world.sponsor_a.post("/api/v1/accounts", account_body(
            a, platform="other", handle=f"{value}#{n}", name=value, office=value,
            staff=[{"name": value, "phone": "13800000000", "platform_role": "admin"}])))
        ids[value] = account["id"]
        shown = ok(world.sponsor_a.get(f"/api/v1/accounts/{account['id']}"))
        assert (shown["name"], shown["office"], shown["staff"][0]["name"]) == (value,) * 3
        assert shown["handle"] == f"{value}#{n}"
    ok(world.admin.put(f"/api/v1/units/{world.unit_b['id']}",
                       {"name": "b'; DELETE FROM units; --"}))
    # The public lookup matches the text, not a pattern: % _ and \ match only themselves.
    for value in ids:
        found = ok(client.get("/api/v1/public/accounts", query_string={"q": value, "limit": 500}))
        names = {item["name"] for item in found["items"]}
        expected = {name for name in METACHARACTERS if value.lower() in name.lower()}
        assert names == expected, (value, names)
        page = client.get("/public", query_string={"q": value})
        assert page.status_code == 200 and not scan_html(page.get_data(as_text=True)).problems
        verify = ok(client.get("/api/v1/public/verify", query_string={
            "platform": "other", "handle": f"{value}#{METACHARACTERS.index(value)}"}))
        assert verify["official"] is True and verify["account"]["name"] == value
    assert ok(client.get("/api/v1/public/verify", query_string={
        "platform": "other", "handle": "' OR '1'='1"}))["official"] is False
    # Filters and searches elsewhere take them as plain values (or refuse them), never as SQL.
    admin = page_client(app, "admin")
    for url in ("/accounts?unit_id=1%20OR%201=1", "/audit?object_type=%27%20OR%201=1--",
                "/checks?q=%25", "/checks?q=%27", "/filings?status=%27", "/accounts?platform=%25"):
        assert admin.get(url).status_code == 200, url
    for path, params in [("/api/v1/accounts", {"platform": "' OR 1=1"}),
                         ("/api/v1/accounts", {"unit_id": "1 OR 1=1"}),
                         ("/api/v1/filings", {"status": "%"})]:
        assert world.admin.get(path, **params).status_code == 400, (path, params)
    total = ok(world.admin.get("/api/v1/accounts", limit=500))["total"]
    assert total == len(METACHARACTERS)
    assert ok(world.admin.get("/api/v1/units"))["total"] == 2


# --- credentials ---------------------------------------------------------------------------

def _api_urls(app, ids) -> list[str]:
    """Every GET endpoint of the API, with its parameters taken from `ids`."""
    from flask import url_for

    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.rule.startswith("/api/v1/"):
            continue
        names = sorted(rule.arguments)
        missing = set(names) - set(ids)
        assert not missing, f"no value for {missing} of {rule.rule}: add one to `ids`"
        with app.test_request_context():
            for values in itertools.product(*(ids[name] for name in names)):
                urls.append(url_for(rule.endpoint, **dict(zip(names, values, strict=True))))
    return sorted(set(urls))


def test_credentials_never_leave_the_credential_store(app, world, login, caplog, monkeypatch,
                                                       standin):  # noqa: F811
    """WeChat secrets and Weibo tokens go in through PUT …/credentials and are used to post,
    fail, time out and be refused; they never come out of any response, page, export, audit
    entry, other table or log line (at DEBUG), nor out of an error page."""
    import uuid

    caplog.set_level(logging.DEBUG)
    platforms = Standin(standin)
    requests.post(f"{standin}/_standin/reset", timeout=5).raise_for_status()
    clear_local_tokens()
    app.config.update(platform_config(standin), ADAPTER_TIMEOUT=0.4)
    platforms.config(wechat_publish_polls=0)   # settled at the first look
    secret, token = f"wx-secret-{uuid.uuid4().hex}", f"weibo-token-{uuid.uuid4().hex}"
    callback_token, aes_key = f"cb{uuid.uuid4().hex[:24]}", uuid.uuid4().hex + "abcdefghijk"
    appid = "wxleak" + uuid.uuid4().hex[:12]
    requests.post(f"{standin}/_standin/wechat/apps", json={"appid": appid, "secret": secret},
                  timeout=5).raise_for_status()
    platforms.token(token, uid="7000000001")
    a = world.unit_a["id"]
    sponsor = world.sponsor_a
    wechat = ok(sponsor.post("/api/v1/accounts", account_body(a)))
    weibo = ok(sponsor.post("/api/v1/accounts", account_body(a, platform="weibo",
                                                                handle="7000000001")))
    for _ in range(2):  # set, then set again (an update is audited too)
        ok(sponsor.put(f"/api/v1/accounts/{wechat['id']}/credentials",
                       {"app_id": appid, "app_secret": secret, "token": callback_token,
                        "encoding_aes_key": aes_key}), 204)
        ok(sponsor.put(f"/api/v1/accounts/{weibo['id']}/credentials", {"access_token": token}), 204)
    for name, roles in [("editor", ["editor"]), ("reviewer", ["reviewer"]), ("signer", ["signer"])]:
        make_user(name, roles, a)
    editor, reviewer, signer = login("editor"), login("reviewer"), login("signer")

    def publish(title):
        article = ok(editor.post("/api/v1/articles", {
            "title": title, "body_html": "<p>会议要求压实安全生产责任。</p>",
            "source_url": "https://www.example.gov.cn/news/1.html",
            "cover_image_base64": png_base64(),
            "target_account_ids": [wechat["id"], weibo["id"]]}))
        ok(editor.post(f"/api/v1/articles/{article['id']}/submit", {}))
        ok(reviewer.post(f"/api/v1/articles/{article['id']}/review", {"decision": "approve"}))
        ok(signer.post(f"/api/v1/articles/{article['id']}/review", {"decision": "approve"}))
        return {d["platform"]: d for d in ok(editor.get(f"/api/v1/articles/{article['id']}"))[
            "deliveries"]}

    assert {d["status"] for d in publish("第一篇").values()} == {"sent"}
    # The answer is lost after sending: the adapters ask the platform (with the token).
    platforms.fault(path="/2/statuses/share.json", after_commit_delay=0.8, times=1)
    assert publish("第二篇")["weibo"]["status"] == "unconfirmed"
    # Due now (its scheduled job still waits for the real time): the sweep sends it.
    db.session.execute(update(Delivery).where(Delivery.status == "unconfirmed")
                       .values(next_attempt_at=utcnow(), enqueued_at=None))
    db.session.commit()
    sweep()
    run_burst(app)
    assert db.session.scalar(select(func.count()).select_from(Delivery)
                             .where(Delivery.status == "sent")) == 4
    # The platform refuses the token and the secret.
    platforms.token(token, state="expired", uid="7000000001")
    requests.post(f"{standin}/_standin/wechat/apps", json={"appid": appid, "secret": "changed"},
                  timeout=5).raise_for_status()
    forget_tokens(app)
    refused = publish("第三篇")
    assert refused["weibo"]["status"] == "failed" and refused["wechat"]["status"] == "failed"
    # The platform cannot be reached at all.
    app.config.update(WECHAT_API_BASE_URL="http://127.0.0.1:9",
                      WEIBO_API_BASE_URL="http://127.0.0.1:9")
    forget_tokens(app)
    unreachable = publish("第四篇")
    assert {d["status"] for d in unreachable.values()} == {"retrying"}, unreachable
    errors = [d["error"] for d in (*refused.values(), *unreachable.values())]
    assert all(errors), errors

    leaks = []

    def scan(where, body):
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        for name, value in (("app_secret", secret), ("access_token", token),
                            ("callback token", callback_token),
                            ("encoding_aes_key", aes_key)):
            if value in body:
                leaks.append(f"{name} in {where}")

    ids = {"account_id": [wechat["id"], weibo["id"]], "unit_id": [a], "user_id": [1],
           "article_id": [1, 2, 3, 4], "delivery_id": [1, 2, 3, 4, 5, 6, 7, 8], "notice_id": [1],
           "order_id": [1], "report_id": [1], "job_id": [1], "name": ["banned"], "ext": ["csv"],
           "note_id": [1], "code": ["en"], "video_id": [1], "image_id": [1], "evidence_id": [1],
           "draw_id": [1],
           "message_id": [1], "answer_id": [1]}
    ok(world.supervisor.post("/api/v1/supervision/reports", {"year": 2026, "quarter": 4}))
    responses = 0
    for client_name, api in (("admin", world.admin), ("sponsor", sponsor), ("editor", editor)):
        for url in _api_urls(app, ids):
            response = api.client.get(url, headers={"Authorization": f"Bearer {api.token}"})
            assert response.status_code < 500, url
            scan(f"{client_name} GET {url}", response.data)
            responses += 1
    for who in ("admin", "sponsor_a", "editor", "supervisor"):
        browser = page_client(app, who)
        for url in page_urls(app, ids) + ["/filings/export.csv", "/public/data.csv",
                                          "/public/data.json", "/notices.atom",
                                          "/supervision/reports/1.csv",
                                          "/supervision/reports/1.xlsx"]:
            response = browser.get(url)
            assert response.status_code < 500, url
            scan(f"{who} page {url}", response.data)
            responses += 1
    # The database: every table but the credentials' own, and that one only encrypted.
    from registry.models import AccountCredential

    for table in db.metadata.sorted_tables:
        rows = db.session.execute(table.select()).all()
        if table.name == AccountCredential.__tablename__:
            assert len(rows) == 2
            for row in rows:
                stored = " ".join(repr(v) for v in row)
                assert secret not in stored and token not in stored, "stored in clear"
                assert callback_token not in stored and aes_key not in stored, "stored in clear"
            continue
        scan(f"table {table.name}", " ".join(repr(v) for row in rows for v in row))
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) > 10
    # Every log line, at DEBUG, from every logger (urllib3 and requests included).
    assert len(caplog.records) > 20
    for record in caplog.records:
        scan(f"log {record.name}", record.getMessage() + (record.exc_text or ""))
    scan("log text", caplog.text)
    # WeChat's short-lived access tokens travel in URLs too: no log line keeps one.
    in_urls = re.findall(r"access_token=(?!\*\*\*)[^&\s\"']+", caplog.text)
    assert not in_urls, in_urls[:3]
    # An error page, where an exception that carries the secret is raised while rendering.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    from registry import services

    def broken(*_args, **_kwargs):
        raise RuntimeError(f"adapter exploded with {secret} and {token}")

    monkeypatch.setattr(services, "get_account", broken)
    for url, browser in ((f"/accounts/{wechat['id']}", page_client(app, "sponsor_a")),
                         (f"/api/v1/accounts/{wechat['id']}", None)):
        response = (browser.get(url) if browser else
                    sponsor.client.get(url, headers={"Authorization": f"Bearer {sponsor.token}"}))
        assert response.status_code == 500, url
        scan(f"error page {url}", response.data)
    assert not leaks, leaks
    print(f"credentials: {responses} responses, {len(db.metadata.sorted_tables)} tables, "
          f"{len(caplog.records)} log records scanned")


# --- hostile query parameters on every page ------------------------------------------------

QUERY_BUNDLES = {
    "odd digits": dict.fromkeys(("page", "unit_id", "account_id", "object_id", "year",
                                 "new_unit_id", "new_account_id", "weeks"), "²"),
    "huge numbers": dict.fromkeys(("page", "unit_id", "account_id", "object_id", "year",
                                   "new_unit_id", "new_account_id", "weeks"), "9" * 30),
    "far dates": {"as_of": "0001-01-01", "year": "9999"},
    "late dates": {"as_of": "9999-12-31"},
    "sql": dict.fromkeys(("q", "status", "platform", "object_type", "list", "show", "include",
                          "handle", "new_finding", "verify", "overdue"), "' OR 1=1; --%_\\"),
}
# registry/supervision/views.py parses its own query (int(), date.fromisoformat) and answers
# 500 to these; that file is being reworked, the fix is described in the pull request.
SUPERVISION_PAGES = ("/supervision", "/notifications")


def _pages_with_bundles(app, hostile_ids, prefixes, include):
    problems = []
    browser = page_client(app, "admin")
    for url in page_urls(app, hostile_ids):
        if url.startswith(prefixes) != include:
            continue
        for bundle, params in QUERY_BUNDLES.items():
            response = browser.get(url, query_string=params)
            db.session.rollback()  # a failed request must not poison the next one
            if response.status_code >= 500:
                problems.append(f"{url} {bundle}: {response.status_code}")
            elif response.mimetype == "text/html":
                assert not scan_html(response.get_data(as_text=True)).problems, (url, bundle)
    return problems


@pytest.fixture
def few_objects(app, world):
    account = ok(world.sponsor_a.post("/api/v1/accounts", account_body(world.unit_a["id"])))
    app.config["PROPAGATE_EXCEPTIONS"] = False   # a crash is a 500 here, as in production
    return {"account_id": [account["id"]], "unit_id": [world.unit_a["id"]], "article_id": [1],
            "notice_id": [1], "order_id": [1], "report_id": [1], "job_id": [1], "user_id": [1],
            "video_id": [1], "image_id": [1], "evidence_id": [1],
           "draw_id": [1], "answer_id": [1], "ext": ["csv"]}


def test_hostile_query_parameters_never_crash_a_page(app, few_objects):
    problems = _pages_with_bundles(app, few_objects, SUPERVISION_PAGES, include=False)
    assert not problems, problems


def test_hostile_query_parameters_never_crash_a_supervision_page(app, few_objects):
    problems = _pages_with_bundles(app, few_objects, SUPERVISION_PAGES, include=True)
    assert not problems, problems


# --- control characters --------------------------------------------------------------------

def test_control_characters_are_refused_or_dropped_and_never_break_the_feed(app, world, client):
    a = world.unit_a["id"]
    refused = world.sponsor_a.post("/api/v1/accounts", account_body(a, name="某县\x0b发布"))
    assert refused.status_code == 400 and "name" in refused.get_json()["error"]["fields"]
    for body in ({"name": "x\x00y"}, {"name": "ok", "office": "\x1b[31m"}):
        assert world.admin.post("/api/v1/units", body).status_code == 400
    assert client.get("/public", query_string={"q": "a\x00b"}).status_code == 400
    # An inventory file's control characters are dropped, not stored.
    upload = csv_bytes([["主办单位", "平台", "账号名称", "账号ID", "开设日期"],
                        ["某县人民政府办公室", "抖音", "某县\x0b抖音\x07", "dy-ctl", "2026-11-02"]])
    job = ok(world.sponsor_a.post("/api/v1/imports", data={
        "file": (io.BytesIO(upload), "ctl.csv")}, content_type="multipart/form-data"), 202)
    assert ok(world.sponsor_a.get(f"/api/v1/imports/{job['id']}"))["status"] == "done"
    names = [item["name"] for item in ok(world.admin.get("/api/v1/accounts"))["items"]]
    assert names == ["某县抖音"]
    # Text stored before this rule (here written directly) still gives a valid feed.
    account_id = ok(world.admin.get("/api/v1/accounts"))["items"][0]["id"]
    notice = ok(world.sponsor_a.post(f"/api/v1/accounts/{account_id}/events", {
        "kind": "deregister", "event_date": "2026-11-16", "reason": "无力维护"}))["notice"]
    from notices.models import Notice

    db.session.execute(update(Notice).where(Notice.id == notice["id"])
                       .values(text="旧公告\x0b正文\x01", unit_name="某县\x1f政府"))
    db.session.commit()
    feed = client.get("/notices.atom")
    assert feed.status_code == 200
    entry = ElementTree.fromstring(feed.data).find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}content").text == "旧公告正文"


def test_control_characters_from_forms_never_break_the_quarterly_report(app, world):
    admin = page_client(app, "admin")
    response = admin.post("/supervision/rectifications", data={
        "unit_id": str(world.unit_a["id"]), "kind": "dormant", "finding": "问题\x0b描述"})
    assert response.status_code in (302, 303, 400)
    today = today_shanghai()
    report = world.supervisor.post("/api/v1/supervision/reports",
                                   {"year": today.year, "quarter": (today.month - 1) // 3 + 1})
    db.session.rollback()
    assert report.status_code == 201
