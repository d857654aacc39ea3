"""What is wrong with a value, in the reader's language: pydantic's English messages mapped to
our own, for the pages and the API alike."""
from flask_babel import gettext as _


def problem_text(item: dict) -> str:
    """One pydantic error item as a short translated sentence."""
    kind = item["type"]
    ctx = item.get("ctx") or {}
    if kind == "missing" or (item.get("input") is None and kind not in ("too_short", "too_long")):
        return _("Required")
    if kind == "string_too_short":
        if ctx.get("min_length", 1) <= 1:
            return _("Required")
        return _("At least %(n)s characters", n=ctx["min_length"])
    if kind == "string_too_long":
        return _("At most %(n)s characters", n=ctx.get("max_length"))
    if kind == "too_short":
        return _("Choose at least one")
    if kind == "too_long":
        return _("Too many rows (at most %(n)s)", n=ctx.get("max_length"))
    if kind.startswith("date") or kind.startswith("datetime"):
        return _("Enter a date as YYYY-MM-DD")
    if kind.startswith("int"):
        return _("Enter a whole number")
    if kind in ("literal_error", "enum"):
        return _("Choose one of the options")
    if kind == "string_pattern_mismatch":
        return _("Only letters, digits and _ . @ - are allowed")
    if kind in ("bool_type", "bool_parsing"):
        return _("Enter true or false")
    if kind.startswith(("string_type", "list_type", "dict_type", "model_type", "float", "decimal")):
        return _("A value of the wrong type")
    return _("Not a valid value")
