"""Form input -> the API's pydantic models (registry/schemas.py), with errors per field.

Pages validate with the same models as the JSON API, in pydantic's lax mode: dates stay
the strings the browser sent, empty strings become None, integers are converted only
when they are digits (anything else is left for pydantic to report).
"""
import re

from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError

from govmedia.types import ascii_int
from govmedia.validation import problem_text


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


def validate(model: type[BaseModel], data: dict):
    """(instance, {}) or (None, {"field" or "rows.0.name": translated problem})."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for item in exc.errors():
            loc = ".".join(str(part) for part in item["loc"]) or "form"
            errors.setdefault(loc, problem_text(item))
        return None, errors


def domain_field_errors(err) -> dict[str, str]:
    """A service error's fields, for marking the inputs. Beside each input goes the error's
    message, in the reader's language: `fields` holds the API's English problem codes."""
    return {name: err.message for name in (err.fields or {})}
