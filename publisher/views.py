"""Publisher pages: the article editor, previews, the reviews, people's queues, the check lists.

Thin views: forms are validated with the API's pydantic models (publisher/schemas.py) and
every decision is made in publisher.services; refusals are shown on the page.
"""
import base64
import math
from datetime import datetime

import nh3
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import func, select

from govmedia.auth import require_roles
from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import SHANGHAI, ascii_int
from registry import forms
from registry.models import Account

from . import checks, delivery, services
from .checks import N_
from .models import (
    ARTICLE_STATUSES,
    PUBLISHABLE_PLATFORMS,
    REFIXABLE_STATUSES,
    TERM_LISTS,
    Article,
    Delivery,
)
from .schemas import ArticleUpdate, ReviewIn, SubmitIn, WithdrawIn

bp = Blueprint("publisher", __name__)
PER_PAGE = 50

STATUS_LABELS = {
    "draft": N_("Draft"), "pending_review": N_("Awaiting 2nd review"),
    "pending_signoff": N_("Awaiting sign-off"), "approved": N_("Approved"),
    "publishing": N_("Publishing"), "published": N_("Published"),
    "partially_published": N_("Partially published"), "failed": N_("Failed"),
    "returned": N_("Returned"),
}
DELIVERY_LABELS = {"queued": N_("Queued"), "sending": N_("Sending"), "sent": N_("Sent"),
                   "retrying": N_("Retrying"), "unconfirmed": N_("Unconfirmed"),
                   "failed": N_("Failed"), "withdrawn": N_("Withdrawn")}
STAGE_LABELS = {1: N_("1st review (drafter's self-check)"), 2: N_("2nd review"),
                3: N_("3rd review (sign-off)")}
DECISION_LABELS = {"submit": N_("Submitted"), "approve": N_("Approved"),
                   "reject": N_("Returned")}
CHECKLIST_LABELS = {
    "sensitive_words": N_("Sensitive words checked"),
    "typos": N_("Typos and wording checked"),
    "names_places": N_("Names of people and places checked"),
    "confidentiality": N_("Nothing confidential and no personal privacy"),
    "layout": N_("Layout and images checked"),
}
HISTORY_LABELS = {
    "article.create": N_("Created"), "article.update": N_("Edited"),
    "article.submit": N_("Submitted for review"), "article.review": N_("Approved at the 2nd review"),
    "article.signoff": N_("Signed off"), "article.return": N_("Returned to the drafter"),
    "article.push": N_("Pushed with its upstream review record"),
    "article.withdraw": N_("Withdrawal requested"),
    "article.delivered": N_("Every delivery finished"),
    "delivery.sent": N_("Delivered"), "delivery.failed": N_("Delivery failed"),
    "delivery.retrying": N_("Delivery will be retried"),
    "delivery.unconfirmed": N_("Delivery unconfirmed"), "delivery.retry": N_("Delivery retried"),
    "delivery.withdrawn": N_("Withdrawn from the platform"),
    "delivery.withdraw_failed": N_("Withdrawal failed"),
}
LIST_LABELS = {"banned": N_("Banned words"), "caution": N_("Caution words"),
               "advertising": N_("Advertising phrases"), "domain": N_("Allowed link domains")}


def actor() -> User:
    return current_user._get_current_object()


def plabel(kind: str, code) -> str:
    table = {"status": STATUS_LABELS, "delivery": DELIVERY_LABELS, "stage": STAGE_LABELS,
             "decision": DECISION_LABELS, "checklist": CHECKLIST_LABELS,
             "history": HISTORY_LABELS, "list": LIST_LABELS,
             "rule": {rule: spec[1] for rule, spec in checks.RULES.items()}}[kind]
    return _(table[code]) if code in table else str(code)


def article_html(value: str) -> Markup:
    """Stored bodies were sanitized on the way in; sanitize again on the way out."""
    return Markup(services.sanitize_html(value))


def highlighted_html(article: Article) -> Markup:
    """The body with every finding in it marked, for reviewers and the drafter."""
    spans = []
    for finding in article.checks or []:
        if finding.get("field") != "body_html":
            continue
        for start, end in finding.get("positions") or []:
            spans.append((start, end, finding["severity"], finding["message"]))
    html = article.body_html or ""
    if not spans:
        return article_html(html)
    spans.sort()
    merged = []
    for start, end, severity, message in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end),
                          "block" if "block" in (last[2], severity) else "warn", last[3])
        else:
            merged.append((start, end, severity, message))
    out, at = [], 0
    for start, end, severity, message in merged:
        out.append(html[at:start])
        out.append(f'<mark class="finding {severity}" title="{escape(message)}">')
        out.append(html[start:end])
        out.append("</mark>")
        at = end
    out.append(html[at:])
    tags = services.ALLOWED_TAGS | {"mark"}
    attributes = dict(services.ALLOWED_ATTRIBUTES, mark={"class", "title"})
    return Markup(nh3.clean("".join(out), tags=tags, attributes=attributes,
                            url_schemes=services.URL_SCHEMES, link_rel="noopener noreferrer"))


def standin_url() -> str | None:
    """Where posts go when the embedded run sends to the stand-in platforms."""
    from flask import current_app

    running = current_app.extensions.get("govmedia_standin")
    if running:
        return running["url"]
    if current_app.config.get("STANDIN_PLATFORMS") and not current_app.testing:
        return "about:blank"  # configured, starts at the first request
    return None


def credential_state(account) -> str | None:
    """For the account page: "missing", "set" or "expired" (never the credentials)."""
    from registry.models import AccountCredential

    if account.platform not in PUBLISHABLE_PLATFORMS:
        return None
    row = db.session.get(AccountCredential, account.id)
    if row is None:
        return "missing"
    return "expired" if row.token_expired else "set"


@bp.app_context_processor
def _helpers():
    return {"plabel": plabel, "article_statuses": ARTICLE_STATUSES,
            "standin_url": standin_url, "credential_state": credential_state}


def _shanghai_local(value) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") if value else ""


def _refusal(err: DomainError) -> DomainError:
    if err.status in (401, 404) or (err.status == 403 and not err.fields
                                    and err.code == "forbidden"):
        raise err
    db.session.rollback()
    return err


# --- lists and queues ------------------------------------------------------------------------

@bp.get("/articles")
@login_required
def articles():
    status = request.args.get("status") or None
    status = status if status in ARTICLE_STATUSES else None
    query = services.articles_query(actor(), status=status)
    page = request.args.get("page", "1")
    page = ascii_int(page, 10**6) or 1
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("publisher/articles.html", articles=rows, total=total, page=page,
                           pages=max(1, math.ceil(total / PER_PAGE)), status=status,
                           can_draft=actor().has_role("admin", "editor"))


@bp.get("/articles/queue")
@login_required
def queue():
    return render_template("publisher/queue.html", queues=services.queues(actor()))


# --- the editor --------------------------------------------------------------------------

def _publishable_accounts(user: User, unit_id: int | None = None) -> list[Account]:
    query = select(Account).where(Account.status == "active",
                                  Account.platform.in_(PUBLISHABLE_PLATFORMS))
    if unit_id is not None:
        query = query.where(Account.unit_id == unit_id)
    elif not user.sees_all_units:
        query = query.where(Account.unit_id == user.unit_id)
    return db.session.scalars(query.order_by(Account.unit_id, Account.platform,
                                             Account.id)).all()


def _form_values() -> tuple[dict, dict]:
    """The form as the API's body; errors for what cannot even be read."""
    errors = {}
    ids = []
    for raw in request.form.getlist("target_account_ids"):
        if ascii_int(raw) is not None:
            ids.append(int(raw))
    publish_at = None
    raw_time = (request.form.get("publish_at") or "").strip()
    if raw_time:
        try:
            publish_at = datetime.fromisoformat(raw_time).replace(tzinfo=SHANGHAI)
        except ValueError:
            errors["publish_at"] = _("Enter a date and time")
    values = {
        "title": request.form.get("title", "").strip(),
        "body_html": request.form.get("body_html", "").replace("\r\n", "\n"),
        "digest": forms.text(request.form, "digest"),
        "author": forms.text(request.form, "author"),
        "source_url": forms.text(request.form, "source_url"),
        "weibo_text": forms.text(request.form, "weibo_text"),
        "target_account_ids": ids,
        "publish_at": publish_at,
        "remove_cover": request.form.get("remove_cover") == "1",
    }
    upload = request.files.get("cover")
    if upload is not None and upload.filename:
        values["cover_image_base64"] = base64.b64encode(upload.read()).decode("ascii")
    return values, errors


def _article_values(article: Article | None) -> dict:
    if article is None:
        return {"target_account_ids": [], "body_html": ""}
    return {"title": article.title, "body_html": article.body_html, "digest": article.digest,
            "author": article.author, "source_url": article.source_url,
            "weibo_text": article.weibo_text,
            "target_account_ids": list(article.target_account_ids or []),
            "publish_at": article.publish_at}


def _editor(article: Article | None):
    user = actor()
    require_roles(user, "editor")
    if article is not None:
        services._require_drafter(user, article)
    values, errors, refusal = _article_values(article), {}, None
    if request.method == "POST":
        values, errors = _form_values()
        data, more = forms.validate(ArticleUpdate, {k: v for k, v in values.items()
                                                    if v is not None})
        errors.update(more)
        if data is not None and not errors:
            try:
                if article is None:
                    saved = services.create_article(user, data)
                else:
                    saved = services.update_article(user, article, data,
                                                    remove_cover=data.remove_cover)
            except DomainError as err:
                refusal = _refusal(err)
                errors = forms.domain_field_errors(err)
            else:
                db.session.commit()
                blocking = len(checks.blocking(saved.checks or []))
                flash(_("Article saved.") + (" " + _("%(n)s blocking findings must be fixed "
                                                      "before it can be submitted.", n=blocking)
                                             if blocking else ""),
                      "warning" if blocking else "success")
                return redirect(url_for("publisher.article", article_id=saved.id))
        values.pop("cover_image_base64", None)
    accounts = _publishable_accounts(user, article.unit_id if article else None)
    status = refusal.status if refusal else (400 if errors else 200)
    return render_template("publisher/editor.html", article=article, values=values,
                           errors=errors, refusal=refusal, accounts=accounts,
                           publish_at_local=_shanghai_local(values.get("publish_at")),
                           findings=(article.checks or []) if article else [],
                           limit=checks.WEIBO_LIMIT), status


@bp.route("/articles/new", methods=["GET", "POST"])
@login_required
def article_new():
    return _editor(None)


@bp.route("/articles/<int:article_id>/edit", methods=["GET", "POST"])
@login_required
def article_edit(article_id):
    return _editor(services.get_article(actor(), article_id))


# --- the article page ------------------------------------------------------------------------

def _article_page(article: Article, *, refusal=None, stopping=None, errors=None, status=200,
                  values=None):
    user = actor()
    content = services.content_of(article)
    accounts = {a.id: a for a in db.session.scalars(select(Account).where(
        Account.id.in_(article.target_account_ids or [])))}
    review_block = services.review_refusal(user, article)
    stage = services.STAGE_OF_STATUS.get(article.status)
    return render_template(
        "publisher/article.html", article=article, accounts=accounts,
        weibo_post=checks.weibo_post(content), limit=checks.WEIBO_LIMIT,
        body=article_html(article.body_html), marked=highlighted_html(article),
        findings=article.checks or [],
        warnings=sorted({f["rule"] for f in checks.warnings(article.checks or [])}),
        blocking=checks.blocking(article.checks or []),
        is_drafter=article.created_by_id == user.id,
        can_submit=article.created_by_id == user.id and article.status in ("draft", "returned"),
        can_edit=article.created_by_id == user.id and (article.status in (
            "draft", "returned", "pending_review", "pending_signoff") or (
            article.status in REFIXABLE_STATUSES and article.withdraw_requested_at is None)),
        can_retry=user.has_role("admin", "editor") and article.withdraw_requested_at is None,
        can_withdraw=user.has_role("admin", "editor", "signer") and bool(article.deliveries)
        and article.status in delivery.WITHDRAWABLE_ARTICLES and (
            article.withdraw_requested_at is None
            or any(d.withdraw_state == "failed" for d in article.deliveries)),
        can_review=review_block is None, review_block=review_block, stage=stage,
        history=services.history(article), checklist_items=checks.SELF_CHECK_ITEMS,
        refusal=refusal, stopping=stopping or [], errors=errors or {}, values=values or {},
        drafter=db.session.get(User, article.created_by_id)), status


@bp.get("/articles/<int:article_id>")
@login_required
def article(article_id):
    return _article_page(services.get_article(actor(), article_id))


@bp.get("/articles/<int:article_id>/cover")
@login_required
def article_cover(article_id):
    article = services.get_article(actor(), article_id)
    if article.cover is None:
        abort(404)
    response = Response(article.cover.data, mimetype=article.cover.mime)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.post("/articles/<int:article_id>/submit")
@login_required
def article_submit(article_id):
    user = actor()
    article = services.get_article(user, article_id)
    values = {"confirmations": request.form.getlist("confirmations"),
              "checklist": request.form.getlist("checklist")}
    data, errors = forms.validate(SubmitIn, values)
    if data is not None:
        if len(set(data.checklist or [])) < len(checks.SELF_CHECK_ITEMS):
            errors = {"checklist": _("Confirm every item of the self-check.")}
        else:
            try:
                services.submit_article(user, article, data.confirmations, data.checklist)
            except DomainError as err:
                refusal = _refusal(err)
                article = services.get_article(user, article_id)
                return _article_page(article, refusal=refusal,
                                     stopping=err.extra.get("checks", []),
                                     errors=forms.domain_field_errors(err), status=err.status,
                                     values=values)
            db.session.commit()
            flash(_("Submitted: it now waits for the 2nd review."), "success")
            return redirect(url_for("publisher.article", article_id=article.id))
    return _article_page(article, errors=errors, status=400, values=values)


@bp.post("/articles/<int:article_id>/review")
@login_required
def article_review(article_id):
    user = actor()
    article = services.get_article(user, article_id)
    values = {"decision": forms.text(request.form, "decision"),
              "comment": request.form.get("comment", "").strip(),
              "content_hash": forms.text(request.form, "content_hash")}
    data, errors = forms.validate(ReviewIn, values)
    if data is not None:
        try:
            services.review_article(user, article, data.decision, data.comment,
                                    data.content_hash)
        except DomainError as err:
            refusal = _refusal(err)
            article = services.get_article(user, article_id)
            return _article_page(article, refusal=refusal, stopping=err.extra.get("checks", []),
                                 errors=forms.domain_field_errors(err), status=err.status,
                                 values=values)
        queued = services.queued_delivery_ids(article) if article.status == "approved" else []
        db.session.commit()
        delivery.dispatch(queued)  # after commit; a queue that is down leaves them to the sweep
        if data.decision == "reject":
            flash(_("Returned to the drafter."), "success")
        elif article.status == "approved":
            flash(_("Signed off: the article is approved and one delivery per target account "
                    "is queued."), "success")
        else:
            flash(_("Approved: it now waits for sign-off."), "success")
        return redirect(url_for("publisher.article", article_id=article.id))
    return _article_page(article, errors=errors, status=400, values=values)


# --- check lists (supervisors) ------------------------------------------------------------

@bp.get("/checks")
@login_required
def check_lists():
    user = actor()
    require_roles(user, "supervisor")
    name = request.args.get("list") or "banned"
    name = name if name in TERM_LISTS else "banned"
    q = (request.args.get("q") or "").strip()
    terms = services.load_terms().get(name, [])
    if q:
        terms = [t for t in terms if q.lower() in t.lower()]
    terms = sorted(terms)
    page = request.args.get("page", "1")
    page = ascii_int(page, 10**6) or 1
    shown = terms[(page - 1) * 200: page * 200]
    return render_template("publisher/checks.html", current=name, q=q, terms=shown,
                           total=len(terms), page=page, pages=max(1, math.ceil(len(terms) / 200)),
                           counts=services.term_counts(),
                           severities=services.effective_severities(), rules=checks.RULES,
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
        _refusal(err)
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



# --- deliveries: retry, withdraw, the publishing queue ----------------------------------------

@bp.post("/deliveries/<int:delivery_id>/retry")
@login_required
def delivery_retry(delivery_id):
    user = actor()
    row = delivery.get_delivery(user, delivery_id)
    article_id = row.article_id
    try:
        delivery.retry_delivery(user, row)
    except DomainError as err:
        _refusal(err)
        flash(err.message, "error")
    else:
        db.session.commit()
        delivery.dispatch([delivery_id])
        flash(_("The delivery is queued again."), "success")
    return redirect(url_for("publisher.article", article_id=article_id) + "#deliveries")


@bp.post("/articles/<int:article_id>/withdraw")
@login_required
def article_withdraw(article_id):
    user = actor()
    article = services.get_article(user, article_id)
    values = {"reason": request.form.get("reason", "").strip()}
    data, errors = forms.validate(WithdrawIn, values)
    if data is None:
        return _article_page(article, errors=errors, status=400, values=values)
    try:
        ids = delivery.withdraw_article(user, article, data.reason)
    except DomainError as err:
        refusal = _refusal(err)
        article = services.get_article(user, article_id)
        return _article_page(article, refusal=refusal, errors=forms.domain_field_errors(err),
                             status=err.status, values=values)
    db.session.commit()
    delivery.dispatch(ids, job=delivery.WITHDRAW_JOB)
    flash(_("Withdrawal started: the article is being removed from every platform it "
            "reached."), "success")
    return redirect(url_for("publisher.article", article_id=article_id) + "#deliveries")


@bp.get("/publishing/queue")
@login_required
def publishing_queue():
    from flask import current_app

    user = actor()
    require_roles(user, "supervisor")
    minutes = int(current_app.config.get("DELIVERY_STUCK_MINUTES") or 15)
    stuck = delivery.stuck_deliveries(minutes)
    accounts = {a.id: a for a in db.session.scalars(select(Account).where(
        Account.id.in_({d.account_id for d in stuck})))} if stuck else {}
    recent_failed = db.session.scalars(select(Delivery).where(Delivery.status == "failed")
                                       .order_by(Delivery.updated_at.desc()).limit(20)).all()
    return render_template("publisher/publishing_queue.html",
                           overview=delivery.queue_overview(), stuck=stuck, minutes=minutes,
                           accounts=accounts, counts=delivery.status_counts(),
                           recent_failed=recent_failed)
