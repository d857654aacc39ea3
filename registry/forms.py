"""Form input -> the API's pydantic models (registry/schemas.py), with errors per field.

Pages validate with the same models as the JSON API, in pydantic's lax mode: dates stay
the strings the browser sent, empty strings become None, integers are converted only
when they are digits (anything else is left for pydantic to report).
"""
import re

from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError

from govmedia.types import ascii_int


def text(form, name: str) -> str | None:
    """A trimmed form value; None when missing or blank."""
    value = form.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def integer(form, name: str):
    value = text(form, name)
    if value is None:
        return None
    number = ascii_int(value)
    return value if number is None else number


def rows(form, prefix: str, fields: tuple[str, ...], significant: tuple[str, ...]) -> list[dict]:
    """Repeating rows named `prefix-N-field`, in N order; rows blank in every significant
    field are dropped (a select with a default value does not make a row)."""
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d{{1,3}})-(\w+)$")
    found: dict[int, dict] = {}
    for key in form:
        match = pattern.match(key)
        if match and match[2] in fields:
            found.setdefault(int(match[1]), {})[match[2]] = (form.get(key) or "").strip()
    result = []
    for index in sorted(found):
        row = found[index]
        if any(row.get(name) for name in significant):
            result.append({name: row.get(name, "") for name in fields})
    return result


def _problem(item: dict) -> str:
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
    return item.get("msg", kind)


def validate(model: type[BaseModel], data: dict):
    """(instance, {}) or (None, {"field" or "rows.0.name": translated problem})."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for item in exc.errors():
            loc = ".".join(str(part) for part in item["loc"]) or "form"
            errors.setdefault(loc, _problem(item))
        return None, errors


def domain_field_errors(err) -> dict[str, str]:
    """A service error's fields, for marking the inputs. Beside each input goes the error's
    message, in the reader's language: `fields` holds the API's English problem codes."""
    return {name: err.message for name in (err.fields or {})}
