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
