"""Request bodies shared by every package: the strict base model and the core's users and tokens."""
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from .models import ROLES
from .types import DATE_MAX, DATE_MIN, DB_INT_MAX, UNPRINTABLE, date_in_range

Role = Literal[ROLES]  # type: ignore[valid-type]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None
# Passwords are taken exactly as typed: never strip them.
Password = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


def opt_text(max_length: int):
    """Optional text no longer than its column (PostgreSQL refuses longer values: a 500)."""
    return Annotated[str, StringConstraints(strip_whitespace=True, max_length=max_length)] | None


def _storable(value):
    if isinstance(value, int) and not -DB_INT_MAX <= value <= DB_INT_MAX:
        raise ValueError("number too large")
    if isinstance(value, str) and UNPRINTABLE.search(value):
        raise ValueError("contains a control character")
    if isinstance(value, date) and not date_in_range(value):
        raise ValueError(f"must be from {DATE_MIN} to {DATE_MAX}")
    for item in value if isinstance(value, list) else ():
        _storable(item)
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Ids or counts beyond the database's integers, text with control characters (U+0000
    # cannot be stored in PostgreSQL, others break the Atom feed and XLSX reports) and dates
    # far outside the calendar are invalid input (400), not a failure further on (500).
    _only_storable_values = field_validator("*")(_storable)


class TokenIn(Strict):
    username: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    password: Password


class UserIn(Strict):
    username: Annotated[str, StringConstraints(min_length=2, max_length=80,
                                               pattern=r"^[A-Za-z0-9_.@-]+$")]
    password: Password
    roles: list[Role] = Field(min_length=1)
    unit_id: int | None = None
    display_name: opt_text(120) = None


class UserPatch(Strict):
    roles: list[Role] | None = Field(default=None, min_length=1)
    unit_id: int | None = None
    active: bool | None = None
    password: Password | None = None
    display_name: opt_text(120) = None


class PasswordChange(Strict):
    current_password: Password
    new_password: Password


class NotificationSettings(Strict):
    off: list[Annotated[str, StringConstraints(max_length=40)]] = Field(default_factory=list,
                                                                        max_length=50)
