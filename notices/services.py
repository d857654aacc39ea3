"""Opening public notices: they start the day they appear and run 15 working days (rule 6)."""
from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.types import today_shanghai

from .models import Notice

NOTICE_WORKING_DAYS = 15
PLATFORM_NAMES = {"wechat": "微信公众号", "weibo": "微博", "douyin": "抖音", "kuaishou": "快手",
                  "toutiao": "今日头条", "bilibili": "哔哩哔哩", "xiaohongshu": "小红书",
                  "app": "移动客户端", "miniprogram": "小程序", "other": "其他平台"}


def notice_period(starts_on):
    ends_on, provisional = load_calendar().add_workdays(starts_on, NOTICE_WORKING_DAYS)
    return ends_on, provisional


def draft_text(kind: str, account, before: dict, reason: str, starts_on, ends_on) -> str:
    platform = PLATFORM_NAMES.get(account.platform, account.platform)
    unit_name = account.unit.name
    if kind == "deregister":
        lines = [f"关于注销政务新媒体账号“{before['name']}”的公告",
                 f"{unit_name}主办的{platform}账号“{before['name']}”（账号ID：{before['handle']}）"
                 f"将予以注销。"]
    else:
        changed = []
        if before["name"] != account.name:
            changed.append(f"名称由“{before['name']}”变更为“{account.name}”")
        if before["handle"] != account.handle:
            changed.append(f"账号ID由“{before['handle']}”变更为“{account.handle}”")
        if before["unit_id"] != account.unit_id:
            changed.append(f"主办单位变更为“{unit_name}”")
        lines = [f"关于政务新媒体账号“{before['name']}”变更的公告",
                 f"{platform}账号“{before['name']}”（账号ID：{before['handle']}）"
                 + "，".join(changed) + "。"]
    if reason:
        lines.append(f"原因：{reason}")
    lines.append(f"公示期：{starts_on.isoformat()} 至 {ends_on.isoformat()}。")
    return "\n".join(lines)


def open_notice(account, event, before: dict) -> Notice:
    """Never backdated: the notice starts today, whatever the event's date."""
    starts_on = today_shanghai()
    ends_on, provisional = notice_period(starts_on)
    db.session.flush()
    db.session.refresh(account, ["unit"])
    notice = Notice(kind=event.kind, account_id=account.id, event_id=event.id,
                    unit_name=account.unit.name, account_name=before["name"],
                    platform=account.platform, handle=before["handle"], starts_on=starts_on,
                    ends_on=ends_on, provisional=provisional,
                    text=draft_text(event.kind, account, before, event.reason, starts_on,
                                    ends_on))
    db.session.add(notice)
    db.session.flush()
    return notice


def notice_json(notice: Notice) -> dict:
    return {"id": notice.id, "kind": notice.kind,
            "account": {"name": notice.account_name, "platform": notice.platform,
                        "handle": notice.handle},
            "unit_name": notice.unit_name, "starts_on": notice.starts_on.isoformat(),
            "ends_on": notice.ends_on.isoformat(), "provisional": notice.provisional,
            "text": notice.text}
