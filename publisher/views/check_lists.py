"""The supervisors' check lists and severities."""
import math

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.auth import require_roles
from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.pagination import requested_page

from .. import check_lists as services, checks
from ..models import TERM_LISTS
from .common import actor, bp, refusal_of

TERMS_PER_PAGE = 200


@bp.get("/checks")
@login_required
def check_lists():
    user = actor()
    require_roles(user, "supervisor")
    name = request.args.get("list") or "banned"
    name = name if name in TERM_LISTS else "banned"
    q = (request.args.get("q") or "").strip()
    terms = services.list_terms(name, q)
    page = requested_page()
    shown = terms[(page - 1) * TERMS_PER_PAGE: page * TERMS_PER_PAGE]
    return render_template("publisher/checks.html", current=name, q=q, terms=shown,
                           total=len(terms), page=page,
                           pages=max(1, math.ceil(len(terms) / TERMS_PER_PAGE)),
                           counts=services.term_counts(),
                           severities=services.effective_severities(), rules=checks.RULES,
                           fixed_block=checks.FIXED_BLOCK,
                           lists=TERM_LISTS)


@bp.post("/checks/lists/<name>")
@login_required
def check_list_change(name):
    user = actor()
    require_roles(user, "supervisor")
    if name not in TERM_LISTS:
        abort(404)
    add = [line for line in (request.form.get("add") or "").splitlines() if line.strip()]
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        add += [line for line in upload.read().decode("utf-8-sig", "replace").splitlines()
                if line.strip()]
    remove = request.form.getlist("remove")
    try:
        result = services.update_terms(user, name, add, remove)
    except DomainError as err:
        refusal_of(err)
        flash(err.message, "error")
    else:
        db.session.commit()
        flash(_("%(added)s added, %(removed)s removed.", added=result["added"],
                removed=result["removed"]), "success")
    return redirect(url_for("publisher.check_lists", list=name))


@bp.post("/checks/severities")
@login_required
def check_severities():
    user = actor()
    require_roles(user, "supervisor")
    chosen = {rule: request.form.get(f"severity-{rule}") for rule in checks.RULES
              if request.form.get(f"severity-{rule}") in checks.SEVERITIES}
    services.set_severities(user, chosen)
    db.session.commit()
    flash(_("Severities saved."), "success")
    return redirect(url_for("publisher.check_lists"))
