"""Overdue work that packages above supervision owe (publishing tasks …), counted on the
dashboard and reminded daily: each package registers its two functions in its `init_app`,
as deadlines register with govmedia.holidays (supervision imports nothing above itself)."""
from datetime import date

from flask import current_app

_SOURCES = "supervision_outside_work"


def register_overdue_work(app, name: str, counts, reminders) -> None:
    """`counts(as_of, units) -> {unit_id: n}` (units None: all) gives the dashboard's
    `overdue_<name>` figure; `reminders(today) -> [(unit_id, key, kind, text, link)]` adds
    to the daily reminders."""
    app.extensions.setdefault(_SOURCES, []).append((name, counts, reminders))


def _sources():
    return current_app.extensions.get(_SOURCES, [])


def overdue_per_unit(as_of: date, units) -> dict[str, dict[int, int]]:
    """name -> {unit_id: overdue count} for every registered source."""
    return {name: counts(as_of, units) for name, counts, _reminders in _sources()}


def overdue_reminders(today: date) -> list[tuple]:
    return [item for _name, _counts, reminders in _sources() for item in reminders(today)]
