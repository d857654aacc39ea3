"""A WeChat official account's publishing mode and type (issue 15): 发布 (`publish`, the
default: freepublish, which pushes nothing to followers) or 群发 (`mass`: message/mass/sendall,
within WeChat's quota), and 订阅号 (`subscription`, the default: one mass send a day) or 服务号
(`service`: four a month). The publisher reads them (publisher/mass_quota.py)."""
from flask_babel import gettext as _

from govmedia import audit
from govmedia.auth import require_roles, require_unit_access
from govmedia.errors import Invalid
from govmedia.models import User

from .models import Account

WECHAT = "wechat"
MODES = ("publish", "mass")
TYPES = ("subscription", "service")


def set_options(account: Account, mode: str | None, kind: str | None) -> None:
    """Set a WeChat account's mode and type; other platforms have neither (400)."""
    if account.platform != WECHAT:
        fields = {name: "only for platform wechat" for name, value in
                  (("wechat_mode", mode), ("wechat_type", kind)) if value}
        if fields:
            raise Invalid(_("Only a WeChat official account has a publishing mode and a type"),
                          fields=fields)
        return
    if mode is not None and mode not in MODES:
        raise Invalid(_("Unknown publishing mode"), fields={"wechat_mode": "publish or mass"})
    if kind is not None and kind not in TYPES:
        raise Invalid(_("Unknown account type"), fields={"wechat_type": "subscription or service"})
    account.wechat_mode = mode or account.wechat_mode or "publish"
    account.wechat_type = kind or account.wechat_type or "subscription"


def snapshot(account: Account) -> dict:
    """The WeChat fields for an audit entry and the API (nothing for other platforms)."""
    if account.platform != WECHAT:
        return {}
    return {"wechat_mode": account.wechat_mode or "publish",
            "wechat_type": account.wechat_type or "subscription"}


def update_options(actor: User, account: Account, data) -> Account:
    """The sponsor sets how the account's articles go out and what kind of account it is;
    audited."""
    require_roles(actor, "sponsor")
    require_unit_access(actor, account.unit_id)
    if account.platform != WECHAT:
        raise Invalid(_("Only a WeChat official account has a publishing mode and a type"),
                      fields={"platform": "only for platform wechat"})
    before = snapshot(account)
    set_options(account, data.wechat_mode, data.wechat_type)
    after = snapshot(account)
    if after != before:
        audit.record("account.wechat_options", "account", account.id, before=before,
                     after=after, unit_id=account.unit_id, user=actor)
    return account
