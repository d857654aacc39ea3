"""Demo data for the quick start: three units, their people and accounts in various states."""
import os
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from govmedia.extensions import db
from govmedia.profiles import set_profile
from govmedia.models import User
from govmedia.schemas import UserIn
from govmedia.types import SHANGHAI, today_shanghai
from govmedia.users import create_user
from notices.services import record_event_with_notice
from registry import services
from registry.schemas import AccountIn, EventIn, UnitIn
from standins import DEFAULT_WECHAT_APPS, DEFAULT_WECHAT_CALLBACK, DEFAULT_WEIBO_TOKENS

DEMO_PASSWORD_FILE = "demo-credentials.txt"


def _password_file() -> str:
    return os.path.join(current_app.instance_path, DEMO_PASSWORD_FILE)


def load_demo(admin_password: str | None = None) -> list[str]:
    """Create demo data once; later runs only print the logins again."""
    if db.session.scalar(select(User).where(User.username == "admin")) is not None:
        saved = open(_password_file(), encoding="utf-8").read() if os.path.exists(
            _password_file()) else "(set when the demo data was first loaded)\n"
        return ["demo data already present; logins:", saved.rstrip()]

    password = admin_password or ("Demo-" + secrets.token_hex(4) + "9")
    bootstrap = User(id=None, username="demo", roles=["admin"])
    admin = create_user(bootstrap, UserIn(username="admin", password=password, roles=["admin"]))
    county = services.save_unit(admin, UnitIn(name="示范县人民政府", leader="县长 王明",
                                              deputy_leader="副县长 李华", office="县政府办公室"))
    office = services.save_unit(admin, UnitIn(
        name="示范县人民政府办公室", code="114501000075653867", parent_id=county.id,
        leader="主任 陈刚", deputy_leader="副主任 刘芳", office="信息公开科",
        contacts=[{"name": "赵敏", "phone": "0771-5551234"}]))
    education = services.save_unit(admin, UnitIn(
        name="示范县教育局", parent_id=county.id, leader="局长 孙强", deputy_leader="副局长 周丽",
        office="办公室"))
    create_user(admin, UserIn(username="supervisor", password=password, roles=["supervisor"],
                              display_name="县政务公开办 督查"))
    sponsor = create_user(admin, UserIn(username="sponsor", password=password,
                                        roles=["sponsor", "editor"], unit_id=office.id,
                                        display_name="办公室 赵敏"))
    edu_sponsor = create_user(admin, UserIn(username="edu", password=password,
                                            roles=["sponsor"], unit_id=education.id))
    today = today_shanghai()
    staff = [{"name": "赵敏", "phone": "13800001111", "platform_role": "admin"}]
    wechat, _ = services.register_account(sponsor, AccountIn(
        unit_id=office.id, platform="wechat", name="示范县发布", handle="gh_3f2a9c8b7d61",
        opened_on=today - timedelta(days=400), verified_subject=office.name, office="信息公开科",
        staff=staff, filed_on=today - timedelta(days=397), filing_reference="示网备〔2025〕8号"))
    weibo, _ = services.register_account(sponsor, AccountIn(
        unit_id=office.id, platform="weibo", name="示范县发布", handle="7712345678",
        opened_on=today - timedelta(days=3), verified_subject=office.name, office="信息公开科",
        staff=staff))
    # The stand-in platforms' demo credentials (standins/): with STANDIN_PLATFORMS (the
    # embedded run's default) a signed-off article really goes out.
    app_id, app_secret = next(iter(DEFAULT_WECHAT_APPS.items()))
    services.set_credentials(sponsor, wechat, {"app_id": app_id, "app_secret": app_secret,
                                               **DEFAULT_WECHAT_CALLBACK})
    services.set_credentials(sponsor, weibo, {"access_token": next(iter(DEFAULT_WEIBO_TOKENS))})
    # Douyin is authorised by the sponsor in the browser (the account page's 抖音授权 button),
    # against the stand-in's authorise page in the embedded run.
    services.register_account(sponsor, AccountIn(
        unit_id=office.id, platform="douyin", name="示范县发布", handle="66778899",
        opened_on=today - timedelta(days=30), verified_subject=office.name, office="信息公开科",
        staff=staff, filed_on=today - timedelta(days=28), filing_reference="示网备〔2026〕3号"))
    # 视频号 has no publishing API: an article signed off for it becomes a tracked task for the
    # office's staff (the publishing tasks page), beside the deliveries to the other three.
    services.register_account(sponsor, AccountIn(
        unit_id=office.id, platform="channels", name="示范县发布", handle="sphDemo0Office1",
        opened_on=today - timedelta(days=30), verified_subject=office.name, office="信息公开科",
        staff=staff, filed_on=today - timedelta(days=27), filing_reference="示网备〔2026〕4号"))
    # The three reviews need three people besides the drafter (sponsor drafts as editor).
    for username, roles, name in (("editor", ["editor"], "办公室 编辑 何静"),
                                  ("reviewer", ["reviewer"], "办公室 审核 马骏"),
                                  ("signer", ["signer"], "副主任 刘芳（签发）")):
        create_user(admin, UserIn(username=username, password=password, roles=roles,
                                  unit_id=office.id, display_name=name))
    douyin, _ = services.register_account(edu_sponsor, AccountIn(
        unit_id=education.id, platform="douyin", name="示范教育", handle="88990011",
        opened_on=today - timedelta(days=60), verified_subject="示范县教育局"))
    services.record_post_as(sponsor, wechat, datetime.now(SHANGHAI) - timedelta(days=2),
                            "示范县召开秋冬季安全生产工作会议", None)
    record_event_with_notice(edu_sponsor, douyin, EventIn(
        kind="close", event_date=today - timedelta(days=20), reason="人员调整，暂停更新"))
    # The county's own rule profile (issue 16): seed 004's numbers, with their legal basis.
    set_profile(admin, county.id, {"update_window": 10, "warning_from": 7}, {
        "update_window": "房县网站和政务新媒体管理通知第五条：两次更新间隔不得超过 10 天",
        "filing_workdays": "房县网站和政务新媒体管理通知第三条第（五）项：5 个工作日内备案"},
        note="按县政府办公室通知设定")
    db.session.commit()
    logins = (f"admin / {password}\nsupervisor / {password}\nsponsor / {password} "
              f"(示范县人民政府办公室)\nedu / {password} (示范县教育局)\n"
              f"editor, reviewer, signer / {password} (示范县人民政府办公室: draft, review, sign off;"
              f" posts go to the stand-in platforms)\n")
    with open(_password_file(), "w", encoding="utf-8") as handle:
        handle.write(logins)
    return ["demo data loaded; logins:", logins.rstrip()]
