"""Security (issue 7): the role-and-unit matrix over every route, and the session, CSRF,
header, token, throttling and password checks.

The matrix calls every (method, route) of the URL map as an anonymous visitor and as each
role of unit A (admin and supervisor belong to no unit), on unit A's object and on unit B's,
and as the unit tree's callers (issue 16): units A and B are counties under one city, under
a province, and A has a township; a supervisor held at each of them (A itself, its sibling's
parent city, the province, A's township) and a sponsor of the city,
with real objects in the states the route needs, and compares the outcome with
tests/security_routes.py, which takes its roles from shared/API.md and the issues:
allowed (every request is built valid, so an allowed call succeeds: 2xx or a redirect other
than to the login page), refused (403), unauthenticated (401 from the API, the login redirect
from pages) or hidden (404). Every answer must also carry the security headers, a refused
call must write nothing, and a page or API answer a unit-bound user may read must not show
unit B's data.

The matrix runs against the real PostgreSQL and Redis of the suite, as every other test.
"""
import base64
import csv
import functools
import hashlib
import io
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
import requests
from conftest import PASSWORD, account_body, base_config, make_user
from media import make_video
from PIL import Image
from security_routes import EXPECTATIONS, ROLES, cases
from sqlalchemy import delete, func, select, text, update

from govmedia import create_app
from govmedia.extensions import db
from govmedia.models import ApiToken, User
from govmedia.settings import Settings
from govmedia.types import SHANGHAI, today_shanghai, utcnow
from interaction import answers as interaction_answers
from interaction import services as interaction_services
from interaction.wechat_callback import Incoming
from publisher import checks as publisher_checks
from publisher.editorial import articles as publisher_articles
from publisher.editorial import review as publisher_review
from interaction.models import Message
from publisher.editorial import platform_auth
from publisher import covers as publisher_covers
from publisher import videos as publisher_videos
from publisher.models import Article, ArticleVideo, Delivery
from publisher.tasks import complete as publisher_tasks
from publisher.tasks.models import PublishingTask
from publisher.schemas import ArticleIn
from notices import services as notices_services
from registry import services as registry_services
from registry.activity import evidence as activity_evidence
from registry.models import Account
from registry.schemas import AccountIn, EventIn
from registry.supervision import annual as supervision_annual
from registry.supervision import reports as supervision_reports
from registry.supervision import spotcheck as supervision_spotcheck
from registry.supervision.models import AnnualReport, SpotCheck
from registry.supervision import services as supervision_services
from registry.supervision.models import Notification
from standins import DEFAULT_DOUYIN_APPS as DOUYIN_APPS
from standins import serve_in_thread

SEES_ALL = {"admin", "supervisor"}
DOUYIN_KEY = next(iter(DOUYIN_APPS))


@functools.cache
def douyin_standin() -> str:
    """The stand-in Douyin the authorisation callback exchanges its codes with."""
    _server, url = serve_in_thread("127.0.0.1", 0)
    return url
CALLER_NAMES = {"admin": "admin", "supervisor": "supervisor", "sponsor": "sponsor_a",
                "editor": "m_editor", "reviewer": "m_reviewer", "signer": "m_signer",
                "source": "m_source"}
# The tree around units A and B (issue 16): TREE_UNITS[key] = (name, parent key).
TREE_UNITS = {"province": ("某省人民政府", None), "city": ("某市人民政府", "province"),
              "township": ("某镇人民政府", "A")}
# username -> (role, the unit it is held at, which of A and B that unit's subtree holds)
TREE_CALLERS = {"t_sup_county": ("supervisor", "A", {"A"}),           # B is its sibling
                "t_sup_city": ("supervisor", "city", {"A", "B"}),     # A and B its children
                "t_sup_province": ("supervisor", "province", {"A", "B"}),   # grandchildren
                "t_sup_township": ("supervisor", "township", set()),  # A is its parent
                "t_sponsor_city": ("sponsor", "city", {"A", "B"})}
# Unit B's objects carry this in their names; a unit-bound user of unit A must never see it.
B_MARK = "乙局"
A_MARK = "甲办"   # and unit A's: the township's supervisor, below A, must never see them
B_UNIT_NAME = "某县教育局"   # the `world` fixture's unit B
# Where every unit's name is shown to a unit-bound user, on purpose: the sponsor's transfer
# drop-down on an account page lists the units an account may move to (issue 2 note).
UNIT_NAMES_SHOWN = {("GET", "/accounts/<int:account_id>")}
PUBLIC_ROUTE_PREFIXES = ("/static/", "/public", "/notices", "/api/v1/public/", "/healthz",
                         "/callbacks/")
# The WeChat callback's token on unit A's and B's WeChat accounts (API.md Interaction).
CALLBACK_TOKEN = "matrixToken2026"


def png_base64() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 90, 200)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def route_keys(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


# --- the requests -----------------------------------------------------------------------------

@dataclass
class Call:
    path: str
    json: dict | None = None
    form: dict | None = None           # page form fields, or multipart fields with files
    body: bytes | None = None          # a raw request body (an uploaded video)
    fresh_session: bool = False        # the call ends the session or token it was made with
    throwaway: bool = False            # sent from a new, anonymous browser (logging in)


class Matrix:
    """The objects of units A and B the routes act on, and makers of fresh ones."""

    def __init__(self, world, workdir):
        self.workdir = workdir
        self.unit = {"A": world.unit_a["id"], "B": world.unit_b["id"]}
        self.unit_name = {"A": world.unit_a["name"], "B": world.unit_b["name"]}
        self.today = today_shanghai()
        self.serial = 0
        self.cache: dict = {}
        a, b = self.unit["A"], self.unit["B"]
        self._build_tree(world)
        for name, roles, unit_id in [
                ("m_editor", ["editor"], a), ("m_reviewer", ["reviewer"], a),
                ("m_signer", ["signer"], a), ("m_source", ["source"], a),
                ("a_reviewer2", ["reviewer"], a), ("a_signer2", ["signer"], a),
                ("b_editor", ["editor"], b), ("b_reviewer", ["reviewer"], b),
                ("b_signer", ["signer"], b), ("a_victim", ["editor"], a),
                ("b_victim", ["editor"], b), ("probe", ["editor"], a)]:
            make_user(name, roles, unit_id)
        self.users = {u.username: u.id for u in db.session.scalars(select(User))}
        self.staff = {"A": {"sponsor": "sponsor_a", "editor": "m_editor",
                            "reviewer": "a_reviewer2", "signer": "a_signer2"},
                      "B": {"sponsor": "sponsor_b", "editor": "b_editor",
                            "reviewer": "b_reviewer", "signer": "b_signer"}}
        self.sponsor_api = {"A": world.sponsor_a, "B": world.sponsor_b}
        self.supervisor_api = world.supervisor
        self.victim = {"A": self.users["a_victim"], "B": self.users["b_victim"]}
        self.wechat, self.weibo, self.app_account, self.events_account = {}, {}, {}, {}
        self.filing, self.notice, self.takedown_item, self.order, self.job = {}, {}, {}, {}, {}
        self.message, self.answer = {}, {}
        self.article_view, self.article_edit, self.delivery = {}, {}, {}
        self.kuaishou, self.task_shot = {}, {}
        self.video_bytes = make_video(self.workdir / "matrix.mp4", seconds=1,
                                      size="160x120").read_bytes()
        for t in ("A", "B"):
            self._build_unit(t)
        self.report = self._report()
        self.notes = {}
        for username in list(CALLER_NAMES.values()) + list(TREE_CALLERS) + ["sponsor_b"]:
            note = Notification(user_id=self.users[username], key=f"matrix-{username}",
                                kind="other", text=f"{username} 的提醒",
                                unit_id=a if username != "sponsor_b" else b)
            db.session.add(note)
            db.session.flush()
            self.notes[username] = note.id
        db.session.commit()

    def _build_tree(self, world):
        """Province → city → counties A and B; a township under A; the tree's callers."""
        self.tree = dict(self.unit)
        for key, (name, parent) in TREE_UNITS.items():
            body = {"name": name, "parent_id": self.tree[parent] if parent else None}
            made = world.admin.post("/api/v1/units", body)
            assert made.status_code == 201, made.get_json()
            self.tree[key] = made.get_json()["id"]
            if key == "city":
                for t in ("A", "B"):
                    moved = world.admin.patch(f"/api/v1/units/{self.unit[t]}",
                                              {"parent_id": self.tree["city"]})
                    assert moved.status_code == 200, moved.get_json()
        self.parent = {"A": self.tree["city"], "B": self.tree["city"]}
        for username, (role, at, _reach) in TREE_CALLERS.items():
            make_user(username, [role], self.tree[at])

    # -- names -----------------------------------------------------------------------------

    def next(self) -> int:
        self.serial += 1
        return self.serial

    def name(self, t: str, what: str) -> str:
        return f"{B_MARK}{what}" if t == "B" else f"甲办{what}"

    def user(self, username) -> User:
        return db.session.get(User, self.users[username])

    # -- the fixed objects -------------------------------------------------------------------

    def _register(self, t, platform, handle, what) -> dict:
        body = account_body(self.unit[t], platform=platform, handle=handle,
                            name=self.name(t, what), opened_on="2024-01-02")
        response = self.sponsor_api[t].post("/api/v1/accounts", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def _build_unit(self, t):
        api = self.sponsor_api[t]
        wechat = self._register(t, "wechat", f"gh_{t.lower()}1b2c3d4e5f6", "发布")
        self.wechat[t], self.filing[t] = wechat["id"], wechat["filings"][0]["id"]
        assert api.put(f"/api/v1/accounts/{wechat['id']}/credentials", {
            "app_id": "wx0123456789abcdef", "app_secret": "s3cret-matrix",
            "token": CALLBACK_TOKEN}).status_code == 204
        self.message[t] = self._message(wechat["id"], t)
        self.answer[t] = interaction_answers.save_answer(
            self.user(self.staff[t]["sponsor"]), topic=self.name(t, "口径"), answer="已办理",
            unit_id=self.unit[t]).id
        db.session.commit()
        self.weibo[t] = self._register(t, "weibo", f"70000000{ord(t)}", "微博")["id"]
        self.events_account[t] = self._register(t, "douyin", f"dy-{t}", "抖音")["id"]
        self.kuaishou[t] = self._register(t, "kuaishou", f"ks-{t}", "快手")["id"]
        app_account = self._register(t, "app", f"cn.gov.{t.lower()}.app", "客户端")
        self.app_account[t] = app_account["id"]
        event = api.post(f"/api/v1/accounts/{app_account['id']}/events", {
            "kind": "deregister", "event_date": self.today.isoformat(), "reason": "机构调整"})
        assert event.status_code == 201, event.get_json()
        self.notice[t] = event.get_json()["notice"]["id"]
        item = api.post(f"/api/v1/accounts/{app_account['id']}/takedown",
                        {"kind": "store", "label": self.name(t, "应用商店")})
        assert item.status_code == 201, item.get_json()
        self.takedown_item[t] = item.get_json()["id"]
        self.article_view[t] = self.new_article(t, cover=True).id
        self.article_edit[t] = self.new_article(t).id
        approved = self.approved_article(t)
        self.delivery[t] = approved.deliveries[0].id
        shot = self.open_task(t)
        publisher_tasks.complete_task(self.user(self.staff[t]["sponsor"]), shot,
                                      f"https://www.kuaishou.com/short-video/{t}-shot",
                                      png_base64())
        db.session.commit()
        self.task_shot[t] = shot.id
        order = self.supervisor_api.post("/api/v1/supervision/rectifications", {
            "unit_id": self.unit[t], "kind": "other", "finding": self.name(t, "整改事项")})
        assert order.status_code == 201, order.get_json()
        self.order[t] = order.get_json()["id"]
        job = api.post("/api/v1/imports", data={"file": (io.BytesIO(self.inventory(t)),
                                                         "inventory.csv")},
                       content_type="multipart/form-data")
        assert job.status_code == 202, job.get_json()
        self.job[t] = job.get_json()["id"]

    def _message(self, account_id, t) -> int:
        account = db.session.get(Account, account_id)
        interaction_services.store_message(account, Incoming(
            msg_id=str(10**17 + self.next()), sender=f"oMatrix{t}", kind="text",
            text=self.name(t, "留言"), received_at=utcnow()))
        db.session.commit()
        return db.session.scalar(select(Message.id).where(Message.account_id == account_id))

    def _report(self) -> int:
        report = supervision_reports.generate(self.user("supervisor"), 2026, 3)
        db.session.commit()
        return report.id

    def inventory(self, t) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["主办单位", "平台", "账号名称", "账号ID", "开设日期"])
        writer.writerow([self.unit_name[t], "其他", self.name(t, "导入"),
                         f"import-{t}-{self.next()}", "2024-03-15"])
        return buffer.getvalue().encode("utf-8-sig")

    def post_log(self) -> bytes:
        return f"发布时间,标题\n2026-11-{10 + self.next() % 10} 09:30,本周工作动态\n".encode()

    # -- fresh objects: an allowed call changes the state a later call needs ------------------

    def obj(self, kind: str, t: str, fresh: bool):
        """A fresh object for a call that may succeed; one shared object for refused calls."""
        if not fresh and (kind, t) in self.cache:
            return self.cache[(kind, t)]
        made = getattr(self, kind)(t)
        db.session.commit()
        value = made.id
        if not fresh:
            self.cache[(kind, t)] = value
        return value

    def article_fields(self, t, cover=False) -> dict:
        n = self.next()
        fields = {"title": self.name(t, f"稿件{n}"), "body_html": "<p>会议研究部署了近期重点工作。</p>",
                  "source_url": f"https://www.example.gov.cn/news/{n}.html",
                  "target_account_ids": [self.weibo[t]]}
        if cover:
            fields["cover_image_base64"] = png_base64()
            fields["target_account_ids"] = [self.wechat[t], self.weibo[t]]
        return fields

    def new_article(self, t, cover=False) -> Article:
        editor = self.user(self.staff[t]["editor"])
        article = publisher_articles.create_article(editor, ArticleIn(**self.article_fields(
            t, cover)))
        db.session.commit()
        return article

    def draft(self, t) -> Article:
        return self.new_article(t)

    def pending_review(self, t) -> Article:
        article = self.new_article(t)
        publisher_review.submit_article(self.user(self.staff[t]["editor"]), article)
        db.session.commit()   # the next step reads the reviews afresh, as a new request would
        return article

    def returned(self, t) -> Article:
        """Returned by the reviewer: its revision's text is kept for a comparison."""
        article = self.pending_review(t)
        publisher_review.review_article(self.user(self.staff[t]["reviewer"]), article,
                                          "reject", "请修改")
        db.session.commit()
        return article

    def pending_signoff(self, t) -> Article:
        article = self.pending_review(t)
        publisher_review.review_article(self.user(self.staff[t]["reviewer"]), article,
                                          "approve")
        db.session.commit()
        return article

    def approved_article(self, t) -> Article:
        article = self.pending_signoff(t)
        publisher_review.review_article(self.user(self.staff[t]["signer"]), article,
                                          "approve", "同意")
        db.session.commit()
        return article

    def open_task(self, t) -> PublishingTask:
        """A publishing task: an approved article to unit t's Kuaishou account."""
        fields = self.article_fields(t) | {"target_account_ids": [self.kuaishou[t]]}
        article = publisher_articles.create_article(
            self.user(self.staff[t]["editor"]), ArticleIn(**fields))
        db.session.commit()
        publisher_review.submit_article(self.user(self.staff[t]["editor"]), article)
        db.session.commit()
        for stage in ("reviewer", "signer"):
            publisher_review.review_article(self.user(self.staff[t][stage]), article, "approve")
            db.session.commit()
        return db.session.scalar(select(PublishingTask).where(
            PublishingTask.article_id == article.id))

    def video(self, t) -> ArticleVideo:
        """An uploaded video of unit t (its editor's), carried by nothing yet."""
        return publisher_videos.receive_video(self.user(self.staff[t]["editor"]),
                                              io.BytesIO(self.video_bytes),
                                              len(self.video_bytes), "matrix.mp4")

    def body_image(self, t):
        """An image for the body, uploaded by unit t's editor."""
        return publisher_covers.store_body_image(self.user(self.staff[t]["editor"]),
                                                 base64.b64decode(png_base64()))

    def douyin_code(self, t, caller) -> str:
        """The browser's round trip at the stand-in Douyin: a state naming unit t's Douyin
        account and the caller, and the code the platform sends back with it."""
        state = platform_auth._signer().dumps({"account": self.events_account[t],
                                               "user": self.users.get(caller.username)})
        answer = requests.post(f"{douyin_standin()}/platform/oauth/approve", data={
            "client_key": DOUYIN_KEY, "redirect_uri": "http://localhost/douyin/callback",
            "state": state, "scope": "video.create"}, allow_redirects=False, timeout=5)
        return answer.headers["Location"].split("/douyin/callback", 1)[1]

    def failed_delivery(self, t) -> Delivery:
        row = self.approved_article(t).deliveries[0]
        row.status, row.attempts, row.last_error = "failed", 1, "平台暂时不可用"
        return row

    def deregistering_notice(self, t):
        sponsor = self.user(self.staff[t]["sponsor"])
        account, _warnings = registry_services.register_account(sponsor, AccountIn(
            unit_id=self.unit[t], platform="other", name=self.name(t, f"待注销{self.next()}"),
            handle=f"other-{t}-{self.serial}", opened_on="2024-01-02"))
        _event, _filing, notice = notices_services.record_event_with_notice(
            sponsor, account, EventIn(kind="deregister", event_date=self.today, reason="机构调整"))
        return notice

    def open_order(self, t):
        return supervision_services.create_rectification(
            self.user("supervisor"), self.unit[t], "other", self.name(t, f"整改{self.next()}"))

    def answered_order(self, t):
        order = self.open_order(t)
        return supervision_services.answer_rectification(
            self.user(self.staff[t]["sponsor"]), order, "已整改")

    def closed_order(self, t):
        order = self.answered_order(t)
        return supervision_services.decide_rectification(self.user("supervisor"), order, True)

    def unfiled_filing(self, t):
        """A filing not recorded yet: only its unit's sponsor records it (a supervisor
        corrects a recorded one, tests/test_daily_validation.py)."""
        sponsor = self.user(self.staff[t]["sponsor"])
        account, _warnings = registry_services.register_account(sponsor, AccountIn(
            unit_id=self.unit[t], platform="other", name=self.name(t, f"备案{self.next()}"),
            handle=f"filing-{t}-{self.serial}", opened_on="2024-01-02"))
        [filing] = account.filings
        return filing

    def evidence(self, t):
        return activity_evidence.record_evidence(
            self.user(self.staff[t]["sponsor"]), db.session.get(Account, self.wechat[t]),
            datetime.now(SHANGHAI) - timedelta(hours=1), self.name(t, f"佐证{self.next()}"),
            "https://channels.weixin.qq.com/v/1", base64.b64decode(png_base64()))

    def annual_report(self, t):
        """An issued annual report of unit t (2024; the issuing calls use 2025)."""
        return supervision_annual.issue(self.user("supervisor"), 2024, self.unit[t])

    def unissued_year(self, t) -> dict:
        """Unit t's 2025 report not issued yet, so an allowed issue succeeds."""
        db.session.execute(delete(AnnualReport).where(AnnualReport.year == 2025,
                                                      AnnualReport.unit_id == self.unit[t]))
        db.session.commit()
        return {"year": "2025", "unit_id": str(self.unit[t])}

    def spot_check(self, t):
        """A draw of unit t (2025 Q1; the drawing calls use 2025 Q2)."""
        return supervision_spotcheck.draw(self.user("supervisor"), 2025, 1, self.unit[t])

    def voidable_draw(self, t):
        """A draw of unit t (2025 Q3) not voided yet: the one before, if any, is marked void
        (kept: a refused call may still name it)."""
        db.session.execute(update(SpotCheck).where(
            SpotCheck.year == 2025, SpotCheck.quarter == 3, SpotCheck.unit_id == self.unit[t],
            SpotCheck.voided_at.is_(None)).values(voided_at=utcnow(), void_reason="矩阵"))
        return supervision_spotcheck.draw(self.user("supervisor"), 2025, 3, self.unit[t])

    def undrawn_quarter(self, t) -> dict:
        """Unit t's 2025 Q2 sample not drawn yet, so an allowed draw succeeds."""
        db.session.execute(delete(SpotCheck).where(SpotCheck.year == 2025,
                                                   SpotCheck.quarter == 2,
                                                   SpotCheck.unit_id == self.unit[t]))
        db.session.commit()
        return {"year": 2025, "quarter": 2, "unit_id": self.unit[t]}

    def event_kind(self, t) -> str:
        """Close the account, or reopen it once closed: every allowed call can succeed."""
        status = db.session.scalar(text("SELECT status FROM accounts WHERE id = :id"),
                                   {"id": self.events_account[t]})
        return "reopen" if status == "closed" else "close"


def article_form(fields: dict) -> dict:
    return {"title": fields["title"], "body_html": fields["body_html"],
            "source_url": fields["source_url"],
            "target_account_ids": [str(i) for i in fields["target_account_ids"]]}


def lists(path):
    """A list: unit A's view is the plain list; unit B's is the list filtered to unit B (and
    so is unit A's for a caller of the tree that does not reach A)."""
    return lambda m, c, t, ok: Call(path if t == "A" and "A" in c.reach
                                    else f"{path}?unit_id={m.unit[t]}")


def get(template):
    """GET a path naming unit A's or unit B's object: template.format(m=..., t=...)."""
    return lambda m, c, t, ok: Call(template.format(m=m, t=t))


def unique_account(m, t) -> dict:
    n = m.next()
    return account_body(m.unit[t], platform="other", handle=f"matrix-{t}-{n}",
                        name=m.name(t, f"账号{n}"), opened_on="2024-01-02")


def source_article(m, t) -> dict:
    now = datetime.now(SHANGHAI) - timedelta(hours=1)
    record = [{"stage": stage, "name": name, "reviewed_at": (now + timedelta(minutes=stage))
               .isoformat()} for stage, name in ((1, "王编辑"), (2, "李审核"), (3, "赵签发"))]
    return m.article_fields(t) | {"review_record": record}


def review(stage_kind, api):
    body = {"decision": "approve", "comment": "同意"}

    def build(m, c, t, ok):
        article = m.obj(stage_kind, t, ok)
        if api:
            return Call(f"/api/v1/articles/{article}/review", json=body)
        return Call(f"/articles/{article}/review", form=body)

    return build


def comment(stage_kind, api=False):
    def build(m, c, t, ok):
        article = m.obj(stage_kind, t, ok)
        if api:
            return Call(f"/api/v1/articles/{article}/comments",
                        json={"quote": "重点工作", "text": "表述再斟酌"})
        return Call(f"/articles/{article}/comments",
                    form={"quote": "重点工作", "text": "表述再斟酌"})

    return build


def rectification_page(action, state):
    def build(m, c, t, ok):
        order = m.obj(state, t, ok)
        return Call(f"/supervision/rectifications/{order}",
                    form={"action": action, "answer": "已整改", "note": "复查"})

    return build


def rectification_api(action, state):
    def build(m, c, t, ok):
        order = m.obj(state, t, ok)
        return Call(f"/api/v1/supervision/rectifications/{order}/{action}",
                    json={"answer": "已整改"} if action == "answer" else {"note": "复查"})

    return build


def now_iso() -> str:
    return datetime.now(SHANGHAI).replace(microsecond=0).isoformat()


def signed_query() -> str:
    """The query WeChat signs a callback with (SHA-1 of the sorted token, timestamp, nonce)."""
    timestamp, nonce = str(int(datetime.now().timestamp())), "matrixnonce"
    signature = hashlib.sha1("".join(sorted([CALLBACK_TOKEN, timestamp, nonce])).encode())
    return f"signature={signature.hexdigest()}&timestamp={timestamp}&nonce={nonce}"


def wechat_xml(m) -> str:
    return (f"<xml><ToUserName>gh_a1b2c3d4e5f6</ToUserName><FromUserName>oMatrixCaller"
            f"</FromUserName><CreateTime>{int(datetime.now().timestamp())}</CreateTime>"
            f"<MsgType>text</MsgType><Content>咨询</Content><MsgId>{2 * 10**17 + m.next()}"
            f"</MsgId></xml>")


CHECKLIST = list(publisher_checks.SELF_CHECK_ITEMS)
A_RULE = "mobile_number"   # changing a severity to what it already is changes no behaviour

# (method, rule) -> {case: build(matrix, caller, target, expected_allowed) -> Call}
REQUESTS = {
    ("GET", "/static/<path:filename>"): get("/static/css/app.css"),
    ("GET", "/healthz"): get("/healthz"),
    ("GET", "/login"): get("/login"),
    ("POST", "/login"): lambda m, c, t, ok: Call(
        "/login", form={"username": "probe", "password": PASSWORD}, throwaway=True),
    ("GET", "/lang/<code>"): lambda m, c, t, ok: Call("/lang/en", throwaway=True),
    ("GET", "/notices"): get("/notices"),
    ("GET", "/notices.atom"): get("/notices.atom"),
    ("GET", "/public"): get("/public?q=发布"),
    ("GET", "/public/accounts/<int:account_id>"): get("/public/accounts/{m.wechat[A]}"),
    ("GET", "/public/data.csv"): get("/public/data.csv"),
    ("GET", "/public/verify"): get("/public/verify?platform=wechat&handle=gh_a1b2c3d4e5f6"),
    ("GET", "/public/data.json"): get("/public/data.json"),
    ("GET", "/api/v1/public/notices"): get("/api/v1/public/notices"),
    ("GET", "/api/v1/public/accounts"): get("/api/v1/public/accounts?q=发布"),
    ("GET", "/api/v1/public/accounts/<int:account_id>"): get(
        "/api/v1/public/accounts/{m.wechat[A]}"),
    ("GET", "/api/v1/public/verify"): get(
        "/api/v1/public/verify?platform=wechat&handle=gh_a1b2c3d4e5f6"),
    ("GET", "/api/v1/openapi.json"): get("/api/v1/openapi.json"),
    ("POST", "/api/v1/auth/tokens"): lambda m, c, t, ok: Call(
        "/api/v1/auth/tokens", json={"username": "probe", "password": PASSWORD}),

    ("POST", "/logout"): lambda m, c, t, ok: Call("/logout", fresh_session=True),
    ("DELETE", "/api/v1/auth/tokens/current"): lambda m, c, t, ok: Call(
        "/api/v1/auth/tokens/current", fresh_session=True),
    ("GET", "/"): get("/"),
    ("GET", "/holidays"): get("/holidays"),
    ("POST", "/holidays"): lambda m, c, t, ok: Call(
        "/holidays", form={"year": "2031", "schedule": "2031-10-08,休,国庆节"}),
    ("GET", "/profile"): get("/profile"),
    # The password "changed" to itself: nothing ends, so the caller's sessions stay usable.
    ("POST", "/profile/password"): lambda m, c, t, ok: Call("/profile/password", form={
        "current_password": PASSWORD, "new_password": PASSWORD}),
    ("POST", "/profile/sessions"): lambda m, c, t, ok: Call("/profile/sessions",
                                                            fresh_session=True),
    ("POST", "/profile/notifications"): lambda m, c, t, ok: Call(
        "/profile/notifications", form={"on": "article_waiting"}),
    ("PUT", "/api/v1/me/notification-settings"): lambda m, c, t, ok: Call(
        "/api/v1/me/notification-settings", json={"off": ["dormant"]}),
    ("GET", "/api/v1/me"): get("/api/v1/me"),
    ("POST", "/api/v1/me/password"): lambda m, c, t, ok: Call("/api/v1/me/password", json={
        "current_password": PASSWORD, "new_password": PASSWORD}),
    ("POST", "/api/v1/me/sessions/end-others"): lambda m, c, t, ok: Call(
        "/api/v1/me/sessions/end-others", fresh_session=True),
    ("GET", "/notifications"): get("/notifications"),
    ("POST", "/notifications"): lambda m, c, t, ok: Call(
        "/notifications", form={"action": "read_all"}),
    ("GET", "/api/v1/notifications"): get("/api/v1/notifications"),
    ("POST", "/api/v1/notifications/<int:note_id>/read"): lambda m, c, t, ok: Call(
        f"/api/v1/notifications/"
        f"{m.notes[c.username if t == 'own' and c.role else 'sponsor_b']}/read"),

    ("GET", "/units"): get("/units"),
    ("GET", "/api/v1/units"): get("/api/v1/units"),
    ("GET", "/units/<int:unit_id>"): lambda m, c, t, ok: Call(f"/units/{m.unit[t]}"),
    ("GET", "/api/v1/units/<int:unit_id>"): lambda m, c, t, ok: Call(f"/api/v1/units/{m.unit[t]}"),
    ("GET", "/units/new"): get("/units/new"),
    ("POST", "/units/new"): lambda m, c, t, ok: Call(
        "/units/new", form={"name": f"新设单位{m.next()}", "parent_id": str(m.unit[t])}),
    ("POST", "/api/v1/units"): lambda m, c, t, ok: Call(
        "/api/v1/units", json={"name": f"新设单位{m.next()}", "parent_id": m.unit[t]}),
    ("GET", "/units/<int:unit_id>/edit"): lambda m, c, t, ok: Call(f"/units/{m.unit[t]}/edit"),
    ("POST", "/units/<int:unit_id>/edit"): lambda m, c, t, ok: Call(
        f"/units/{m.unit[t]}/edit", form={"name": m.unit_name[t], "office": "办公室",
                                          "parent_id": str(m.parent[t])}),
    ("PUT", "/api/v1/units/<int:unit_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/units/{m.unit[t]}", json={"name": m.unit_name[t], "office": "办公室",
                                            "parent_id": m.parent[t]}),
    ("PATCH", "/api/v1/units/<int:unit_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/units/{m.unit[t]}", json={"office": "办公室", "parent_id": m.parent[t]}),
    ("POST", "/units/<int:unit_id>/platform-exceptions"): lambda m, c, t, ok: Call(
        f"/units/{m.unit[t]}/platform-exceptions",
        form={"platform": "douyin", "reason": "业务需要两个账号"}),
    ("POST", "/api/v1/units/<int:unit_id>/platform-exceptions"): lambda m, c, t, ok: Call(
        f"/api/v1/units/{m.unit[t]}/platform-exceptions",
        json={"platform": "douyin", "reason": "业务需要两个账号"}),
    ("GET", "/users"): get("/users"),
    ("POST", "/users"): lambda m, c, t, ok: Call("/users", form={
        "username": f"new_user_{m.next()}", "password": "Passw0rd-new", "roles": "editor",
        "unit_id": str(m.unit["A"])}),
    ("GET", "/users/<int:user_id>"): lambda m, c, t, ok: Call(f"/users/{m.victim[t]}"),
    ("POST", "/users/<int:user_id>"): lambda m, c, t, ok: Call(
        f"/users/{m.victim[t]}", form={"roles": "editor", "unit_id": str(m.unit[t])}),
    ("POST", "/users/<int:user_id>/active"): lambda m, c, t, ok: Call(
        f"/users/{m.victim[t]}/active", form={"active": "1"}),
    ("POST", "/users/<int:user_id>/password"): lambda m, c, t, ok: Call(
        f"/users/{m.victim[t]}/password", form={"password": "Passw0rd-reset"}),
    ("GET", "/api/v1/users"): get("/api/v1/users"),
    ("POST", "/api/v1/users"): lambda m, c, t, ok: Call("/api/v1/users", json={
        "username": f"new_user_{m.next()}", "password": "Passw0rd-new", "roles": ["editor"],
        "unit_id": m.unit["A"]}),
    ("GET", "/api/v1/users/<int:user_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/users/{m.victim[t]}"),
    ("PATCH", "/api/v1/users/<int:user_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/users/{m.victim[t]}", json={"display_name": "王五"}),
    ("GET", "/audit"): get("/audit"),

    ("GET", "/accounts"): lists("/accounts"),
    ("GET", "/api/v1/accounts"): lists("/api/v1/accounts"),
    ("GET", "/accounts/<int:account_id>"): lambda m, c, t, ok: Call(f"/accounts/{m.wechat[t]}"),
    ("GET", "/api/v1/accounts/<int:account_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.wechat[t]}"),
    ("GET", "/api/v1/accounts/<int:account_id>/events"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.app_account[t]}/events"),
    ("GET", "/accounts/new"): get("/accounts/new"),
    ("POST", "/accounts/new"): lambda m, c, t, ok: Call("/accounts/new", form={
        k: str(v) for k, v in unique_account(m, "A").items() if k != "staff"}),
    ("POST", "/api/v1/accounts"): lambda m, c, t, ok: Call(
        "/api/v1/accounts", json=unique_account(m, t)),
    ("POST", "/accounts/<int:account_id>/events"): lambda m, c, t, ok: Call(
        f"/accounts/{m.events_account[t]}/events", form={
            "kind": m.event_kind(t), "event_date": m.today.isoformat(), "reason": "调整"}),
    ("POST", "/api/v1/accounts/<int:account_id>/events"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.events_account[t]}/events", json={
            "kind": m.event_kind(t), "event_date": m.today.isoformat(), "reason": "调整",
            "publish_notice": False}),
    ("PUT", "/api/v1/accounts/<int:account_id>/credentials"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.wechat[t]}/credentials",
        json={"app_id": "wx0123456789abcdef", "app_secret": "s3cret-matrix",
              "token": CALLBACK_TOKEN}),
    ("POST", "/api/v1/accounts/<int:account_id>/posts"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.wechat[t]}/posts",
        json={"published_at": now_iso(), "title": "本周工作动态"}),
    ("POST", "/api/v1/accounts/<int:account_id>/stats"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.wechat[t]}/stats",
        json={"as_of": m.today.isoformat(), "followers": 1200, "reads": 300}),
    ("GET", "/api/v1/accounts/<int:account_id>/posts"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.wechat[t]}/posts"),
    ("POST", "/api/v1/accounts/<int:account_id>/evidence"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.wechat[t]}/evidence", json={
            "published_at": now_iso(), "title": "视频号动态", "screenshot_base64": png_base64(),
            "url": "https://channels.weixin.qq.com/v/2"}),
    ("GET", "/api/v1/evidence"): lists("/api/v1/evidence"),
    ("GET", "/api/v1/evidence/<int:evidence_id>/screenshot"): lambda m, c, t, ok: Call(
        f"/api/v1/evidence/{m.obj('evidence', t, False)}/screenshot"),
    ("POST", "/api/v1/evidence/<int:evidence_id>/reject"): lambda m, c, t, ok: Call(
        f"/api/v1/evidence/{m.obj('evidence', t, ok)}/reject", json={"reason": "截图不符"}),
    ("GET", "/evidence"): get("/evidence"),
    ("POST", "/evidence"): lambda m, c, t, ok: Call("/evidence", form={
        "account_id": str(m.wechat[t]), "published_at": "2026-11-25T10:30",
        "title": "视频号动态", "url": "https://channels.weixin.qq.com/v/3",
        "screenshot": (io.BytesIO(base64.b64decode(png_base64())), "shot.png")}),
    ("GET", "/evidence/<int:evidence_id>/screenshot"): lambda m, c, t, ok: Call(
        f"/evidence/{m.obj('evidence', t, False)}/screenshot"),
    ("POST", "/evidence/<int:evidence_id>/reject"): lambda m, c, t, ok: Call(
        f"/evidence/{m.obj('evidence', t, ok)}/reject", form={"reason": "截图不符"}),
    ("GET", "/filings"): lists("/filings"),
    ("GET", "/filings/export.csv"): lists("/filings/export.csv"),
    ("GET", "/api/v1/filings"): lists("/api/v1/filings"),
    ("POST", "/filings/<int:filing_id>/complete"): lambda m, c, t, ok: Call(
        f"/filings/{m.obj('unfiled_filing', t, ok)}/complete",
        form={"filed_on": m.today.isoformat(), "reference": "备-2026-1"}),
    ("POST", "/api/v1/filings/<int:filing_id>/complete"): lambda m, c, t, ok: Call(
        f"/api/v1/filings/{m.obj('unfiled_filing', t, ok)}/complete",
        json={"filed_on": m.today.isoformat(), "reference": "备-2026-1"}),

    ("GET", "/callbacks/wechat/<int:account_id>"): lambda m, c, t, ok: Call(
        f"/callbacks/wechat/{m.wechat['A']}?{signed_query()}&echostr=matrix"),
    ("POST", "/callbacks/wechat/<int:account_id>"): lambda m, c, t, ok: Call(
        f"/callbacks/wechat/{m.wechat['A']}?{signed_query()}", form=wechat_xml(m)),
    ("GET", "/api/v1/messages"): lists("/api/v1/messages"),
    ("GET", "/api/v1/messages/<int:message_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/messages/{m.message[t]}"),
    ("POST", "/api/v1/messages/<int:message_id>/reply"): lambda m, c, t, ok: Call(
        f"/api/v1/messages/{m.message[t]}/reply", json={"text": "您好，已收到。"}),
    ("GET", "/inbox"): lists("/inbox"),
    ("GET", "/api/v1/messages/<int:message_id>/suggestions"): lambda m, c, t, ok: Call(
        f"/api/v1/messages/{m.message[t]}/suggestions"),
    ("GET", "/api/v1/answers"): lists("/api/v1/answers"),
    ("GET", "/api/v1/messages/stats"): lists("/api/v1/messages/stats"),
    ("POST", "/api/v1/answers"): lambda m, c, t, ok: Call("/api/v1/answers", json={
        "unit_id": m.unit[t], "topic": m.name(t, f"口径{m.next()}"), "answer": "已办理"}),
    ("PATCH", "/api/v1/answers/<int:answer_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/answers/{m.answer[t]}", json={"answer": "已办理完毕"}),
    ("POST", "/inbox/<int:message_id>/answer"): lambda m, c, t, ok: Call(
        f"/inbox/{m.message[t]}/answer", form={"topic": "咨询"}),
    ("GET", "/answers"): lists("/answers"),
    ("POST", "/answers"): lambda m, c, t, ok: Call("/answers", form={
        "unit_id": str(m.unit[t]), "topic": m.name(t, f"口径{m.next()}"), "answer": "已办理"}),
    ("GET", "/answers/<int:answer_id>"): lambda m, c, t, ok: Call(f"/answers/{m.answer[t]}"),
    ("POST", "/answers/<int:answer_id>"): lambda m, c, t, ok: Call(
        f"/answers/{m.answer[t]}", form={"action": "save", "topic": "咨询",
                                         "answer": "已办理完毕"}),
    ("POST", "/inbox/<int:message_id>/reply"): lambda m, c, t, ok: Call(
        f"/inbox/{m.message[t]}/reply", form={"text": "您好，已收到。"}),
    ("POST", "/api/v1/messages/<int:message_id>/assign"): lambda m, c, t, ok: Call(
        f"/api/v1/messages/{m.message[t]}/assign", json={"assignee_id": None}),
    ("POST", "/inbox/<int:message_id>/assign"): lambda m, c, t, ok: Call(
        f"/inbox/{m.message[t]}/assign", form={"assignee_id": ""}),

    ("GET", "/imports/new"): get("/imports/new"),
    ("POST", "/imports"): lambda m, c, t, ok: Call("/imports", form={
        "file": (io.BytesIO(m.inventory("A")), "inventory.csv")}),
    ("POST", "/api/v1/imports"): lambda m, c, t, ok: Call("/api/v1/imports", form={
        "file": (io.BytesIO(m.inventory("A")), "inventory.csv")}),
    ("GET", "/imports/<int:job_id>"): lambda m, c, t, ok: Call(f"/imports/{m.job[t]}"),
    ("GET", "/imports/<int:job_id>.json"): lambda m, c, t, ok: Call(f"/imports/{m.job[t]}.json"),
    ("GET", "/api/v1/imports/<int:job_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/imports/{m.job[t]}"),
    ("GET", "/imports/template.csv"): get("/imports/template.csv"),
    ("GET", "/imports/template.xlsx"): get("/imports/template.xlsx"),

    ("GET", "/notices/manage"): get("/notices/manage?show=all"),
    ("GET", "/api/v1/notices"): get("/api/v1/notices"),
    ("GET", "/notices/manage/<int:notice_id>"): lambda m, c, t, ok: Call(
        f"/notices/manage/{m.notice[t]}"),
    ("GET", "/api/v1/notices/<int:notice_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/notices/{m.notice[t]}"),
    ("POST", "/notices/manage/<int:notice_id>/amend"): lambda m, c, t, ok: Call(
        f"/notices/manage/{m.notice[t]}/amend",
        form={"text": m.name(t, f"客户端注销公告（修订{m.next()}）"), "note": "补充联系方式"}),
    ("POST", "/api/v1/notices/<int:notice_id>/amendments"): lambda m, c, t, ok: Call(
        f"/api/v1/notices/{m.notice[t]}/amendments",
        json={"text": m.name(t, f"客户端注销公告（修订{m.next()}）"), "note": "补充联系方式"}),
    ("POST", "/notices/manage/<int:notice_id>/withdraw"): lambda m, c, t, ok: Call(
        f"/notices/manage/{m.obj('deregistering_notice', t, ok)}/withdraw",
        form={"reason": "决定有误"}),
    ("POST", "/api/v1/notices/<int:notice_id>/withdraw"): lambda m, c, t, ok: Call(
        f"/api/v1/notices/{m.obj('deregistering_notice', t, ok)}/withdraw",
        json={"reason": "决定有误"}),
    ("GET", "/api/v1/accounts/<int:account_id>/takedown"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.app_account[t]}/takedown"),
    ("POST", "/api/v1/accounts/<int:account_id>/takedown"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.app_account[t]}/takedown",
        json={"kind": "link", "label": "https://www.example.gov.cn/app"}),
    ("POST", "/notices/manage/<int:notice_id>/takedown"): lambda m, c, t, ok: Call(
        f"/notices/manage/{m.notice[t]}/takedown",
        form={"kind": "link", "label": "https://www.example.gov.cn/app"}),
    ("POST", "/api/v1/takedown/<int:item_id>/done"): lambda m, c, t, ok: Call(
        f"/api/v1/takedown/{m.takedown_item[t]}/done", json={"done_on": m.today.isoformat()}),
    ("POST", "/notices/manage/<int:notice_id>/takedown/<int:item_id>"): lambda m, c, t, ok: Call(
        f"/notices/manage/{m.notice[t]}/takedown/{m.takedown_item[t]}",
        form={"done_on": m.today.isoformat()}),

    ("GET", "/articles"): get("/articles"),
    ("GET", "/api/v1/articles"): lists("/api/v1/articles"),
    ("GET", "/articles/queue"): get("/articles/queue"),
    ("GET", "/articles/<int:article_id>"): lambda m, c, t, ok: Call(
        f"/articles/{m.article_view[t]}"),
    ("GET", "/articles/<int:article_id>/live.json"): lambda m, c, t, ok: Call(
        f"/articles/{m.article_view[t]}/live.json"),
    ("GET", "/publishing/queue/live.json"): get("/publishing/queue/live.json"),
    ("GET", "/api/v1/articles/<int:article_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/articles/{m.article_view[t]}"),
    ("POST", "/api/v1/videos"): lambda m, c, t, ok: Call("/api/v1/videos", body=m.video_bytes),
    ("GET", "/api/v1/videos/<int:video_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/videos/{m.obj('video', t, False)}"),
    ("GET", "/api/v1/videos/<int:video_id>/file"): lambda m, c, t, ok: Call(
        f"/api/v1/videos/{m.obj('video', t, False)}/file"),
    ("POST", "/videos"): lambda m, c, t, ok: Call("/videos", body=m.video_bytes),
    ("POST", "/articles/images"): lambda m, c, t, ok: Call(
        "/articles/images", body=base64.b64decode(png_base64())),
    ("POST", "/api/v1/articles/images"): lambda m, c, t, ok: Call(
        "/api/v1/articles/images", body=base64.b64decode(png_base64())),
    ("GET", "/articles/images/<int:image_id>"): lambda m, c, t, ok: Call(
        f"/articles/images/{m.obj('body_image', t, False)}"),
    ("GET", "/videos/<int:video_id>/file"): lambda m, c, t, ok: Call(
        f"/videos/{m.obj('video', t, False)}/file"),
    ("GET", "/accounts/<int:account_id>/douyin/authorise"): lambda m, c, t, ok: Call(
        f"/accounts/{m.events_account[t]}/douyin/authorise"),
    ("POST", "/accounts/<int:account_id>/douyin/authorise"): lambda m, c, t, ok: Call(
        f"/accounts/{m.events_account[t]}/douyin/authorise", form={}),
    ("GET", "/douyin/callback"): lambda m, c, t, ok: Call(
        "/douyin/callback" + (m.douyin_code(t, c) if c.username else "?state=x&code=y")),
    ("GET", "/articles/<int:article_id>/cover"): lambda m, c, t, ok: Call(
        f"/articles/{m.article_view[t]}/cover"),
    ("GET", "/api/v1/deliveries/<int:delivery_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/deliveries/{m.delivery[t]}"),
    ("POST", "/api/v1/articles"): lambda m, c, t, ok: Call("/api/v1/articles", json=(
        source_article(m, t) if c.role == "source" else m.article_fields(t))),
    ("GET", "/articles/new"): get("/articles/new"),
    ("POST", "/articles/new"): lambda m, c, t, ok: Call(
        "/articles/new", form=article_form(m.article_fields("A"))),
    ("GET", "/articles/<int:article_id>/edit"): lambda m, c, t, ok: Call(
        f"/articles/{m.article_edit[t]}/edit"),
    ("POST", "/articles/<int:article_id>/edit"): lambda m, c, t, ok: Call(
        f"/articles/{m.article_edit[t]}/edit", form=article_form(m.article_fields(t))),
    ("PUT", "/api/v1/articles/<int:article_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/articles/{m.article_edit[t]}", json=m.article_fields(t)),
    ("POST", "/articles/<int:article_id>/submit"): lambda m, c, t, ok: Call(
        f"/articles/{m.obj('draft', t, ok)}/submit", form={"checklist": CHECKLIST}),
    ("POST", "/api/v1/articles/<int:article_id>/submit"): lambda m, c, t, ok: Call(
        f"/api/v1/articles/{m.obj('draft', t, ok)}/submit", json={"checklist": CHECKLIST}),
    ("POST", "/articles/<int:article_id>/review"): {
        "stage 2": review("pending_review", api=False),
        "stage 3": review("pending_signoff", api=False)},
    ("POST", "/api/v1/articles/<int:article_id>/review"): {
        "stage 2": review("pending_review", api=True),
        "stage 3": review("pending_signoff", api=True)},
    ("POST", "/articles/<int:article_id>/comments"): {
        "stage 2": comment("pending_review"), "stage 3": comment("pending_signoff")},
    ("POST", "/api/v1/articles/<int:article_id>/comments"): {
        "stage 2": comment("pending_review", api=True),
        "stage 3": comment("pending_signoff", api=True)},
    ("GET", "/api/v1/articles/<int:article_id>/compare"): lambda m, c, t, ok: Call(
        f"/api/v1/articles/{m.obj('returned', t, False)}/compare"),
    ("GET", "/api/v1/articles/<int:article_id>/previews"): lambda m, c, t, ok: Call(
        f"/api/v1/articles/{m.obj('returned', t, False)}/previews"),
    ("POST", "/articles/<int:article_id>/withdraw"): lambda m, c, t, ok: Call(
        f"/articles/{m.obj('approved_article', t, ok)}/withdraw", form={"reason": "内容有误"}),
    ("POST", "/api/v1/articles/<int:article_id>/withdraw"): lambda m, c, t, ok: Call(
        f"/api/v1/articles/{m.obj('approved_article', t, ok)}/withdraw",
        json={"reason": "内容有误"}),
    ("POST", "/deliveries/<int:delivery_id>/retry"): lambda m, c, t, ok: Call(
        f"/deliveries/{m.obj('failed_delivery', t, ok)}/retry"),
    ("POST", "/api/v1/deliveries/<int:delivery_id>/retry"): lambda m, c, t, ok: Call(
        f"/api/v1/deliveries/{m.obj('failed_delivery', t, ok)}/retry"),
    ("GET", "/tasks"): get("/tasks"),
    ("GET", "/api/v1/tasks"): lists("/api/v1/tasks"),
    ("GET", "/tasks/<int:task_id>/screenshot"): lambda m, c, t, ok: Call(
        f"/tasks/{m.task_shot[t]}/screenshot"),
    ("POST", "/tasks/<int:task_id>/complete"): lambda m, c, t, ok: Call(
        f"/tasks/{m.obj('open_task', t, ok)}/complete",
        form={"post_url": f"https://www.kuaishou.com/short-video/m{m.next()}"}),
    ("POST", "/api/v1/tasks/<int:task_id>/complete"): lambda m, c, t, ok: Call(
        f"/api/v1/tasks/{m.obj('open_task', t, ok)}/complete",
        json={"post_url": f"https://www.kuaishou.com/short-video/m{m.next()}"}),
    ("GET", "/publishing/queue"): get("/publishing/queue"),
    ("GET", "/api/v1/checks"): get("/api/v1/checks"),
    ("GET", "/checks"): get("/checks"),
    ("GET", "/api/v1/checks/lists/<name>"): get("/api/v1/checks/lists/banned"),
    ("POST", "/api/v1/checks/lists/<name>"): lambda m, c, t, ok: Call(
        "/api/v1/checks/lists/banned", json={"add": [f"矩阵禁用词{m.next()}"]}),
    ("POST", "/checks/lists/<name>"): lambda m, c, t, ok: Call(
        "/checks/lists/banned", form={"add": f"矩阵禁用词{m.next()}"}),
    ("PUT", "/api/v1/checks/severities"): lambda m, c, t, ok: Call(
        "/api/v1/checks/severities", json={"severities": {A_RULE: "warn"}}),
    ("POST", "/checks/severities"): lambda m, c, t, ok: Call(
        "/checks/severities", form={f"severity-{A_RULE}": "warn"}),

    ("GET", "/supervision"): lists("/supervision"),
    ("GET", "/accounts/picker.json"): get("/accounts/picker.json?q=发布"),
    ("GET", "/units/picker.json"): get("/units/picker.json?q=县"),
    ("GET", "/supervision/dormant"): lists("/supervision/dormant"),
    ("GET", "/supervision/duplicates"): lists("/supervision/duplicates"),
    ("GET", "/api/v1/supervision/dormant"): lists("/api/v1/supervision/dormant"),
    ("GET", "/api/v1/supervision/duplicates"): lists("/api/v1/supervision/duplicates"),
    ("GET", "/api/v1/supervision/summary"): lists("/api/v1/supervision/summary"),
    ("GET", "/api/v1/supervision/trend"): lists("/api/v1/supervision/trend"),
    ("GET", "/api/v1/supervision/levels"): lambda m, c, t, ok: Call(
        f"/api/v1/supervision/levels?under={m.unit[t]}"),
    ("GET", "/supervision/post-logs"): get("/supervision/post-logs"),
    ("POST", "/supervision/post-logs"): lambda m, c, t, ok: Call("/supervision/post-logs", form={
        "file": (io.BytesIO(m.post_log()), "log.csv"), "account_id": str(m.wechat[t])}),
    ("POST", "/api/v1/supervision/post-logs"): lambda m, c, t, ok: Call(
        "/api/v1/supervision/post-logs", form={
            "file": (io.BytesIO(m.post_log()), "log.csv"), "account_id": str(m.wechat[t])}),
    ("GET", "/supervision/rectifications"): lists("/supervision/rectifications"),
    ("GET", "/api/v1/supervision/rectifications"): lists("/api/v1/supervision/rectifications"),
    ("POST", "/supervision/rectifications"): lambda m, c, t, ok: Call(
        "/supervision/rectifications", form={"unit_id": str(m.unit[t]), "kind": "other",
                                             "finding": m.name(t, "新整改事项")}),
    ("POST", "/api/v1/supervision/rectifications"): lambda m, c, t, ok: Call(
        "/api/v1/supervision/rectifications", json={"unit_id": m.unit[t], "kind": "other",
                                                    "finding": m.name(t, "新整改事项")}),
    ("GET", "/supervision/rectifications/<int:order_id>"): lambda m, c, t, ok: Call(
        f"/supervision/rectifications/{m.order[t]}"),
    ("GET", "/api/v1/supervision/rectifications/<int:order_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/supervision/rectifications/{m.order[t]}"),
    ("POST", "/supervision/rectifications/<int:order_id>"): {
        "answer": rectification_page("answer", "open_order"),
        "close": rectification_page("close", "answered_order"),
        "reopen": rectification_page("reopen", "closed_order")},
    ("POST", "/api/v1/supervision/rectifications/<int:order_id>/answer"): rectification_api(
        "answer", "open_order"),
    ("POST", "/api/v1/supervision/rectifications/<int:order_id>/close"): rectification_api(
        "close", "answered_order"),
    ("POST", "/api/v1/supervision/rectifications/<int:order_id>/reopen"): rectification_api(
        "reopen", "closed_order"),
    ("GET", "/supervision/reports"): get("/supervision/reports"),
    ("GET", "/supervision/<any(dormant, duplicates, rectifications):name>.<any(xlsx, csv):ext>"): {
        "dormant.xlsx": lists("/supervision/dormant.xlsx"),
        "duplicates.csv": lists("/supervision/duplicates.csv"),
        "rectifications.csv": lists("/supervision/rectifications.csv")},
    ("POST", "/api/v1/supervision/rectifications/bulk"): lambda m, c, t, ok: Call(
        "/api/v1/supervision/rectifications/bulk", json={"account_ids": [m.weibo[t]]}),
    ("POST", "/api/v1/supervision/duplicates/dismissals"): lambda m, c, t, ok: Call(
        "/api/v1/supervision/duplicates/dismissals",
        json={"account_ids": [m.wechat[t], m.weibo[t]], "reason": "不同平台"}),
    ("POST", "/supervision/dormant/orders"): lambda m, c, t, ok: Call(
        "/supervision/dormant/orders", form={"account_ids": [str(m.wechat[t])]}),
    ("POST", "/supervision/duplicates/dismissals"): lambda m, c, t, ok: Call(
        "/supervision/duplicates/dismissals", form={"low_id": str(m.wechat[t]),
                                                    "high_id": str(m.weibo[t]), "reason": "不同"}),
    ("POST", "/supervision/reports"): lambda m, c, t, ok: Call(
        "/supervision/reports", form={"year": "2026", "quarter": "3"}),
    ("GET", "/supervision/reports/<int:report_id>.<any(xlsx, csv):ext>"): {
        "xlsx": get("/supervision/reports/{m.report}.xlsx"),
        "csv": get("/supervision/reports/{m.report}.csv")},
    ("POST", "/api/v1/supervision/reports"): lambda m, c, t, ok: Call(
        "/api/v1/supervision/reports", json={"year": 2026, "quarter": 3}),
    ("GET", "/api/v1/supervision/reports"): get("/api/v1/supervision/reports"),
    ("GET", "/api/v1/supervision/reports/<int:report_id>"): get(
        "/api/v1/supervision/reports/{m.report}"),
    ("GET", "/api/v1/supervision/reports/<int:report_id>/xlsx"): get(
        "/api/v1/supervision/reports/{m.report}/xlsx"),
    ("GET", "/api/v1/supervision/reports/<int:report_id>/csv"): get(
        "/api/v1/supervision/reports/{m.report}/csv"),
    ("GET", "/supervision/annual"): lambda m, c, t, ok: Call(
        f"/supervision/annual?year=2025&unit_id={m.unit[t]}"),
    ("POST", "/supervision/annual"): lambda m, c, t, ok: Call(
        "/supervision/annual", form=m.unissued_year(t) if ok else {
            "year": "2025", "unit_id": str(m.unit[t])}),
    ("GET", "/supervision/annual.xlsx"): lambda m, c, t, ok: Call(
        f"/supervision/annual.xlsx?year=2025&unit_id={m.unit[t]}"),
    ("GET", "/supervision/annual/<int:report_id>.xlsx"): lambda m, c, t, ok: Call(
        f"/supervision/annual/{m.obj('annual_report', t, False)}.xlsx"),
    ("GET", "/api/v1/supervision/annual"): lambda m, c, t, ok: Call(
        f"/api/v1/supervision/annual?year=2025&unit_id={m.unit[t]}"),
    ("POST", "/api/v1/supervision/annual"): lambda m, c, t, ok: Call(
        "/api/v1/supervision/annual", json={k: int(v) for k, v in (
            m.unissued_year(t) if ok else {"year": "2025", "unit_id": str(m.unit[t])}).items()}),
    ("GET", "/api/v1/supervision/annual-reports"): lists("/api/v1/supervision/annual-reports"),
    ("GET", "/api/v1/supervision/annual-reports/<int:report_id>"): lambda m, c, t, ok: Call(
        f"/api/v1/supervision/annual-reports/{m.obj('annual_report', t, False)}"),
    ("GET", "/public/annual-reports"): get("/public/annual-reports"),
    ("GET", "/public/annual-reports/<int:report_id>"): lambda m, c, t, ok: Call(
        f"/public/annual-reports/{m.obj('annual_report', 'A', False)}"),
    ("GET", "/public/annual-reports/<int:report_id>.xlsx"): lambda m, c, t, ok: Call(
        f"/public/annual-reports/{m.obj('annual_report', 'A', False)}.xlsx"),
    ("GET", "/supervision/inspection"): lists("/supervision/inspection"),
    ("GET", "/supervision/inspection.<any(xlsx, csv):ext>"): {
        "xlsx": lists("/supervision/inspection.xlsx"),
        "csv": lists("/supervision/inspection.csv")},
    ("GET", "/api/v1/supervision/inspection"): lists("/api/v1/supervision/inspection"),
    ("GET", "/supervision/spot-checks"): lists("/supervision/spot-checks"),
    ("POST", "/supervision/spot-checks"): lambda m, c, t, ok: Call(
        "/supervision/spot-checks", form={k: str(v) for k, v in (
            m.undrawn_quarter(t) if ok else {"year": 2025, "quarter": 2,
                                             "unit_id": m.unit[t]}).items()}),
    ("GET", "/supervision/spot-checks/<int:draw_id>"): lambda m, c, t, ok: Call(
        f"/supervision/spot-checks/{m.obj('spot_check', t, False)}"),
    ("POST", "/supervision/spot-checks/<int:draw_id>/void"): lambda m, c, t, ok: Call(
        f"/supervision/spot-checks/{m.obj('voidable_draw', t, ok)}/void",
        form={"reason": "抽错了季度"}),
    ("POST", "/api/v1/supervision/spot-checks/<int:draw_id>/void"): lambda m, c, t, ok: Call(
        f"/api/v1/supervision/spot-checks/{m.obj('voidable_draw', t, ok)}/void",
        json={"reason": "抽错了季度"}),
    ("GET", "/supervision/spot-checks/<int:draw_id>.xlsx"): lambda m, c, t, ok: Call(
        f"/supervision/spot-checks/{m.obj('spot_check', t, False)}.xlsx"),
    ("GET", "/api/v1/supervision/spot-checks"): lists("/api/v1/supervision/spot-checks"),
    ("POST", "/api/v1/supervision/spot-checks"): lambda m, c, t, ok: Call(
        "/api/v1/supervision/spot-checks", json=m.undrawn_quarter(t) if ok else {
            "year": 2025, "quarter": 2, "unit_id": m.unit[t]}),
    ("GET", "/supervision/rule-profiles"): lists("/supervision/rule-profiles"),
    ("POST", "/supervision/rule-profiles"): lambda m, c, t, ok: Call(
        "/supervision/rule-profiles", form={
            "unit_id": str(m.unit[t]), "update_window": "10", "warning_from": "7",
            "window_unit": "days", "filing_workdays": "5", "notice_workdays": "15",
            "message_reply_workdays": "5", "spot_check_share": "1"}),
    ("GET", "/api/v1/supervision/rule-profiles"): lists("/api/v1/supervision/rule-profiles"),
    ("GET", "/api/v1/supervision/rule-profiles/history"): lists(
        "/api/v1/supervision/rule-profiles/history"),
    ("POST", "/api/v1/supervision/rule-profiles"): lambda m, c, t, ok: Call(
        "/api/v1/supervision/rule-profiles",
        json={"unit_id": m.unit[t], "values": {"update_window": 10}}),
    ("POST", "/accounts/<int:account_id>/wechat"): lambda m, c, t, ok: Call(
        f"/accounts/{m.wechat[t]}/wechat",
        form={"wechat_mode": "publish", "wechat_type": "subscription"}),
    ("PUT", "/api/v1/accounts/<int:account_id>/wechat"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.wechat[t]}/wechat",
        json={"wechat_mode": "publish", "wechat_type": "subscription"}),
    ("POST", "/accounts/<int:account_id>/app"): lambda m, c, t, ok: Call(
        f"/accounts/{m.app_account[t]}/app",
        form={"app_filing_number": "网信备-矩阵", "app_version": "1.0"}),
    ("PUT", "/api/v1/accounts/<int:account_id>/app"): lambda m, c, t, ok: Call(
        f"/api/v1/accounts/{m.app_account[t]}/app",
        json={"app_filing_number": "网信备-矩阵", "app_version": "1.0"}),
}


def request_cases(key) -> dict:
    entry = REQUESTS[key]
    return entry if isinstance(entry, dict) else {"": entry}


# --- coverage of the URL map -----------------------------------------------------------------

def test_every_route_has_an_expectation_and_a_request():
    """A route added without a line in tests/security_routes.py (and a request here) fails."""
    # Building the URL map connects to nothing: addresses where no server listens will do.
    app = create_app(base_config("postgresql://nobody@127.0.0.1:9/none", "redis://127.0.0.1:9/0"))
    routes = route_keys(app)
    assert sorted(routes - set(EXPECTATIONS)) == [], "routes without an expectation"
    assert sorted(set(EXPECTATIONS) - routes) == [], "expectations of routes that are gone"
    assert sorted(routes ^ set(REQUESTS)) == [], "routes without a request in REQUESTS"
    for key in routes:
        assert set(cases(key)) == set(request_cases(key)), key
    for key in routes:
        for expect in cases(key).values():
            assert expect.roles <= set(ROLES) and expect.scope in (
                "unit", "global", "public", "own_user"), key
            assert expect.why, key
    # Only what the public is meant to reach is listed as public.
    public = sorted(rule for method, rule in routes
                    if any(e.scope == "public" for e in cases((method, rule)).values()))
    assert [rule for rule in public if not rule.startswith(PUBLIC_ROUTE_PREFIXES)] == [
        "/api/v1/auth/tokens", "/api/v1/openapi.json", "/lang/<code>", "/login", "/login"]


# --- the matrix ------------------------------------------------------------------------------

@dataclass
class Caller:
    role: str | None
    username: str | None
    token: str | None = None
    page: object = None
    reach: frozenset = frozenset({"A"})   # which of units A and B its roles reach
    held_at_a_unit: bool = True


def matrix_callers(app) -> list[Caller]:
    callers = [Caller(None, None, None, app.test_client())]
    for role in ROLES:
        unbound = role in SEES_ALL
        callers.append(Caller(role, CALLER_NAMES[role], new_token(app, CALLER_NAMES[role]),
                              page_login(app, CALLER_NAMES[role]),
                              frozenset({"A", "B"}) if unbound else frozenset({"A"}),
                              held_at_a_unit=not unbound))
    for username, (role, _at, reach) in TREE_CALLERS.items():
        callers.append(Caller(role, username, new_token(app, username),
                              page_login(app, username), frozenset(reach)))
    return callers


@dataclass
class Tally:
    calls: int = 0
    outcomes: Counter = field(default_factory=Counter)
    routes: set = field(default_factory=set)
    mismatches: list = field(default_factory=list)


def expected_outcome(expect, caller: Caller, target, api: bool) -> str:
    if expect.scope == "public":
        return "allowed"
    if caller.role is None:
        return "unauthenticated" if api else "login"
    if expect.scope == "own_user":
        return "allowed" if target == "own" else "hidden"
    if caller.role not in expect.roles:
        return "refused"
    if expect.all_units and caller.held_at_a_unit:
        return "refused"
    if expect.scope == "unit" and target not in caller.reach:
        return "refused"
    return "allowed"


def outcome_of(response) -> str:
    status = response.status_code
    if status == 401:
        return "unauthenticated"
    if status == 403:
        return "refused"
    if status == 404:
        return "hidden"
    if status in (301, 302, 303) and response.headers["Location"].startswith("/login?next="):
        return "login"
    if status >= 400:
        return f"status {status}"   # every request is built valid: an allowed one succeeds
    return "allowed"


def fingerprint() -> tuple:
    """Rows per table and the users' session versions: a refused call leaves them as they were."""
    db.session.rollback()
    return tuple(db.session.execute(text(fingerprint_query())).all())


@functools.cache
def fingerprint_query() -> str:
    counts = [f"SELECT '{t.name}', COUNT(*) FROM {t.name}" for t in db.metadata.sorted_tables]
    return " UNION ALL ".join(counts + [
        "SELECT 'session versions', SUM(session_version) FROM users",
        "SELECT 'revoked tokens', COUNT(revoked_at) FROM api_tokens"])


def security_header_problems(response) -> list[str]:
    problems = []
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options")
    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in csp.split(";")
                      if part.strip())
    script = directives.get("script-src", directives.get("default-src", ""))
    if not script or "'unsafe-inline'" in script or "'unsafe-eval'" in script:
        problems.append("CSP script-src")
    if (response.headers.get("X-Frame-Options") != "DENY"
            and directives.get("frame-ancestors") != "'none'"):
        problems.append("frame denial")
    return problems


def page_login(app, username):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, (username, response.status_code)
    return client


def new_token(app, username) -> str:
    response = app.test_client(use_cookies=False).post(
        "/api/v1/auth/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def send(app, api_client, caller: Caller, method: str, call: Call):
    if call.path.startswith("/api/"):
        token = caller.token
        if call.fresh_session and caller.role:
            token = new_token(app, caller.username)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if call.body is not None:
            return api_client.open(call.path, method=method, data=call.body, headers=headers,
                                   content_type="video/mp4")
        if call.form is not None:
            return api_client.open(call.path, method=method, data=call.form, headers=headers,
                                   content_type="multipart/form-data")
        if call.json is None and method in ("GET", "DELETE"):
            return api_client.open(call.path, method=method, headers=headers)
        return api_client.open(call.path, method=method, json=call.json or {}, headers=headers)
    if call.throwaway:
        client = app.test_client()
    elif call.fresh_session and caller.role:
        client = page_login(app, caller.username)
    else:
        client = caller.page
    if call.body is not None:
        return client.open(call.path, method=method, data=call.body, content_type="video/mp4")
    return client.open(call.path, method=method, data=call.form)


def test_every_route_answers_each_role_of_each_unit_as_the_contract_says(app, world, tmp_path):
    # Sign-offs, retries and withdrawals enqueue deliveries; this test is about who may act,
    # so no job runs (tests/test_fanout*.py send them) and no platform is reachable.
    app.config.update(TEST_RUN_JOBS=False, WECHAT_API_BASE_URL="http://127.0.0.1:9",
                      WEIBO_API_BASE_URL="http://127.0.0.1:9",
                      DOUYIN_API_BASE_URL=douyin_standin(), DOUYIN_CLIENT_KEY=DOUYIN_KEY,
                      DOUYIN_CLIENT_SECRET=DOUYIN_APPS[DOUYIN_KEY],
                      VIDEO_DIR=str(tmp_path / "videos"))
    m = Matrix(world, tmp_path)
    callers = matrix_callers(app)
    api_client = app.test_client(use_cookies=False)
    tally = Tally()
    for key in sorted(EXPECTATIONS):
        method, rule = key
        for case, expect in cases(key).items():
            build = request_cases(key)[case]
            targets = {"unit": ("A", "B"), "own_user": ("own", "other")}.get(expect.scope, ("-",))
            for caller in callers:
                for target in targets if caller.role else targets[:1]:
                    api = rule.startswith("/api/")
                    expected = expected_outcome(expect, caller, target, api)
                    call = build(m, caller, target if target != "-" else "A",
                                 expected == "allowed")
                    before = fingerprint() if expected != "allowed" else None
                    response = send(app, api_client, caller, method, call)
                    if call.fresh_session and caller.role:
                        # Logging out ends every session of the user, and ending the other
                        # sessions (the profile) every token too: log the caller in again.
                        caller.page = page_login(app, caller.username)
                        caller.token = new_token(app, caller.username)
                    # Read and close every answer: a streamed one holds its request open.
                    body = response.get_data().decode("utf-8", "replace")
                    response.close()
                    if response.is_json:   # the API escapes Chinese: compare the text itself
                        body = json.dumps(response.get_json(), ensure_ascii=False)
                    got = outcome_of(response)
                    where = f"{method} {rule}{' [' + case + ']' if case else ''} as " \
                            f"{caller.role or 'anonymous'} on {target}"
                    tally.calls += 1
                    tally.routes.add(key)
                    problems = []
                    if got != expected:
                        problems.append(f"expected {expected}, got {got} "
                                        f"({response.status_code} {call.path})")
                    if expected != "allowed" and fingerprint() != before:
                        problems.append("a refused call wrote to the database")
                    problems += security_header_problems(response)
                    if (got == "allowed" and method == "GET" and caller.role
                            and "B" not in caller.reach and expect.scope != "public"):
                        if B_MARK in body:
                            problems.append(f"unit B's data shown ({call.path})")
                        if B_UNIT_NAME in body and key not in UNIT_NAMES_SHOWN:
                            problems.append(f"unit B's name shown ({call.path})")
                    if (got == "allowed" and method == "GET" and caller.role
                            and "A" not in caller.reach and expect.scope != "public"
                            and A_MARK in body):
                        problems.append(f"unit A's data shown ({call.path})")
                    if problems:
                        tally.mismatches.append(f"{where}: {'; '.join(problems)}")
                    tally.outcomes[expected] += 1
    print(f"\nsecurity matrix: {len(tally.routes)} routes x {len(ROLES)} roles + anonymous + "
          f"{len(TREE_CALLERS)} of the tree, units A and B: {tally.calls} calls, "
          f"{dict(sorted(tally.outcomes.items()))}")
    assert tally.mismatches == [], "\n".join(tally.mismatches)
    assert tally.routes == set(EXPECTATIONS)


# --- CSRF ------------------------------------------------------------------------------------

def concrete(rule: str) -> str:
    """A path for a rule: CSRF is checked before the view, so any id will do."""
    return re.sub(r"<[^>]+>", "banned", re.sub(r"<int:[^>]+>", "1", rule))


def csrf_token_in(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token in the page"
    return match[1]


@pytest.fixture
def strict(app, world, database_url):
    """The same database behind an app that checks CSRF as production does, and a logged-in
    admin browser (admins may post every form)."""
    strict_app = create_app({**base_config(database_url), "WTF_CSRF_ENABLED": True})
    browser = strict_app.test_client()
    token = csrf_token_in(browser.get("/login").get_data(as_text=True))
    response = browser.post("/login", data={"username": "admin", "password": PASSWORD,
                                            "csrf_token": token})
    assert response.status_code == 302
    return strict_app, browser


def test_every_form_refuses_a_post_without_its_csrf_token_and_writes_nothing(strict, caplog):
    strict_app, browser = strict
    caplog.set_level(logging.INFO, logger="flask_wtf.csrf")
    # The platforms' callbacks carry no session: their signature is their check
    # (tests/test_interaction.py), so they are exempt, as the API is.
    posts = sorted(rule for method, rule in route_keys(strict_app)
                   if method == "POST" and not rule.startswith(("/api/", "/callbacks/")))
    assert len(posts) >= 30   # every form of registry, publisher, notices and supervision
    before = fingerprint()
    for rule in posts:
        response = browser.post(concrete(rule), data={"name": "x", "action": "answer",
                                                      "year": "2031", "reason": "x"})
        assert response.status_code == 400, (rule, response.status_code)
        assert "text/html" in response.content_type, rule
        assert not security_header_problems(response), rule
    # Each 400 is the CSRF check's (Flask-WTF logs why), not a form's own validation.
    refusals = [r for r in caplog.records if r.name == "flask_wtf.csrf"
                and "CSRF token is missing" in r.getMessage()]
    assert len(refusals) == len(posts)
    assert fingerprint() == before
    # The refused logout did not log anyone out; a token of another session is no better.
    assert browser.get("/").status_code == 200
    other = strict_app.test_client()
    foreign = csrf_token_in(other.get("/login").get_data(as_text=True))
    assert browser.post("/notifications", data={"action": "read_all",
                                                "csrf_token": foreign}).status_code == 400
    # With the page's own token the forms work.
    token = csrf_token_in(browser.get("/notifications").get_data(as_text=True))
    assert browser.post("/notifications", data={"action": "read_all",
                                                "csrf_token": token}).status_code == 302
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert browser.get("/").headers["Location"].startswith("/login")


def test_the_api_is_exempt_from_csrf_because_it_never_reads_the_session_cookie(strict):
    strict_app, browser = strict      # logged in: the session cookie rides on every call
    routes = sorted((method, rule) for method, rule in route_keys(strict_app)
                    if rule.startswith("/api/")
                    and any(e.scope != "public" for e in cases((method, rule)).values()))
    assert len(routes) >= 60
    before = fingerprint()
    for method, rule in routes:
        response = browser.open(concrete(rule), method=method, json={})
        assert response.status_code == 401, (method, rule, response.status_code)
        assert response.get_json()["error"]["code"] == "unauthenticated"
    assert fingerprint() == before


def test_every_template_form_that_posts_carries_the_csrf_token():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    forms = []
    for path in sorted(root.rglob("*.html")):
        html = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", html,
                                 re.DOTALL | re.IGNORECASE):
            forms.append((path.relative_to(root), "csrf_token" in match[1]))
    assert len(forms) >= 30
    assert [str(name) for name, has_token in forms if not has_token] == []


# --- session cookies and headers ------------------------------------------------------------

def session_cookie(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_session_cookie_is_httponly_and_samesite_and_secure_when_served_behind_tls(
        app, world, database_url, monkeypatch):
    response = app.test_client().post("/login", data={"username": "sponsor_a",
                                                      "password": PASSWORD})
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie      # plain http on a developer's machine still logs in
    assert "Expires=" in cookie        # a permanent session of SESSION_HOURS, not forever
    # Behind TLS the deployment sets SESSION_COOKIE_SECURE (README, docs/DEPLOY.md).
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    assert Settings.load().flask_config()["SESSION_COOKIE_SECURE"] is True
    config = base_config(database_url) | {"TRUSTED_PROXIES": 1}
    tls = create_app(config)
    response = tls.test_client().post(
        "/login", data={"username": "sponsor_a", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    cookie = session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert not [c for c in response.headers.getlist("Set-Cookie")
                if c.startswith("remember_token=")]   # no long-lived remember-me cookie


def test_a_session_cookie_copied_before_logout_does_not_work_after_it(app, world):
    browser = app.test_client()
    browser.post("/login", data={"username": "sponsor_a", "password": PASSWORD})
    copied = browser.get_cookie("session").value
    assert browser.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", copied)
    response = replay.get("/accounts")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert world.sponsor_a.get("/api/v1/accounts").status_code == 200   # tokens live on


def stays_here(location: str) -> bool:
    """Where a browser goes: it reads a backslash as a slash and drops tabs and newlines."""
    from urllib.parse import urlsplit

    seen = location.replace("\\", "/").replace("\t", "").replace("\n", "").replace("\r", "")
    return not urlsplit(seen).netloc and not urlsplit(seen).scheme


def test_after_login_and_language_choice_only_local_paths_are_followed(app, world):
    from urllib.parse import quote

    hostile = ["//evil.example/", "/\\evil.example/", "/\t/evil.example/", "/\n/evil.example",
               "https://evil.example/", "javascript:alert(1)"]
    for target in hostile:
        response = app.test_client().post(f"/login?next={quote(target)}", data={
            "username": "sponsor_a", "password": PASSWORD})
        assert response.status_code == 302 and response.headers["Location"] == "/", target
        assert not stays_here(target)   # each of them would leave the site
        if "\n" not in target:      # a header cannot carry a newline
            response = app.test_client().get("/lang/zh", headers={
                "Referer": "https://evil.example" + target})
            location = response.headers["Location"]   # the page the visitor came from
            assert stays_here(location), (target, location)
    response = app.test_client().post("/login?next=/accounts%3Fstatus%3Dactive", data={
        "username": "sponsor_a", "password": PASSWORD})
    assert response.headers["Location"] == "/accounts?status=active"


def test_security_headers_on_error_pages_files_and_the_api(client):
    for path in ("/no-such-page", "/api/v1/no-such-thing", "/static/js/app.js",
                 "/public/data.csv", "/api/v1/public/notices", "/notices.atom"):
        response = client.get(path)
        assert not security_header_problems(response), (path, response.headers)
    assert client.delete("/login").status_code == 405
    assert not security_header_problems(client.delete("/login"))


# --- login throttling ------------------------------------------------------------------------

def fail_page_login(client, username, times):
    for _ in range(times):
        response = client.post("/login", data={"username": username, "password": "wrong-pass1"})
        assert response.status_code == 401


def test_login_is_throttled_on_the_page_and_the_api_alike_and_recovers(app, world, client):
    from govmedia.models import LoginFailure

    fail_page_login(client, "sponsor_a", 5)
    page = client.post("/login", data={"username": "sponsor_a", "password": PASSWORD})
    assert page.status_code == 429
    assert "登录失败次数过多，请稍后再试" in page.get_data(as_text=True)
    assert client.get("/accounts").status_code == 302            # not logged in
    api = client.post("/api/v1/auth/tokens", json={"username": "sponsor_a", "password": PASSWORD})
    assert api.status_code == 429 and api.get_json()["error"]["code"] == "too_many_attempts"
    # Other users are not locked out by someone guessing at this one.
    assert client.post("/api/v1/auth/tokens", json={"username": "sponsor_b",
                                                    "password": PASSWORD}).status_code == 201
    # Once the window has passed, the right password works again and clears the count.
    window = timedelta(minutes=app.config["LOGIN_FAILURE_WINDOW_MINUTES"], seconds=1)
    db.session.execute(update(LoginFailure).values(at=utcnow() - window))
    db.session.commit()
    assert client.post("/login", data={"username": "sponsor_a",
                                       "password": PASSWORD}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_failures_short_of_the_limit_do_not_throttle_and_success_resets_them(app, world):
    browser = app.test_client()
    fail_page_login(browser, "sponsor_a", 4)
    assert browser.post("/login", data={"username": "sponsor_a",
                                        "password": PASSWORD}).status_code == 302
    fail_page_login(app.test_client(), "sponsor_a", 4)
    assert app.test_client().post("/api/v1/auth/tokens", json={
        "username": "sponsor_a", "password": PASSWORD}).status_code == 201


# --- API tokens ---------------------------------------------------------------------------------

def token_row(token: str) -> ApiToken:
    import hashlib

    return db.session.scalar(select(ApiToken).where(
        ApiToken.token_hash == hashlib.sha256(token.encode()).hexdigest()))


def test_api_tokens_expire_after_the_configured_hours(app, world, client):
    app.config["API_TOKEN_HOURS"] = 2
    response = client.post("/api/v1/auth/tokens", json={"username": "sponsor_a",
                                                        "password": PASSWORD})
    body = response.get_json()
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=2) - timedelta(minutes=1) < expires - datetime.now(SHANGHAI) \
        <= timedelta(hours=2)
    headers = {"Authorization": f"Bearer {body['token']}"}
    row = token_row(body["token"])
    row.expires_at = utcnow() + timedelta(seconds=30)
    db.session.commit()
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expired = client.get("/api/v1/accounts", headers=headers)
    assert expired.status_code == 401 and expired.get_json()["error"]["code"] == "unauthenticated"
    assert client.delete("/api/v1/auth/tokens/current", headers=headers).status_code == 401


def test_a_revoked_token_stops_at_once_and_only_that_token(app, world, client, login):
    first, second = login("sponsor_a"), login("sponsor_a")
    assert first.delete("/api/v1/auth/tokens/current").status_code == 204
    assert first.get("/api/v1/accounts").status_code == 401
    assert first.delete("/api/v1/auth/tokens/current").status_code == 401
    assert second.get("/api/v1/accounts").status_code == 200
    # Tokens are kept as digests only, and travel only in the Authorization header.
    assert token_row(second.token).token_hash != second.token
    stored = db.session.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert second.token not in stored
    assert client.get(f"/api/v1/accounts?access_token={second.token}").status_code == 401
    assert client.get("/api/v1/accounts", headers={
        "Authorization": f"Token {second.token}"}).status_code == 401


# --- passwords -------------------------------------------------------------------------------

WEAK = {"seven7x": "at least 8", "abcdefgh": "letters and digits",
        "12345678": "letters and digits", "        ": "letters and digits"}


def test_weak_passwords_are_refused_on_create_and_reset_by_api_page_and_cli(app, world):
    unit_a = world.unit_a["id"]
    users = db.session.scalar(select(func.count()).select_from(User))
    for password, problem in WEAK.items():
        response = world.admin.post("/api/v1/users", {"username": "weak_user", "password": password,
                                                      "roles": ["editor"], "unit_id": unit_a})
        assert response.status_code == 400, password
        assert problem in response.get_json()["error"]["fields"]["password"]
    sponsor = db.session.scalar(select(User).where(User.username == "sponsor_a"))
    version = sponsor.session_version
    for password in WEAK:
        response = world.admin.patch(f"/api/v1/users/{sponsor.id}", {"password": password})
        assert response.status_code == 400 and "password" in response.get_json()["error"]["fields"]
    admin_page = app.test_client()
    admin_page.post("/login", data={"username": "admin", "password": PASSWORD})
    for password in WEAK:
        created = admin_page.post("/users", data={"username": "weak_user", "password": password,
                                                  "roles": "editor", "unit_id": str(unit_a)})
        assert created.status_code == 400, password
        reset = admin_page.post(f"/users/{sponsor.id}/password", data={"password": password})
        assert reset.status_code == 400, password
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "weak_cli", "--role", "admin", "--password-stdin"], input="abcdefgh\n")
    assert result.exit_code != 0
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == users
    assert db.session.get(User, sponsor.id).session_version == version   # nothing was reset
    assert world.sponsor_a.get("/api/v1/accounts").status_code == 200
    # Eight characters with a letter and a digit is enough, through every door.
    assert world.admin.post("/api/v1/users", {"username": "fine_user", "password": "abcdefg1",
                                              "roles": ["editor"], "unit_id": unit_a}
                            ).status_code == 201
    assert admin_page.post(f"/users/{sponsor.id}/password",
                           data={"password": "Abcdefg2"}).status_code == 302
