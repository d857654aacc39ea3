"""Delivery and withdrawal states, as stored in `deliveries` and returned by the API."""
from enum import StrEnum


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # a job holds the row's lease and may be talking to the platform
    SENT = "sent"
    RETRYING = "retrying"
    UNCONFIRMED = "unconfirmed"  # the platform may have the post: asked before sending again
    FAILED = "failed"
    WITHDRAWN = "withdrawn"
    TASK = "task"  # no publishing API: a person posts it (publisher/tasks, docs/PUBLISHER.md)


class WithdrawState(StrEnum):
    """`deliveries.withdraw_state` (None: no withdrawal asked for)."""

    PENDING = "pending"  # the withdraw job has work
    FAILED = "failed"  # the platform refused; the editor may ask again
    TASK = "task"  # posted by hand: a take-down task asks a person to remove it


S = DeliveryStatus
# A job may claim these to send them.
SENDABLE = (S.QUEUED, S.RETRYING, S.UNCONFIRMED)
# Work left: the article is still publishing.
ACTIVE = (S.QUEUED, S.SENDING, S.RETRYING, S.UNCONFIRMED)
# Keeps the article from its final status: work for a job, or a publishing task still open.
UNSETTLED = (*ACTIVE, S.TASK)
# The post reached the platform (and may since have been removed).
REACHED = (S.SENT, S.WITHDRAWN)
# An article whose deliveries are all settled can be withdrawn, and so can one still sending.
WITHDRAWABLE_ARTICLES = ("approved", "publishing", "published", "partially_published", "failed")
# The article statuses its deliveries decide.
FANNED_OUT_ARTICLES = WITHDRAWABLE_ARTICLES
SETTLED_ARTICLES = ("published", "partially_published", "failed")
