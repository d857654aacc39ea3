"""Credentials the platform refused: marked as needing authorisation again, and the unit's
sponsors told once (a notification each, and an audit entry)."""
import hashlib

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from adapters import AuthError
from govmedia import audit
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import utcnow
from govmedia.wording import N_, message, say
from registry.labels import PLATFORMS
from registry.models import Account, AccountCredential
from registry.supervision.models import Notification


def credentials_refused(account_id: int, exc: AuthError) -> bool:
    """Mark the account's credentials expired; True when this call did (the sponsors are
    told then, so a second refusal tells nobody again)."""
    changed = db.session.execute(
        update(AccountCredential)
        .where(AccountCredential.account_id == account_id, ~AccountCredential.token_expired)
        .values(token_expired=True)
        .returning(AccountCredential.ciphertext)).first()
    if changed is None:
        db.session.commit()
        return False
    account = db.session.get(Account, account_id)
    _tell_sponsors(account, changed.ciphertext)
    audit.record("account.credentials_refused", "account", account.id, unit_id=account.unit_id,
                 after={"platform_code": str(exc.platform_code or ""),
                        "by": "activity_sync"})
    db.session.commit()
    return True


def _tell_sponsors(account: Account, ciphertext: bytes) -> None:
    # One reminder per sponsor and per set of credentials, told apart by their ciphertext (new
    # on every save: new credentials refused later make a new reminder). Not by a time: the
    # same credentials refused again a second later are still the same credentials.
    version = hashlib.sha256(bytes(ciphertext)).hexdigest()[:16]
    key = f"activity.reauthorize:{account.id}:{version}"
    said = message(N_("The platform refused the credentials of %(platform)s account %(name)s: "
                      "authorise it again and enter the new credentials"),
                   platform=message(PLATFORMS.get(account.platform, account.platform)),
                   name=account.name)
    sponsors = [u.id for u in db.session.scalars(
        select(User).where(User.unit_id == account.unit_id, User.active))
        if u.has_role("sponsor")]
    if sponsors:
        db.session.execute(insert(Notification).values([
            {"user_id": user_id, "unit_id": account.unit_id, "key": key,
             "kind": "credentials_refused", "text": say(said), "said": said,
             "link": f"/accounts/{account.id}",
             "created_at": utcnow()}
            for user_id in sponsors]).on_conflict_do_nothing(index_elements=["user_id", "key"]))
