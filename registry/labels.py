"""Display names of the registry's codes (platforms, statuses, events, roles), translatable.

The msgids are marked with N_ (one of babel's default keywords) so `pybabel extract`
finds them; `label()` translates at render time, in the request's locale.
"""
from flask_babel import gettext

from govmedia.wording import N_


PLATFORMS = {
    "wechat": N_("WeChat official account"),
    "weibo": N_("Weibo"),
    "douyin": N_("Douyin"),
    "kuaishou": N_("Kuaishou"),
    "toutiao": N_("Toutiao"),
    "bilibili": N_("Bilibili"),
    "xiaohongshu": N_("Xiaohongshu"),
    "channels": N_("WeChat Channels"),
    "app": N_("Mobile app"),
    "miniprogram": N_("Mini program"),
    "other": N_("Other platform"),
}

# The platforms' Chinese names as printed in public notices and in exports, whatever the
# reader's language (they are part of an official text).
PLATFORM_NAMES_ZH = {"wechat": "微信公众号", "weibo": "微博", "douyin": "抖音", "kuaishou": "快手",
                     "toutiao": "今日头条", "bilibili": "哔哩哔哩", "xiaohongshu": "小红书",
                     "channels": "微信视频号", "app": "移动客户端", "miniprogram": "小程序", "other": "其他平台"}

# What `handle` means on each platform: its permanent identifier, not the display name.
HANDLE_HINTS = {
    "wechat": N_("The original ID, starting with gh_; not the WeChat ID users type."),
    "weibo": N_("The numeric Weibo UID, not the nickname."),
    "douyin": N_("The Douyin UID (from the profile link), not the Douyin ID users see."),
    "kuaishou": N_("The Kuaishou user ID."),
    "toutiao": N_("The Toutiao user ID (from the profile link)."),
    "bilibili": N_("The Bilibili UID (numeric)."),
    "xiaohongshu": N_("The Xiaohongshu user ID (from the profile link)."),
    "channels": N_("The WeChat Channels ID (视频号ID, starting with sph), not the display name."),
    "app": N_("The app's package name or bundle ID, e.g. cn.gov.example.app."),
    "miniprogram": N_("The mini program's AppID."),
    "other": N_("A permanent identifier of the account on that platform."),
}

STATUSES = {
    "active": N_("Active"),
    "closed": N_("Closed"),
    "deregistering": N_("Deregistering"),
    "deregistered": N_("Deregistered"),
}

FILING_STATUSES = {
    "pending": N_("Pending"),
    "overdue": N_("Overdue"),
    "filed": N_("Filed on time"),
    "late": N_("Filed late"),
}

EVENTS = {
    "open": N_("Opening"),
    "change": N_("Change"),
    "close": N_("Closing"),
    "reopen": N_("Reopening"),
    "deregister": N_("Deregistration"),
}

ROLES = {
    "admin": N_("Administrator"),
    "supervisor": N_("Supervisor"),
    "sponsor": N_("Sponsor"),
    "editor": N_("Editor"),
    "reviewer": N_("Reviewer"),
    "signer": N_("Signer"),
    "source": N_("Source system"),
}

FLAGS = {
    "missing_office": N_("No managing office recorded"),
    "missing_staff": N_("No staff recorded"),
    "missing_app_filing": N_("No cyberspace filing number (app)"),
}

BANDS = {
    "dormant": N_("Dormant (no update within the update window)"),
    "warning": N_("Update due soon (in the warning band before the window ends)"),
}

PLATFORM_ROLES = {
    "admin": N_("Platform administrator"),
    "operator": N_("Operator"),
}

CHANGE_FIELDS = {
    "name": N_("Name"),
    "handle": N_("Handle"),
    "unit_id": N_("Sponsor unit"),
}

# Registration warnings (services return Chinese messages with the details; English
# pages show this text and the Chinese detail after it).
WARNINGS = {
    "verified_subject_mismatch": N_("The verified subject differs from the sponsor unit's name."),
    "name_differs_across_platforms": N_(
        "The unit's accounts on other platforms have a different name."),
    "handle_format": N_("The handle does not look like the platform's permanent ID."),
    "missing_office": N_("No managing office recorded (an opening prerequisite)."),
    "missing_staff": N_("No staff recorded (an opening prerequisite)."),
    "missing_app_filing": N_("The mobile client has no filing number with the cyberspace administration."),
}

# A WeChat official account's publishing mode and type (issue 15).
WECHAT_MODES = {
    "publish": N_("Publish: on the account, not pushed to followers"),
    "mass": N_("Mass send: pushed to every follower, within the quota"),
}
WECHAT_TYPES = {
    "subscription": N_("Subscription account: one mass send a day"),
    "service": N_("Service account: four mass sends a month"),
}

# The fields of an account's platform credentials, as the audit trail names them (never their
# values, which are not recorded).
CREDENTIAL_FIELDS = {
    "app_id": N_("Developer ID"), "app_secret": N_("Developer password"),
    "token": N_("Server token"), "encoding_aes_key": N_("Message encryption key"),
    "access_token": N_("Access token"), "refresh_token": N_("Refresh token"),
    "open_id": N_("Account's user ID on the platform"),
    "expires_at": N_("Access token expiry"), "refresh_expires_at": N_("Refresh token expiry"),
}
# Where an app or mini program is taken down (notices.takedown).
TAKEDOWN_KINDS = {"store": N_("App store"), "link": N_("Portal link")}

GROUPS = {
    "platform": PLATFORMS, "status": STATUSES, "filing": FILING_STATUSES, "event": EVENTS,
    "role": ROLES, "flag": FLAGS, "band": BANDS, "platform_role": PLATFORM_ROLES,
    "change": CHANGE_FIELDS, "hint": HANDLE_HINTS, "warning": WARNINGS,
    "wechat_mode": WECHAT_MODES, "wechat_type": WECHAT_TYPES,
    "credential_field": CREDENTIAL_FIELDS, "takedown_kind": TAKEDOWN_KINDS,
}


def label(group: str, code) -> str:
    """The translated display name of `code` in `group`; the code itself when unknown."""
    message = GROUPS[group].get(code)
    return gettext(message) if message else ("" if code is None else str(code))
