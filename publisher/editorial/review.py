"""The three reviews (rule 8): the drafter's submission, the 2nd review, the sign-off."""
from flask_babel import gettext as _
from sqlalchemy import or_

from govmedia import audit
from govmedia.auth import reaches_unit
from govmedia.errors import Forbidden, Invalid, RuleConflict
from govmedia.extensions import db
from govmedia.models import User
from govmedia.notify import notify, unit_users
from govmedia.types import utcnow

from .. import checks
from ..compare import record_revision
from ..content import run_article_checks
from ..labels import status_label
from ..mass_quota import require_article_quota
from ..models import Article, ArticleReview
from .articles import articles_query, lock, require_drafter
from .operations import approve

STAGE_OF_STATUS = {"pending_review": 2, "pending_signoff": 3}
ROLE_OF_STAGE = {2: "reviewer", 3: "signer"}


def submit_article(actor: User, article: Article, confirmations=(), checklist=None) -> list:
    """1st review: the drafter's self-check. Blocking findings, and warnings the drafter has
    not confirmed, stop it (409 checks_failed listing them)."""
    require_drafter(actor, article)
    if article.status not in ("draft", "returned"):
        raise RuleConflict(_("The article is %(status)s and cannot be submitted",
                             status=status_label(article.status)), code="invalid_transition")
    unknown = sorted(set(confirmations) - set(checks.RULES))
    if unknown:
        raise Invalid(_("Unknown check rule"),
                      fields={"confirmations": "unknown rule " + unknown[0]})
    if checklist is not None:
        missing = [item for item in checks.SELF_CHECK_ITEMS if item not in checklist]
        if missing:
            raise Invalid(_("Confirm every item of the self-check."),
                          fields={"checklist": "not confirmed: " + ", ".join(missing)})
    findings = run_article_checks(article)
    confirmed = set(confirmations)
    stopping = checks.blocking(findings) + [f for f in checks.warnings(findings)
                                            if f["rule"] not in confirmed]
    if stopping:
        db.session.flush()
        raise RuleConflict(_("The article failed the automated checks: fix what may not be "
                             "published and confirm each warning"),
                           code="checks_failed", extra={"checks": stopping})
    article.round += 1
    article.status = "pending_review"
    article.submitted_at = utcnow()
    warned = sorted({f["rule"] for f in checks.warnings(findings)})
    db.session.add(ArticleReview(
        article_id=article.id, round=article.round, stage=1, decision="submit",
        user_id=actor.id, name=actor.display_name or actor.username, comment="",
        revision=article.revision, content_hash=article.content_hash,
        checklist=list(checklist) if checklist is not None else None, confirmations=warned))
    record_revision(article)  # what the reviewers see, kept for a comparison after a return
    db.session.flush()
    audit.record("article.submit", "article", article.id,
                 after={"round": article.round, "revision": article.revision,
                        "content_hash": article.content_hash, "confirmed_warnings": warned,
                        "checklist": checklist}, unit_id=article.unit_id, user=actor)
    tell_next_stage(article, 2)
    return findings


def tell_next_stage(article: Article, stage: int) -> None:
    """The unit's reviewers (stage 2) or signers (stage 3) are told the article waits for
    them; not whoever may not act on it (the drafter, a person of another stage)."""
    db.session.expire(article, ["reviews"])  # the review just added counts
    may_act = [uid for uid in unit_users(article.unit_id, ROLE_OF_STAGE[stage])
               if uid != article.created_by_id
               and not (acted_stages_of(article, uid) - {stage})]
    notify(may_act, "article_waiting", f"/articles/{article.id}",
           {"title": article.title, "stage": stage},
           key=f"article_waiting:{article.id}:{article.round}:{stage}", unit_id=article.unit_id)


def acted_stages_of(article: Article, user_id: int) -> set[int]:
    return {r.stage for r in article.reviews if r.user_id == user_id}


def tell_drafter(article: Article, decision: str, comment: str) -> None:
    if decision == "reject":
        notify([article.created_by_id], "article_returned", f"/articles/{article.id}",
               {"title": article.title, "comment": comment},
               key=f"article_returned:{article.id}:{article.round}", unit_id=article.unit_id)
    else:
        notify([article.created_by_id], "article_signed_off", f"/articles/{article.id}",
               {"title": article.title},
               key=f"article_signed_off:{article.id}:{article.round}", unit_id=article.unit_id)


def acted_stages(article: Article, user: User) -> set[int]:
    """Every stage this person acted at on this article, in any round, voided or not."""
    stages = {r.stage for r in article.reviews if r.user_id == user.id}
    if article.created_by_id == user.id:
        stages.add(1)
    return stages


def review_refusal(actor: User, article: Article):
    """None when the user may act at the article's current stage, else the error to raise."""
    stage = STAGE_OF_STATUS.get(article.status)
    if stage is None:
        return RuleConflict(_("The article is %(status)s and is not awaiting review",
                              status=status_label(article.status)), code="invalid_transition")
    if not actor.has_role("admin", ROLE_OF_STAGE[stage]):
        return Forbidden(_("Your roles do not allow this"))
    if not reaches_unit(actor, article.unit_id):
        return Forbidden(_("This belongs to another unit"))
    if article.created_by_id == actor.id:
        return Forbidden(_("The drafter never reviews their own article"),
                         code="separation_of_duties")
    other = acted_stages(article, actor) - {stage}
    if other:
        return Forbidden(_("One person acts at one review stage of an article; you acted at "
                           "stage %(stage)s", stage=min(other)), code="separation_of_duties")
    return None


def review_article(actor: User, article: Article, decision: str, comment: str = "",
                   seen_hash: str | None = None) -> Article:
    """2nd review (reviewer) or sign-off (signer): approve or return with a reason. A
    sign-off queues one delivery per target, sent when the caller commits."""
    lock(article)
    refusal = review_refusal(actor, article)
    if refusal is not None:
        raise refusal
    stage = STAGE_OF_STATUS[article.status]
    require_seen(article, seen_hash)
    comment = (comment or "").strip()
    if decision == "reject" and not comment:
        raise Invalid(_("A return needs a reason"), fields={"comment": "a return needs a reason"})
    if decision == "approve":
        _require_prior_approvals(article, stage)
        blocking = checks.blocking(run_article_checks(article))
        if blocking:
            db.session.flush()
            raise RuleConflict(_("The article failed the automated checks and cannot be "
                                 "approved"), code="checks_failed", extra={"checks": blocking})
        if stage == 3:
            require_article_quota(article)  # WeChat's mass-send quota (issue 15)
    db.session.add(ArticleReview(
        article_id=article.id, round=article.round, stage=stage, decision=decision,
        user_id=actor.id, name=actor.display_name or actor.username, comment=comment,
        revision=article.revision, content_hash=article.content_hash))
    before = article.status
    if decision == "reject":
        article.status = "returned"
    elif stage == 2:
        article.status = "pending_signoff"
    else:
        approve(article)
    db.session.flush()
    action = {"reject": "article.return", "approve": "article.review" if stage == 2
              else "article.signoff"}[decision]
    audit.record(action, "article", article.id, before={"status": before},
                 after={"status": article.status, "stage": stage, "round": article.round,
                        "revision": article.revision, "content_hash": article.content_hash,
                        "comment": comment}, unit_id=article.unit_id, user=actor)
    if decision == "approve" and stage == 2:
        tell_next_stage(article, 3)
    elif article.created_by_id is not None:
        tell_drafter(article, decision, comment)
    return article


def require_seen(article: Article, seen_hash: str | None) -> None:
    """The reviewer acts on the revision they saw (its hash from the page), not a newer one."""
    if seen_hash and seen_hash != article.content_hash:
        raise RuleConflict(_("The article changed since you saw it: review it again"),
                           code="revision_changed")


def _require_prior_approvals(article: Article, stage: int) -> None:
    # Approvals bind to the revision: every earlier stage of this round saw this very hash.
    current = [r for r in article.reviews if r.round == article.round and r.voided_at is None]
    for earlier in range(1, stage):
        if not any(r.stage == earlier and r.decision in ("submit", "approve")
                   and r.content_hash == article.content_hash for r in current):
            raise RuleConflict(_("An earlier review stage did not see this revision"),
                               code="invalid_transition")


def queues(actor: User) -> dict[str, list[Article]]:
    """What waits for this person: to review, to sign, returned to them, their drafts."""
    base = articles_query(actor)
    result = {"to_review": [], "to_sign": [], "returned": [], "drafts": []}
    if actor.has_role("admin", "reviewer", "signer"):
        waiting = db.session.scalars(base.where(or_(Article.status == "pending_review",
                                                    Article.status == "pending_signoff"))).all()
        for article in waiting:
            if review_refusal(actor, article) is None:
                key = "to_review" if article.status == "pending_review" else "to_sign"
                result[key].append(article)
    mine = db.session.scalars(base.where(Article.created_by_id == actor.id,
                                         Article.status.in_(("returned", "draft")))).all()
    for article in mine:
        result["returned" if article.status == "returned" else "drafts"].append(article)
    return result
