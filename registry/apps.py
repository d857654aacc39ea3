"""Mobile clients (移动客户端, platform `app`): their filing number with the cyberspace
administration (网信备案号) and their version (issue 16). An app without a filing number is
accepted and flagged (Account.flags: `missing_app_filing`), like a missing prerequisite."""
from flask_babel import gettext as _

from govmedia import audit
from govmedia.auth import require_roles, require_unit_access
from govmedia.errors import Invalid
from govmedia.models import User

from .models import Account

APP = "app"


def set_details(account: Account, filing_number: str | None, version: str | None) -> None:
    """Set an account's app fields; only a mobile client carries them (400 otherwise)."""
    filing_number = (filing_number or "").strip() or None
    version = (version or "").strip() or None
    if account.platform != APP:
        fields = {name: "only for platform app" for name, value in
                  (("app_filing_number", filing_number), ("app_version", version)) if value}
        if fields:
            raise Invalid(_("Only a mobile client carries a filing number and a version"),
                          fields=fields)
        return
    account.app_filing_number, account.app_version = filing_number, version


def snapshot(account: Account) -> dict:
    """The app fields for an audit entry (nothing for other platforms)."""
    if account.platform != APP:
        return {}
    return {"app_filing_number": account.app_filing_number, "app_version": account.app_version}


def update_details(actor: User, account: Account, data) -> Account:
    """A sponsor records (or corrects) its app's filing number and version; audited."""
    require_roles(actor, "sponsor")
    require_unit_access(actor, account.unit_id)
    before = snapshot(account)
    set_details(account, data.app_filing_number, data.app_version)
    after = snapshot(account)
    if after != before:
        audit.record("account.app_details", "account", account.id, before=before, after=after,
                     unit_id=account.unit_id, user=actor)
    return account
