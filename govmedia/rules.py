"""The rule numbers of ../shared/RULES.md, in one place (the seeds' defaults).

Where jurisdictions differ (the update window, the warning day, the filing and notice
periods, the reply deadline, the spot-check share) these are the defaults of a rule profile;
the unit-tree issue makes them configurable per node.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class RuleProfile:
    # Rule 4: an opening, change, closing or deregistration is filed by the 5th working day
    # after the event (its own day not counted).
    filing_workdays: int = 5
    # Rule 5: an account is dormant after more than 10 days without an update, and shows a
    # warning from the 7th day.
    dormant_after_days: int = 10
    warning_from_days: int = 7
    # Rule 6: a public notice runs through the 15th working day after it appears.
    notice_workdays: int = 15
    # Rule 7: a rectification order is answered within 5 working days.
    rectification_workdays: int = 5
    # Issue 15: a publishing task (a platform without a publishing API) is done by the 2nd
    # working day after sign-off (its own day not counted).
    publishing_task_workdays: int = 2
    # Issue 14 (interaction): a message from the public is answered by the 5th working day
    # after it came in (its own day not counted), on the filings' calendar.
    message_reply_workdays: int = 5
    # Rule 5's note and issue 14: the national inspection vetoes an account with no update in
    # the two weeks (14 days) before the inspection moment.
    inspection_update_days: int = 14


DEFAULT = RuleProfile()
FILING_WORKDAYS = DEFAULT.filing_workdays
DORMANT_AFTER_DAYS = DEFAULT.dormant_after_days
WARNING_FROM_DAYS = DEFAULT.warning_from_days
NOTICE_WORKDAYS = DEFAULT.notice_workdays
RECTIFICATION_WORKDAYS = DEFAULT.rectification_workdays
PUBLISHING_TASK_WORKDAYS = DEFAULT.publishing_task_workdays
MESSAGE_REPLY_WORKDAYS = DEFAULT.message_reply_workdays
INSPECTION_UPDATE_DAYS = DEFAULT.inspection_update_days
