"""Authorising a Douyin account for publishing (OAuth authorisation code), keeping its tokens
fresh, and resuming what a lapsed authorisation stopped.

The sponsor presses a button; the browser goes to the platform's authorise page with the
scopes video publishing needs; the platform sends it back to our callback with a code, which
is exchanged for tokens stored encrypted like every credential (registry.services
.set_credentials). A periodic job refreshes access tokens before they end and renews refresh
tokens before theirs; a refusal marks the account lapsed and tells the sponsors once.
"""
import logging
import time

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from adapters import AdapterError, AuthError
from adapters.douyin_client import (DouyinClient, authorize_url, exchange_code,
                                    renew_refresh_token)
from govmedia.auth import require_roles, require_unit_access
from govmedia.errors import Forbidden, Invalid, RuleConflict
from govmedia.extensions import db
from govmedia.models import User
from govmedia.queue import job
from govmedia.secrets import decrypt, encrypt
from registry.labels import label
from registry.models import Account, AccountCredential
from registry.services import set_credentials

from ..fanout.lapse import mark_lapsed
from .operations import resume_after_authorisation

log = logging.getLogger(__name__)
STATE_MAX_AGE = 15 * 60  # seconds the sponsor has on the platform's page
RENEW_BEFORE = 7 * 86400  # a refresh token is renewed in its last week
AUTHORISABLE = ("douyin",)


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="douyin-authorise")


def _config(name: str):
    return current_app.config[name]


def _check_sponsor(actor: User, account: Account) -> None:
    require_roles(actor, "sponsor")
    require_unit_access(actor, account.unit_id)
    if account.platform not in AUTHORISABLE:
        raise Invalid(_("Only Douyin accounts are authorised this way"),
                      fields={"account_id": f"platform {account.platform}"})
    if account.status != "active":
        raise RuleConflict(_("Account %(id)s is %(status)s and cannot publish", id=account.id,
                             status=label("status", account.status)), code="invalid_transition")


def start_authorisation(actor: User, account: Account, callback_url: str) -> str:
    """The platform's authorise URL for this account (the state names it and the sponsor)."""
    _check_sponsor(actor, account)
    if not _config("DOUYIN_CLIENT_KEY") or not _config("DOUYIN_CLIENT_SECRET"):
        raise RuleConflict(_("The Douyin application is not configured (DOUYIN_CLIENT_KEY, "
                             "DOUYIN_CLIENT_SECRET)"), code="not_configured")
    state = _signer().dumps({"account": account.id, "user": actor.id})
    return authorize_url(_config("DOUYIN_API_BASE_URL"), _config("DOUYIN_CLIENT_KEY"),
                         callback_url, state)


def finish_authorisation(actor: User, state: str, code: str) -> tuple[Account, list[int]]:
    """The platform sent the browser back: exchange the code, store the tokens encrypted,
    queue again what the lapse stopped. Returns (account, resumed delivery ids)."""
    try:
        data = _signer().loads(state or "", max_age=STATE_MAX_AGE)
    except BadSignature:
        raise Invalid(_("The authorisation link is invalid or has expired; start again from "
                        "the account page"), fields={"state": "invalid or expired"}) from None
    if data.get("user") != actor.id:
        raise Forbidden(_("This authorisation was started by another user"),
                        fields={"state": "another user's"})
    account = db.session.get(Account, data.get("account"))
    if account is None:
        raise Invalid(_("The account no longer exists"), fields={"state": "no account"})
    _check_sponsor(actor, account)
    if not code:
        raise Invalid(_("Douyin did not authorise the account (no code came back)"),
                      fields={"code": "missing"})
    try:
        credentials = exchange_code(_config("DOUYIN_API_BASE_URL"), _config("DOUYIN_CLIENT_KEY"),
                                    _config("DOUYIN_CLIENT_SECRET"), code,
                                    timeout=float(_config("ADAPTER_TIMEOUT")))
    except AdapterError as exc:
        raise RuleConflict(_("Douyin refused the authorisation: %(error)s",
                             error=exc.text()), code="authorisation_failed") from exc
    set_credentials(actor, account, credentials)
    return account, resume_after_authorisation(actor, account.id)


# ---------------------------------------------------------------------- keeping tokens fresh
def _keep_fresh(account_id: int, credentials: dict, now: float) -> dict | None:
    """The renewed credentials, or None when nothing was due."""
    base, key = _config("DOUYIN_API_BASE_URL"), _config("DOUYIN_CLIENT_KEY")
    timeout = float(_config("ADAPTER_TIMEOUT"))
    changed = False
    if float(credentials.get("refresh_expires_at") or 0) - now < RENEW_BEFORE:
        credentials = renew_refresh_token(credentials, base_url=base, client_key=key,
                                          timeout=timeout)
        _store(account_id, credentials)  # the old refresh token is dead already
        changed = True
    before = float(_config("DOUYIN_REFRESH_BEFORE_SECONDS"))
    if float(credentials.get("expires_at") or 0) - now < before:
        client = DouyinClient(credentials, base_url=base, timeout=timeout, client_key=key,
                              client_secret=_config("DOUYIN_CLIENT_SECRET"),
                              refresh_before=before)
        client.refresh()
        credentials, changed = client.credentials, True
    return credentials if changed else None


def _store(account_id: int, credentials: dict) -> None:
    row = db.session.get(AccountCredential, account_id)
    row.ciphertext = encrypt(credentials)
    db.session.commit()


@job()
def refresh_douyin_tokens() -> dict:
    """Every Douyin authorisation whose access token ends soon is refreshed, and whose
    refresh token ends within a week renewed; a refused one is marked lapsed (once)."""
    now, counts = time.time(), {"refreshed": 0, "lapsed": 0, "failed": 0}
    rows = db.session.execute(
        select(AccountCredential.account_id, AccountCredential.ciphertext)
        .join(Account, Account.id == AccountCredential.account_id)
        .where(Account.platform.in_(AUTHORISABLE), AccountCredential.token_expired.is_(False))
    ).all()
    for account_id, ciphertext in rows:
        try:
            fresh = _keep_fresh(account_id, decrypt(ciphertext), now)
            if fresh is not None:
                _store(account_id, fresh)
                counts["refreshed"] += 1
        except AuthError as exc:
            db.session.rollback()
            if exc.token_expired:
                mark_lapsed(account_id)
                db.session.commit()
                counts["lapsed"] += 1
            else:
                counts["failed"] += 1
        except Exception:  # noqa: BLE001 - one account's trouble does not stop the others
            db.session.rollback()
            log.exception("account %s: Douyin token not refreshed", account_id)
            counts["failed"] += 1
    return counts
