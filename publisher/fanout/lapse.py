"""An account's platform authorisation, as the jobs see it: tokens refreshed by an adapter are
stored at once (encrypted), and a lapsed authorisation marks the account and tells the
sponsors once (one notification per lapse: a new authorisation starts a new one)."""
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from govmedia.extensions import db
from govmedia.models import User
from govmedia.wording import N_, message, say
from registry.labels import PLATFORMS
from registry.models import Account, AccountCredential
from registry.services import credentials_saver
from registry.supervision.models import Notification

from .claim import autocommit

LAPSED_KIND = "authorisation_lapsed"


def credential_saver(account_id: int):
    """The adapter's `save_credentials`: a refreshed token is committed before the next call,
    on the jobs' own autocommit connection."""
    return credentials_saver(account_id, autocommit)


def mark_lapsed(account_id: int) -> None:
    """In the caller's transaction: the account's token is expired; the sponsors of its unit
    are told once for this authorisation (keyed by when the credentials were stored)."""
    row = db.session.get(AccountCredential, account_id)
    if row is None or row.token_expired:
        return
    row.token_expired = True
    account = db.session.get(Account, account_id)
    stamp = row.updated_at.strftime("%Y%m%d%H%M%S%f") if row.updated_at else "0"
    sponsors = [u.id for u in db.session.scalars(select(User).where(
        User.active.is_(True), User.unit_id == account.unit_id)) if u.has_role("sponsor")]
    if not sponsors:
        return
    said = message(N_("The platform authorisation of “%(name)s” (%(platform)s) has lapsed: "
                      "publishing to it stops until a sponsor authorises it again"),
                   name=account.name,
                   platform=message(PLATFORMS.get(account.platform, account.platform)))
    rows = [{"user_id": uid, "unit_id": account.unit_id, "key": f"lapsed:{account_id}:{stamp}",
             "kind": LAPSED_KIND, "text": say(said), "said": said,
             "link": f"/accounts/{account_id}", "created_at": datetime.now(UTC)}
            for uid in sponsors]
    db.session.execute(insert(Notification).values(rows)
                       .on_conflict_do_nothing(index_elements=["user_id", "key"]))
