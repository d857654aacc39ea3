"""The rule numbers of ../shared/RULES.md: a rule profile and its defaults (the seeds').

The numbers that differ between jurisdictions (the update window and its warning day, the
filing and notice periods, the reply deadline, the spot-check share) make up a RuleProfile;
an admin sets one at a node of the unit tree and it holds below it (govmedia.profiles). The
numbers every jurisdiction shares stay plain constants here.
"""
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

WINDOW_UNITS = ("days", "workdays")

# Issue 16: a profile's warning day is at least this many days (or working days) after the
# last update. The supervision figures keep every stretch between updates from this length
# on (registry.supervision.figures.GAP_KEPT_FROM), so a shorter one could not be answered.
SHORTEST_WARNING = 5


@dataclass(frozen=True)
class RuleProfile:
    # Rule 5: an account is dormant after more than `update_window` days (or working days,
    # per `window_unit`) without an update, and shows a warning from the `warning_from`th.
    update_window: int = 10
    warning_from: int = 7
    window_unit: str = "days"
    # Rule 4: an opening, change, closing or deregistration is filed by the 5th working day
    # after the event (its own day not counted).
    filing_workdays: int = 5
    # Rule 6: a public notice runs through the 15th working day after it appears.
    notice_workdays: int = 15
    # Issue 14 (interaction): a message from the public is answered by the 5th working day
    # after it came in (its own day not counted), on the filings' calendar.
    message_reply_workdays: int = 5
    # Seed 002 §13(三): 抽查比例100%全覆盖 — the quarterly spot check draws every account.
    spot_check_share: Decimal = Decimal("1")

    def as_dict(self) -> dict:
        out = asdict(self)
        out["spot_check_share"] = str(self.spot_check_share)
        return out

    def cutoffs(self, as_of: date, calendar) -> tuple[date, date]:
        """(warning_cut, dormant_cut): an active account whose last update is on or before
        warning_cut is in the band as of `as_of`, on or before dormant_cut dormant."""
        if self.window_unit == "days":
            return (as_of - timedelta(days=self.warning_from),
                    as_of - timedelta(days=self.update_window + 1))
        # k working days in (last, as_of] means last is before the k-th working day back.
        return (calendar.workday_back(as_of, self.warning_from) - timedelta(days=1),
                calendar.workday_back(as_of, self.update_window + 1) - timedelta(days=1))

    def band(self, last: date, as_of: date, calendar) -> str | None:
        warning_cut, dormant_cut = self.cutoffs(as_of, calendar)
        if last <= dormant_cut:
            return "dormant"
        return "warning" if last <= warning_cut else None

    def window_end(self, last: date, calendar) -> date:
        """The last day an account updated on `last` is still within the window."""
        if self.window_unit == "days":
            return last + timedelta(days=self.update_window)
        return calendar.add_workdays(last, self.update_window)[0]

    def same_window(self, other: "RuleProfile") -> bool:
        return (self.update_window, self.warning_from, self.window_unit) == (
            other.update_window, other.warning_from, other.window_unit)


DEFAULT = RuleProfile()
PROFILE_FIELDS = tuple(f.name for f in fields(RuleProfile))

# What each number means and where the default comes from, for the profile page.
FIELD_LABELS = {
    "update_window": _l("Update window"),
    "warning_from": _l("Warning from"),
    "window_unit": _l("Window counted in"),
    "filing_workdays": _l("Filing deadline (working days)"),
    "notice_workdays": _l("Notice period (working days)"),
    "message_reply_workdays": _l("Message reply deadline (working days)"),
    "spot_check_share": _l("Spot-check share"),
}
DEFAULT_BASIS = {
    "update_window": _l("Seed 004 §5: the interval between two updates may not exceed 10 days"),
    "warning_from": _l("The product's reminder band: from the 7th day without an update"),
    "window_unit": _l("Seed 004 §5 counts calendar days"),
    "filing_workdays": _l("Seed 004 §3(5): filed within 5 working days"),
    "notice_workdays": _l("Seed 004 §3(4): announced publicly for at least 15 working days"),
    "message_reply_workdays": _l("No seed sets one for new-media accounts; 5 working days, "
                                 "as for filings"),
    "spot_check_share": _l("Seed 002 §13(3): every account is checked (100%)"),
}

_LIMITS = {"update_window": (SHORTEST_WARNING, 90), "warning_from": (SHORTEST_WARNING, 90),
           "filing_workdays": (1, 30), "notice_workdays": (1, 60),
           "message_reply_workdays": (1, 30)}


def profile_from(values: dict, base: RuleProfile = DEFAULT) -> tuple[RuleProfile, dict]:
    """A profile from submitted values (strings or numbers; a missing key keeps `base`'s),
    and {field: message} for every value refused."""
    errors, clean = {}, {}
    for name, (low, high) in _LIMITS.items():
        raw = values.get(name, getattr(base, name))
        try:
            number = int(str(raw).strip())
        except (TypeError, ValueError):
            errors[name] = _l("Enter a whole number")
            continue
        if not low <= number <= high:
            errors[name] = _l("Enter a number from %(low)s to %(high)s", low=low, high=high)
        clean[name] = number
    unit = str(values.get("window_unit", base.window_unit)).strip()
    if unit not in WINDOW_UNITS:
        errors["window_unit"] = _l("Choose days or working days")
    clean["window_unit"] = unit
    try:
        share = Decimal(str(values.get("spot_check_share", base.spot_check_share)).strip())
        if not share.is_finite() or not Decimal(0) < share <= Decimal(1):
            raise InvalidOperation
        clean["spot_check_share"] = share.normalize()
    except InvalidOperation:
        errors["spot_check_share"] = _l("Enter a share above 0 and at most 1, such as 0.3")
    if not {"update_window", "warning_from"} & errors.keys() \
            and clean["warning_from"] > clean["update_window"]:
        errors["warning_from"] = _l("The warning day comes on or before the end of the window")
    if errors:
        return base, errors
    return replace(base, **clean), {}


# The default window in days, for the precomputed day totals (registry.supervision.figures),
# which count the seeds' window and answer only while no unit's profile draws another.
DORMANT_AFTER_DAYS = DEFAULT.update_window
WARNING_FROM_DAYS = DEFAULT.warning_from
# Numbers every jurisdiction shares (not part of a profile).
# Rule 7: a rectification order is answered within 5 working days.
RECTIFICATION_WORKDAYS = 5
# Issue 15: a publishing task is done by the 2nd working day after sign-off.
PUBLISHING_TASK_WORKDAYS = 2
# Rule 5's note and issue 14: the national inspection vetoes an account with no update in
# the two weeks (14 days) before the inspection moment.
INSPECTION_UPDATE_DAYS = 14
