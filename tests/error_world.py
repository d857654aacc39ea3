"""The world tests/test_language_errors.py provokes every error code in: unit A's accounts,
staff and objects, each in the state one refusal needs (an article waiting for review, a task
done, a notice withdrawn, a spot-check draw voided, a message past WeChat's reply window...).
"""
from datetime import timedelta

from conftest import account_body, make_user
from sqlalchemy import select, update
from test_security_matrix import png_base64

from govmedia.extensions import db
from govmedia.types import today_shanghai, utcnow
from interaction.models import Message
from notices.models import Notice
from publisher.tasks.models import PublishingTask

CREDIT_CODE = "91110000600037341L"   # a valid unified social credit code, registered once


class Office:
    """Unit A's accounts, staff and objects in the states each error needs."""

    def __init__(self, app, world, login, tmp_path):
        app.config.update(TEST_RUN_JOBS=False, WECHAT_API_BASE_URL="http://127.0.0.1:9",
                          WEIBO_API_BASE_URL="http://127.0.0.1:9",
                          VIDEO_DIR=str(tmp_path / "videos"))
        self.app, self.world = app, world
        a, b = world.unit_a["id"], world.unit_b["id"]
        self.a, self.b = a, b
        for name, roles in [("editor", ["editor"]), ("reviewer", ["reviewer"]),
                            ("signer", ["signer"]), ("both", ["reviewer", "signer"])]:
            make_user(name, roles, a)
        self.editor, self.reviewer = login("editor"), login("reviewer")
        self.signer, self.both = login("signer"), login("both")
        self.sponsor, self.supervisor, self.admin = world.sponsor_a, world.supervisor, world.admin
        self.account = {}
        for platform, handle in [("wechat", "gh_0123456789ab"), ("weibo", "1234567890"),
                                 ("kuaishou", "3001"), ("bilibili", "3001"), ("toutiao", "tt-1"),
                                 ("douyin", "dy-1"), ("app", "cn.gov.a.app"),
                                 ("xiaohongshu", "xhs-1")]:
            self.account[platform] = self.ok(self.sponsor.post("/api/v1/accounts", account_body(
                a, platform=platform, handle=handle, name=f"某县发布{platform}")))["id"]
        self.account_b = self.ok(world.sponsor_b.post("/api/v1/accounts", account_body(
            b, platform="weibo", handle="2234567890", name="某县教育发布")))["id"]
        self.closed_douyin_b = self.ok(world.sponsor_b.post("/api/v1/accounts", account_body(
            b, platform="douyin", handle="dy-2", name="某县教育抖音")))["id"]
        self.ok(world.sponsor_b.post(f"/api/v1/accounts/{self.closed_douyin_b}/events", {
            "kind": "close", "event_date": today_shanghai().isoformat(), "reason": "停止运营"}))
        self.coded = self.ok(self.admin.post("/api/v1/units", {
            "name": "某县卫生健康局", "code": CREDIT_CODE}))
        for parent in (a, b):   # two units of one name: an import row cannot tell them apart
            self.ok(self.admin.post("/api/v1/units", {"name": "某乡人民政府",
                                                      "parent_id": parent}))
        for _ in range(5):      # a login throttled by its failures
            self.app.test_client().post("/api/v1/auth/tokens", json={
                "username": "nobody", "password": "wrong-pass1"})
        self._articles()
        self._registry_objects()

    @staticmethod
    def ok(response, status=(200, 201, 202, 204)):
        assert response.status_code in status, (response.status_code, response.get_json())
        return response.get_json()

    # -- articles in every state a refusal needs --

    def article(self, targets, **extra):
        body = {"title": "县政府召开常务会议", "body_html": "<p>会议研究部署了近期重点工作。</p>",
                "digest": "会议研究部署近期工作", "author": "县政府办",
                "source_url": "https://www.example.gov.cn/news/1.html",
                "cover_image_base64": png_base64(),
                "target_account_ids": [self.account[t] for t in targets]} | extra
        return self.ok(self.editor.post("/api/v1/articles", body))

    def advance(self, article, stages, reviewer=None, signer=None):
        """Submitted (stage 1), reviewed (2), signed off (3)."""
        path = f"/api/v1/articles/{article['id']}"
        self.ok(self.editor.post(path + "/submit", {}))
        if stages >= 2:
            self.ok((reviewer or self.reviewer).post(path + "/review", {"decision": "approve"}))
        if stages >= 3:
            self.ok((signer or self.signer).post(path + "/review", {"decision": "approve"}))
        return self.ok(self.editor.get(path))

    def _articles(self):
        self.secret = self.article(["weibo"], body_html="<p>本文件为机密。</p>")   # draft
        self.waiting = self.advance(self.article(["weibo"]), 1)            # pending_review
        self.acted = self.advance(self.article(["weibo"]), 2, reviewer=self.both)
        self.closing = self.advance(self.article(["toutiao"]), 2)          # pending_signoff
        self.ok(self.sponsor.post(f"/api/v1/accounts/{self.account['toutiao']}/events", {
            "kind": "close", "event_date": today_shanghai().isoformat(), "reason": "停止运营"}))
        self.queued = self.advance(self.article(["wechat"], wechat_mode="mass"), 3)  # today's
        self.mass = self.advance(self.article(["wechat"], wechat_mode="mass"), 2)
        self.done = self.advance(self.article(["kuaishou"]), 3)            # a task, done
        self.done_task = self.task_of(self.done)
        self.ok(self.editor.post(f"/api/v1/tasks/{self.done_task}/complete", {
            "post_url": "https://www.kuaishou.com/short-video/3xabc123"}))
        self.ok(self.editor.post(f"/api/v1/articles/{self.done['id']}/withdraw",
                                 {"reason": "内容有误"}))
        self.cancelled = self.advance(self.article(["bilibili"]), 3)       # a task, cancelled
        self.cancelled_task = self.task_of(self.cancelled)
        self.ok(self.editor.post(f"/api/v1/articles/{self.cancelled['id']}/withdraw",
                                 {"reason": "内容有误"}))

    def task_of(self, article) -> int:
        return db.session.scalar(select(PublishingTask.id).where(
            PublishingTask.article_id == article["id"], PublishingTask.kind == "publish"))

    def delivery_of(self, article) -> int:
        return self.ok(self.editor.get(f"/api/v1/articles/{article['id']}"))["deliveries"][0]["id"]

    # -- notices, evidence, samples, reports, messages --

    def _registry_objects(self):
        today = today_shanghai()
        for platform in ("app", "xiaohongshu"):   # two deregistrations, each with its notice
            self.ok(self.sponsor.post(f"/api/v1/accounts/{self.account[platform]}/events", {
                "kind": "deregister", "event_date": today.isoformat(), "reason": "整合账号"}))
        notices = dict(db.session.execute(select(Notice.account_id, Notice.id)).all())
        self.withdrawn_notice = notices[self.account["app"]]
        self.ok(self.supervisor.post(f"/api/v1/notices/{self.withdrawn_notice}/withdraw",
                                     {"reason": "单位撤回申请"}))
        self.ended_notice = notices[self.account["xiaohongshu"]]   # ended, the account gone
        db.session.execute(update(Notice).where(Notice.id == self.ended_notice).values(
            ends_on=today - timedelta(days=1), completed_at=utcnow()))
        db.session.commit()
        self.evidence = self.ok(self.sponsor.post(
            f"/api/v1/accounts/{self.account['kuaishou']}/evidence", {
                "published_at": "2026-11-20T09:30:00+08:00", "title": "冬季安全提示",
                "url": "https://www.kuaishou.com/short-video/3xdef456",
                "screenshot_base64": png_base64()}))["id"]
        self.ok(self.supervisor.post(f"/api/v1/evidence/{self.evidence}/reject",
                                     {"reason": "截图与链接不符"}))
        quarter = {"year": today.year, "quarter": (today.month - 1) // 3 + 1}
        self.ok(self.supervisor.post("/api/v1/supervision/spot-checks", quarter | {
            "unit_id": self.a}))
        self.void_draw = self.ok(self.supervisor.post("/api/v1/supervision/spot-checks",
                                                      quarter | {"unit_id": self.b}))["id"]
        self.ok(self.supervisor.post(f"/api/v1/supervision/spot-checks/{self.void_draw}/void",
                                     {"reason": "抽错了季度"}))
        self.quarter = quarter
        self.ok(self.supervisor.post("/api/v1/supervision/annual", {
            "year": today.year - 1, "unit_id": self.a}))
        self.messages = {}
        for platform, hours in (("wechat", 50), ("kuaishou", 1)):
            message = Message(unit_id=self.a, account_id=self.account[platform],
                              platform=platform, platform_msg_id=f"m-{platform}",
                              sender="o-sender", text="请问办事时间？",
                              received_at=utcnow() - timedelta(hours=hours), reply_due_on=today)
            db.session.add(message)
            db.session.flush()
            self.messages[platform] = message.id
        db.session.commit()
