"""What every publisher page shares: the blueprint, the labels, the article's rendered body."""
import nh3
from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import SHANGHAI
from registry.audit_words import VALUE_GROUPS
from registry.labels import GROUPS
from registry.models import AccountCredential

from .. import checks
from ..editorial.articles import history, target_accounts
from ..checks import N_
from ..labels import DELIVERY_LABELS, STAGE_LABELS, STATUS_LABELS, delivery_error, finding_message
from ..content import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, URL_SCHEMES, content_of, sanitize_html
from ..states import WITHDRAWABLE_ARTICLES, WithdrawState
from ..editorial.articles import LIST_STATUSES, shown_status
from ..editorial.comments import comments_of, marked_body
from ..compare import page_comparison
from ..mass_quota import QUOTA_SHOWN, article_quota, delivery_mode
from ..editorial.previews import target_previews
from ..models import EDITABLE_STATUSES, PUBLISHABLE_PLATFORMS, REFIXABLE_STATUSES, Article
from ..editorial.review import STAGE_OF_STATUS, review_refusal

bp = Blueprint("publisher", __name__)

FIELD_LABELS = {"title": N_("Article title"), "digest": N_("Digest"), "body": N_("Body")}
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
    "article.comment": N_("Commented on a passage"),
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


# The audit trail names this package's codes in words (registry/audit_words.py).
GROUPS["article_status"], GROUPS["delivery"] = STATUS_LABELS, DELIVERY_LABELS
GROUPS["stage"], GROUPS["checklist"] = STAGE_LABELS, CHECKLIST_LABELS
VALUE_GROUPS.update({("article", "status"): "article_status", ("article", "stage"): "stage",
                     ("article", "checklist"): "checklist"})
VALUE_GROUPS.update({(action, "status"): "delivery" for action in (
    "delivery.sent", "delivery.failed", "delivery.retry", "delivery.retrying",
    "delivery.unconfirmed", "delivery.withdrawn", "delivery.withdraw_failed",
    "article.delivered")})


# The checks store each finding's message in Chinese (the API's record of what was found);
# a page says it in the reader's language from the rule and what matched. A rule without an
# entry here shows its stored message.
def plabel(kind: str, code) -> str:
    table = {"status": STATUS_LABELS, "delivery": DELIVERY_LABELS, "stage": STAGE_LABELS,
             "decision": DECISION_LABELS, "checklist": CHECKLIST_LABELS,
             "history": HISTORY_LABELS, "list": LIST_LABELS, "field": FIELD_LABELS,
             "rule": {rule: spec[1] for rule, spec in checks.RULES.items()}}[kind]
    return _(table[code]) if code in table else str(code)




def article_html(value: str) -> Markup:
    """Stored bodies were sanitized on the way in; sanitize again on the way out."""
    return Markup(sanitize_html(value))

def _outside_tags(html: str, start: int, end: int) -> tuple[int, int]:
    """A finding inside a tag (a link's href, an image's src) marks the whole element: a
    <mark> inside the tag's markup would break it and show its HTML as text."""
    opening = html.rfind("<", 0, start)
    if opening == -1 or html.rfind(">", 0, start) > opening:
        return start, end                       # in the text between tags
    closing = html.find(">", start)
    if closing == -1:
        return start, end
    element_end = closing + 1
    name = html[opening + 1:closing].split(None, 1)[0].lower() if closing > opening + 1 else ""
    if name == "a":
        close_tag = html.lower().find("</a>", element_end)
        if close_tag != -1:
            element_end = close_tag + len("</a>")
    return opening, element_end


def highlighted_html(article: Article) -> Markup:
    """The body with every finding in it marked, for reviewers and the drafter."""
    html = article.body_html or ""
    spans = []
    for finding in article.checks or []:
        if finding.get("field") != "body_html":
            continue
        for start, end in finding.get("positions") or []:
            start, end = _outside_tags(html, start, end)
            spans.append((start, end, finding["severity"], finding_message(finding)))
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
    tags = ALLOWED_TAGS | {"mark"}
    attributes = dict(ALLOWED_ATTRIBUTES, mark={"class", "title"})
    return Markup(nh3.clean("".join(out), tags=tags, attributes=attributes,
                            url_schemes=URL_SCHEMES, link_rel="noopener noreferrer"))



def standin_url() -> str | None:
    """Where posts go when the embedded run sends to the stand-in platforms."""
    if current_app.config["STANDIN_PLATFORMS"]:
        return current_app.config["WECHAT_API_BASE_URL"]
    return None


def credential_state(account) -> str | None:
    """For the account page: "missing", "set" or "expired" (never the credentials)."""
    if account.platform not in PUBLISHABLE_PLATFORMS:
        return None
    row = db.session.get(AccountCredential, account.id)
    if row is None:
        return "missing"
    return "expired" if row.token_expired else "set"


@bp.app_context_processor
def _helpers():
    return {"plabel": plabel, "article_statuses": LIST_STATUSES, "shown_status": shown_status,
            "finding_message": finding_message, "delivery_error": delivery_error,
            "standin_url": standin_url, "credential_state": credential_state}


def shanghai_local(value) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") if value else ""


def refusal_of(err: DomainError) -> DomainError:
    if err.status in (401, 404) or (err.status == 403 and not err.fields
                                    and err.code == "forbidden"):
        raise err
    db.session.rollback()
    return err



def article_page(article: Article, *, refusal=None, stopping=None, errors=None, status=200,
                 values=None):
    """The article with its checks, reviews, deliveries and what this person may do."""
    user = actor()
    review_block = review_refusal(user, article)
    drafter = article.created_by_id == user.id
    withdrawal_failed = any(d.withdraw_state == WithdrawState.FAILED for d in article.deliveries)
    comments = comments_of(article)
    accounts = target_accounts(article)
    return render_template(
        "publisher/article.html", article=article, accounts=accounts,
        wechat_modes={i: delivery_mode(article, a) for i, a in accounts.items()
                      if a.platform == "wechat"},
        mass_quota=article_quota(article) if article.status in QUOTA_SHOWN else [],
        weibo_post=checks.weibo_post(content_of(article)), limit=checks.WEIBO_LIMIT,
        body=article_html(article.body_html), marked=highlighted_html(article),
        findings=article.checks or [],
        warnings=sorted({f["rule"] for f in checks.warnings(article.checks or [])}),
        blocking=checks.blocking(article.checks or []),
        is_drafter=drafter,
        can_submit=drafter and article.status in ("draft", "returned"),
        can_edit=drafter and (article.status in EDITABLE_STATUSES or (
            article.status in REFIXABLE_STATUSES and article.withdraw_requested_at is None)),
        can_retry=user.has_role("admin", "editor") and article.withdraw_requested_at is None,
        can_withdraw=user.has_role("admin", "editor", "signer") and bool(article.deliveries)
        and article.status in WITHDRAWABLE_ARTICLES
        and (article.withdraw_requested_at is None or withdrawal_failed),
        can_review=review_block is None, review_block=review_block,
        comments=comments, commented=marked_body(article, comments),
        comparison=page_comparison(article), previews=target_previews(article),
        stage=STAGE_OF_STATUS.get(article.status), history=history(article),
        checklist_items=checks.SELF_CHECK_ITEMS, refusal=refusal, stopping=stopping or [],
        errors=errors or {}, values=values or {},
        drafter=db.session.get(User, article.created_by_id)), status
