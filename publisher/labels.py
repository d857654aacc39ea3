"""Display names of the publisher's codes (article and delivery statuses, review stages), for
the pages and for the domain's messages alike, so no message shows a raw code."""
from flask_babel import gettext as _

from adapters.messages import platform_error_text
from govmedia.wording import N_, is_message, say


STATUS_LABELS = {
    "draft": N_("Draft"), "pending_review": N_("Awaiting 2nd review"),
    "pending_signoff": N_("Awaiting sign-off"), "approved": N_("Approved"),
    "publishing": N_("Publishing"), "published": N_("Published"),
    "partially_published": N_("Partially published"), "failed": N_("Failed"),
    "returned": N_("Returned"),
    "withdrawn": N_("Article withdrawn"),
}
DELIVERY_LABELS = {"queued": N_("Queued"), "sending": N_("Sending"), "sent": N_("Sent"),
                   "retrying": N_("Retrying"), "unconfirmed": N_("Unconfirmed"),
                   "failed": N_("Failed"), "withdrawn": N_("Post withdrawn"),
                   "task": N_("Publishing task (by hand)")}
STAGE_LABELS = {1: N_("1st review (drafter's self-check)"), 2: N_("2nd review"),
                3: N_("3rd review (sign-off)")}


def status_label(code: str) -> str:
    return _(STATUS_LABELS[code]) if code in STATUS_LABELS else code


def delivery_label(code: str) -> str:
    return _(DELIVERY_LABELS[code]) if code in DELIVERY_LABELS else code


def delivery_error(delivery) -> str:
    """A delivery's last error in the reader's language: the platform's code in words when the
    error came from the platform (a code not known shows the platform's own text, quoted),
    else its words said again, else (a row from before) the text recorded when it happened;
    "" without an error."""
    if not delivery.last_error:
        return ""
    detail = delivery.last_error_detail or {}
    text = platform_error_text(delivery.platform, detail.get("code"), detail.get("message"))
    if text is None and is_message(detail.get("said")):
        text = say(detail["said"])
    return text or delivery.last_error


FINDING_MESSAGES = {
    "banned_word": N_("Banned word “%(match)s”"),
    "caution_word": N_("Caution word “%(match)s”: check how it is used"),
    "advertising": N_("Advertising phrase “%(match)s” (the Advertising Law forbids absolute "
                      "terms)"),
    "secrecy_mark": N_("Secrecy mark “%(match)s”: classified content may not be published"),
    "id_number": N_("A valid resident ID number: personal privacy may not be published"),
    "mobile_number": N_("Mobile number “%(match)s”: make sure it is not personal privacy"),
    "traditional_chars": N_("Traditional or variant character “%(match)s”; the standard form "
                            "is “%(suggestion)s”"),
    "external_link": N_("The link's domain “%(match)s” is not in the allowed domains"),
    "missing_title": N_("The title is empty"),
    "missing_body": N_("The body is empty"),
    "missing_cover": N_("A WeChat official account article needs a cover image"),
    "missing_link": N_("A Weibo post needs the link to the portal article"),
}


def finding_message(finding: dict) -> str:
    """One finding's message in the reader's language: its own words when it keeps them
    (limits, lengths, "more words"), else its rule's with the match, else as stored."""
    if is_message(finding.get("said")):
        return say(finding["said"])
    message = FINDING_MESSAGES.get(finding.get("rule"))
    if message is None or finding.get("match") == "…":   # "… more words not listed"
        return finding.get("message", "")
    return _(message, match=finding.get("match", ""), suggestion=finding.get("suggestion", ""))


def findings_in_words(findings) -> list[dict]:
    """Stored findings with each message in the reader's language (for the API)."""
    return [{**f, "message": finding_message(f)} for f in findings or []]
