"""Authorising a Douyin account in the browser: a page with a button, the platform's page,
our callback (publisher/editorial/platform_auth.py does the work)."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.auth import get_in_unit, require_roles
from govmedia.errors import DomainError
from govmedia.extensions import db
from registry.models import Account

from adapters.douyin_client import SCOPES

from ..editorial import platform_auth
from ..checks import N_
from .common import actor, bp, refusal_of

SCOPE_NAMES = {"user_info": N_("Read the account's public profile"),
               "video.create": N_("Upload videos and publish them"),
               "video.delete": N_("Delete posts this system published (withdrawal)"),
               "video.data": N_("Read the review status of posted videos"),
               "video.list": N_("List the account's posts")}
SCOPE_LABELS = [(scope, SCOPE_NAMES[scope]) for scope in SCOPES]


def _account(account_id: int) -> Account:
    return get_in_unit(actor(), Account, account_id, _("Account not found"),
                       unit_of=lambda account: account.unit_id)


@bp.get("/accounts/<int:account_id>/douyin/authorise")
@login_required
def douyin_authorise(account_id):
    require_roles(actor(), "sponsor")
    account = _account(account_id)
    return render_template("publisher/douyin_authorise.html", account=account,
                           scopes=SCOPE_LABELS)


@bp.post("/accounts/<int:account_id>/douyin/authorise")
@login_required
def douyin_authorise_start(account_id):
    account = _account(account_id)
    try:
        url = platform_auth.start_authorisation(
            actor(), account, url_for("publisher.douyin_callback", _external=True))
    except DomainError as err:
        refusal_of(err)
        return render_template("publisher/douyin_authorise.html", account=account,
                               scopes=SCOPE_LABELS, refusal=err), err.status
    return redirect(url)


@bp.get("/douyin/callback")
@login_required
def douyin_callback():
    try:
        account, resumed = platform_auth.finish_authorisation(
            actor(), request.args.get("state", ""), request.args.get("code", ""))
    except DomainError as err:
        refusal_of(err)
        return render_template("publisher/douyin_authorise.html", account=None,
                               scopes=SCOPE_LABELS, refusal=err), err.status
    db.session.commit()  # the resumed deliveries' jobs are enqueued as it commits
    flash(_("The Douyin account is authorised for publishing."), "success")
    if resumed:
        flash(_("%(n)s deliveries stopped by the lapsed authorisation are sent again.",
                n=len(resumed)), "success")
    return redirect(url_for("registry.account", account_id=account.id))
