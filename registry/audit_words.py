"""The audit trail in words: action names, object kinds, field names and values a reader knows.

The trail stores codes (`unit.create`, `platform: xiaohongshu`, staff as JSON) so its hash
chain never depends on a translation; this module says them in the reader's language at
render time. Higher packages add their own value groups to `registry.labels.GROUPS` and name
them in `VALUE_GROUPS`, as supervision and the publisher do.
"""
from datetime import date, datetime

from flask_babel import gettext
from sqlalchemy import select

from govmedia.extensions import db

from .labels import GROUPS, N_, label
from .models import Account, Unit

ACTIONS = {
    "unit.create": N_("Unit created"), "unit.update": N_("Unit changed"),
    "unit.move": N_("Unit moved to another place in the tree"),
    "filing.correct": N_("Filing corrected"),
    "task.publish.done": N_("Publishing task done"),
    "task.takedown.done": N_("Take-down task done"),
    "unit.platform_exception": N_("Second account on a platform allowed"),
    "account.open": N_("Account registered"), "account.change": N_("Account changed"),
    "account.close": N_("Account closed"), "account.reopen": N_("Account reopened"),
    "account.deregister": N_("Deregistration started"),
    "account.deregistered": N_("Account deregistered"),
    "account.credentials": N_("Platform credentials set"),
    "filing.complete": N_("Filing completed"),
    "user.create": N_("User created"), "user.update": N_("User changed"),
    "holidays.enter": N_("Holiday schedule entered"),
    "article.create": N_("Article drafted"), "article.push": N_("Article pushed by a source system"),
    "article.update": N_("Article edited"), "article.submit": N_("Article submitted"),
    "article.review": N_("Article passed a review"), "article.return": N_("Article returned"),
    "article.signoff": N_("Article signed off"), "article.withdraw": N_("Withdrawal requested"),
    "article.delivered": N_("Article delivered"),
    "article.comment": N_("Comment on a passage of an article"),
    "delivery.sent": N_("Delivery sent"), "delivery.failed": N_("Delivery failed"),
    "delivery.retry": N_("Delivery retried"), "delivery.retrying": N_("Delivery to be retried"),
    "delivery.unconfirmed": N_("Delivery unconfirmed"),
    "delivery.withdrawn": N_("Post withdrawn"),
    "delivery.withdraw_failed": N_("Withdrawal failed"),
    "checks.terms": N_("Word list changed"), "checks.severities": N_("Check severities changed"),
    "takedown.add": N_("Item to take down added"), "takedown.done": N_("Item taken down"),
    "notice.open": N_("Notice published"), "notice.amend": N_("Notice amended"),
    "notice.withdraw": N_("Notice withdrawn"),
    "rectification.create": N_("Rectification ordered"),
    "rectification.answer": N_("Rectification answered"),
    "rectification.close": N_("Rectification closed out"),
    "rectification.reopen": N_("Rectification reopened"),
    "report.generate": N_("Quarterly report generated"),
    "annual_report.issue": N_("Annual report issued"),
    "spot_check.draw": N_("Spot-check sample drawn"),
    "spot_check.void": N_("Spot-check draw voided"),
    "rule_profile.set": N_("Rule profile changed"),
    "message.assign": N_("Message handed to someone to answer"),
    "message.reply": N_("Reply to a message sent"),
    "answer.create": N_("Reference answer saved"),
    "answer.change": N_("Reference answer changed"),
    "account.credentials_refused": N_("Platform refused the account's credentials"),
    "delivery.resume": N_("Delivery resumed"),
    "evidence.recorded": N_("Evidence of an update recorded"),
    "evidence.rejected": N_("Evidence of an update rejected"),
    "user.password": N_("Password changed"),
    "user.sessions_ended": N_("Other sessions ended"),
    "video.upload": N_("Video uploaded"),
    "rule_profile.inherit": N_("Rule profile ended: the unit follows the one above"),
    "account.app_details": N_("App filing number and version recorded"),
    "account.wechat_options": N_("WeChat publishing mode and account type set"),
    "posts.import": N_("Post log imported"),
    "duplicate.dismiss": N_("Marked as not a duplicate"),
    "duplicate.restore": N_("Duplicate decision withdrawn"),
}

OBJECTS = {
    "unit": N_("Unit"), "account": N_("Account"), "filing": N_("Filing"), "user": N_("User"),
    "article": N_("Article"), "notice": N_("Notice"), "rectification": N_("Rectification order"),
    "supervision_report": N_("Quarterly report"), "check_list": N_("Check lists"),
    "holiday_year": N_("Holiday year"), "duplicate_pair": N_("Pair of accounts"),
    "post_log": N_("Post log"), "annual_report": N_("Annual report"),
    "spot_check": N_("Spot check"), "rule_profile": N_("Rule profile"),
    "message": N_("Message from the public"), "reference_answer": N_("Reference answer"),
    "video": N_("Video"),
}

KEYS = {
    "name": N_("Name"), "code": N_("Unified social credit code"), "parent_id": N_("Parent unit"),
    "leader": N_("Principal leader"), "deputy_leader": N_("Leader in charge"),
    "office": N_("Managing office"), "contacts": N_("Contacts"), "platform": N_("Platform"),
    "handle": N_("Handle"), "unit_id": N_("Sponsor unit"), "status": N_("Status"),
    "opened_on": N_("Opened on"), "reopened_on": N_("Reopened on"),
    "verified_subject": N_("Verified subject"),
    "verification_expires_on": N_("Verification expires on"), "staff": N_("Staff"),
    "event_date": N_("Event date"), "reason": N_("Reason"), "fields": N_("Fields"),
    "filed_on": N_("Filed on"), "reference": N_("Filing reference"), "round": N_("Round"),
    "revision": N_("Revision"), "content_hash": N_("Content fingerprint"),
    "confirmed_warnings": N_("Warnings confirmed"), "checklist": N_("Self-check"),
    "stage": N_("Stage"), "comment": N_("Comment"), "delivery_id": N_("Delivery"),
    "account_id": N_("Account"), "attempts": N_("Attempts"), "error": N_("Error"),
    "deliveries": N_("Deliveries"), "again": N_("Again"), "title": N_("Article title"),
    "targets": N_("Target accounts"), "cover": N_("Cover"), "publish_at": N_("Publish at"),
    "review_record": N_("Review record"), "voided_reviews": N_("Reviews voided"),
    "list": N_("List"), "added": N_("Added"), "removed": N_("Removed"),
    "sample_added": N_("Some added"), "sample_removed": N_("Some removed"), "kind": N_("Kind"),
    "label": N_("Item"), "done_on": N_("Done on"), "starts_on": N_("Starts on"),
    "topic": N_("Topic"), "screenshot": N_("Screenshot"), "task_id": N_("Publishing task"),
    "ends_on": N_("Ends on"), "text": N_("Text"), "takedown": N_("Items to take down"),
    "note": N_("Note"), "withdrawn_at": N_("Withdrawn at"), "quote": N_("Passage quoted"),
    "account_status": N_("Account status"), "completed_on": N_("Completed on"),
    "notice_id": N_("Notice"), "filing_id": N_("Filing"), "username": N_("Username"),
    "roles": N_("Roles"), "active": N_("Enabled"), "display_name": N_("Display name"),
    "entries": N_("Entries"), "confirmed": N_("Confirmed"),
    "deadlines_changed": N_("Deadlines changed"), "year": N_("Year"), "quarter": N_("Quarter"),
    "as_of": N_("As of"), "rows": N_("Rows"), "finding": N_("Finding"),
    "deadline": N_("Deadline"), "answer": N_("Answer"), "phone": N_("Phone"),
    "platform_role": N_("Role on the platform"), "account_ids": N_("Accounts"),
    "platform_message": N_("Platform's message"), "post_url": N_("Post link"),
    "post_id": N_("Post ID"),
    "app_filing_number": N_("Cyberspace filing number"), "app_version": N_("App version"),
    "wechat_mode": N_("Publishing mode"), "wechat_type": N_("Account type"),
    "accounts": N_("Accounts"), "posts": N_("Posts"),
    "seed": N_("Random seed"), "share": N_("Share"), "population": N_("Active accounts"),
    "node": N_("Set at unit"), "assignee_id": N_("To be answered by"), "valid_from": N_("In force from"), "basis": N_("Legal basis"),
    "update_window": N_("Update window"), "warning_from": N_("Warning from"),
    "window_unit": N_("Window counted in"), "filing_workdays": N_("Filing deadline"),
    "notice_workdays": N_("Notice period"), "message_reply_workdays": N_("Message reply deadline"),
    "spot_check_share": N_("Spot-check share"),
}

# (object type or action, key) -> a group of registry.labels.GROUPS that names the values.
VALUE_GROUPS = {
    ("*", "platform"): "platform", ("account", "status"): "status",
    ("account", "account_status"): "status", ("*", "roles"): "role",
    ("*", "platform_role"): "platform_role", ("rectification", "status"): "rectification",
    ("rectification", "kind"): "finding", ("notice", "kind"): "event",
    ("*", "wechat_mode"): "wechat_mode", ("*", "wechat_type"): "wechat_type",
    ("account.credentials", "fields"): "credential_field", ("takedown.add", "kind"): "takedown_kind",
}


def action_words(action: str) -> str:
    return gettext(ACTIONS[action]) if action in ACTIONS else action


def object_words(object_type: str | None) -> str:
    return gettext(OBJECTS[object_type]) if object_type in OBJECTS else (object_type or "")


def key_words(key: str) -> str:
    return gettext(KEYS[key]) if key in KEYS else key


def _group(entry, key: str) -> str | None:
    for scope in (entry.action, entry.object_type, "*"):
        if (scope, key) in VALUE_GROUPS:
            return VALUE_GROUPS[(scope, key)]
    return None


def value_words(entry, key: str, value, names: dict) -> str:
    """One recorded value as a reader says it: labels for codes, names for ids, people as
    "name (phone, role)", yes/no for flags."""
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    group = _group(entry, key)
    if isinstance(value, list):
        return gettext("; ").join(value_words(entry, key, item, names) for item in value)
    if isinstance(value, dict):
        return _person_or_record(entry, value, names)
    if group and group in GROUPS:
        return label(group, value)
    if key in ("unit_id", "parent_id") and value in names.get("unit", {}):
        return names["unit"][value]
    if key in ("account_id", "account_ids", "targets") and value in names.get("account", {}):
        return names["account"][value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _person_or_record(entry, value: dict, names: dict) -> str:
    if "name" in value and set(value) <= {"name", "phone", "platform_role", "title"}:
        details = [value[k] if k != "platform_role" else label("platform_role", value[k])
                   for k in ("phone", "title", "platform_role") if value.get(k)]
        return value["name"] + (gettext("(%(details)s)", details=gettext(", ").join(details))
                                if details else "")
    parts = [gettext("%(key)s: %(value)s", key=key_words(k),
                     value=value_words(entry, k, v, names)) for k, v in value.items()]
    return gettext("; ").join(parts)


def names_on(entries) -> dict:
    """The names of the units and accounts a page of entries mentions, by id (two queries)."""
    wanted = {"unit": set(), "account": set()}
    for entry in entries:
        if entry.object_type in wanted and entry.object_id:
            wanted[entry.object_type].add(entry.object_id)
        for record in (entry.before, entry.after):
            if isinstance(record, dict):
                for key, kind in (("unit_id", "unit"), ("parent_id", "unit"),
                                  ("account_id", "account"), ("account_ids", "account"),
                                  ("targets", "account")):
                    values = record.get(key)
                    for value in values if isinstance(values, list) else [values]:
                        if isinstance(value, int) and not isinstance(value, bool):
                            wanted[kind].add(value)
    return {
        "unit": dict(db.session.execute(select(Unit.id, Unit.name)
                                        .where(Unit.id.in_(wanted["unit"]))).all()),
        "account": dict(db.session.execute(select(Account.id, Account.name)
                                           .where(Account.id.in_(wanted["account"]))).all()),
    }
