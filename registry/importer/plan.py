"""Checking an inventory against the registry as it stands: units, permissions, the rules."""
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from govmedia.auth import visible_unit_ids
from govmedia.extensions import db

from ..checks import any_of, handle_clashes, one_per_platform_clashes, unit_name_clashes
from ..models import Unit
from .rows import Errors, Row


@dataclass
class Plan:
    rows: list = field(default_factory=list)        # (row, unit key)
    new_units: list = field(default_factory=list)   # {"name", "code", "parent_id"}


def plan_import(rows: list[Row], actor, create_units: bool, errors: Errors) -> Plan:
    """Each row's unit (found, or to be created), the actor's permission for it, then the
    registry's rules (registry/checks.py) against the file and the database."""
    names = {r.unit_name for r in rows if r.unit_name}
    codes = {r.unit_code for r in rows if r.unit_code}
    units_by_name: dict[str, list] = {}
    units_by_code: dict[str, tuple] = {}
    if names:
        for unit in db.session.execute(select(Unit.id, Unit.name, Unit.code)
                                       .where(any_of(Unit.name, names))):
            units_by_name.setdefault(unit.name, []).append(unit)
    if codes:
        for unit in db.session.execute(select(Unit.id, Unit.name, Unit.code)
                                       .where(any_of(Unit.code, codes))):
            units_by_code[unit.code] = unit
    allowed = visible_unit_ids(actor)
    own_unit = getattr(actor, "unit_id", None)
    # A unit the import creates goes under the actor's own unit unless it reaches every unit.
    new_parent = None if allowed is None else own_unit
    unit_names = {}
    plan = Plan()
    pending_by_name: dict[str, int] = {}
    pending_by_code: dict[str, int] = {}

    def unit_column(row):
        return "unit_code" if row.unit_code and "unit_code" in errors.table.columns else "unit_name"

    def new_unit(row, name, code):
        if not create_units:
            # The option named by the very words of the import page's checkbox.
            option = _("Create units that do not exist yet")
            message = (_("No unit has the unified social credit code %(code)s (add the unit "
                         "under units first, or tick “%(option)s”)", code=code,
                         option=option) if code else
                       _("No unit is named “%(name)s” (add the unit under units first, or tick "
                         "“%(option)s”)", name=name, option=option))
            errors.add(row, unit_column(row), message, code="unit_not_found")
            return None
        if not name:
            errors.add(row, "unit_name", _("No unit has the unified social credit code "
                                           "%(code)s; a unit created by the import needs its "
                                           "name", code=code), code="required")
            return None
        plan.new_units.append({"name": name, "code": code, "parent_id": new_parent})
        index = len(plan.new_units) - 1
        pending_by_name.setdefault(name, index)
        if code:
            pending_by_code[code] = index
        return ("new", index)

    def resolve(row):
        name, code = row.unit_name, row.unit_code
        if not name and not code:
            if "unit_name" in row.bad or "unit_code" in row.bad or not own_unit:
                return None
            return ("db", own_unit)
        if code:
            unit = units_by_code.get(code)
            if unit is not None:
                if name and name != unit.name:
                    errors.add(row, "unit_name", _("The unified social credit code %(code)s is "
                                                   "“%(unit)s”'s, not this row's sponsor unit "
                                                   "“%(name)s”", code=code, unit=unit.name,
                                                   name=name), code="unit_mismatch")
                    return None
                unit_names[unit.id] = unit.name
                return ("db", unit.id)
            if code in pending_by_code:
                index = pending_by_code[code]
                if name and name != plan.new_units[index]["name"]:
                    errors.add(row, "unit_name", _("In this file the unified social credit "
                                                   "code %(code)s is already “%(unit)s”'s",
                                                   code=code,
                                                   unit=plan.new_units[index]["name"]),
                               code="unit_mismatch")
                    return None
                return ("new", index)
        if "unit_code" in row.bad:
            return None
        if name:
            found = units_by_name.get(name, [])
            if len(found) > 1:
                errors.add(row, "unit_name", _("%(count)s units are named “%(name)s”: fill in "
                                               "the unified social credit code to tell them "
                                               "apart", count=len(found), name=name),
                           code="unit_ambiguous")
                return None
            if found:
                unit = found[0]
                if code and unit.code and unit.code != code:
                    errors.add(row, "unit_code", _("The unit “%(name)s” is registered with the "
                                                   "unified social credit code %(registered)s, "
                                                   "not this row's %(code)s", name=name,
                                                   registered=unit.code, code=code),
                               code="unit_mismatch")
                    return None
                unit_names[unit.id] = unit.name
                return ("db", unit.id)
            if name in pending_by_name:
                index = pending_by_name[name]
                pending = plan.new_units[index]
                if code and pending["code"] and pending["code"] != code:
                    errors.add(row, "unit_code", _("In this file the unit “%(name)s” already "
                                                   "has the unified social credit code "
                                                   "%(registered)s, not this row's %(code)s",
                                                   name=name, registered=pending["code"],
                                                   code=code),
                               code="unit_mismatch")
                    return None
                if code:
                    pending["code"] = code
                    pending_by_code[code] = index
                return ("new", index)
        return new_unit(row, name, code)

    keys = {}
    for row in rows:
        if "row" in row.bad:
            continue
        key = resolve(row)
        if key is None:
            continue
        if key[0] == "db" and allowed is not None and key[1] not in allowed:
            errors.add(row, unit_column(row), _("Only your own unit's accounts can be "
                                                "imported; this row's sponsor unit is "
                                                "“%(unit)s”",
                                                unit=unit_names.get(key[1], row.unit_name)),
                       code="forbidden")
            continue
        keys[row.number] = key

    _check_new_unit_names(plan, rows, keys, errors)
    _check_rules(rows, keys, errors)
    plan.rows = [(row, keys[row.number]) for row in rows if row.number in keys]
    return plan




def _check_new_unit_names(plan: Plan, rows: list[Row], keys: dict, errors: Errors) -> None:
    """A unit the import would create may not repeat a name under the same parent."""
    clashes = unit_name_clashes((index, unit["parent_id"], unit["name"])
                                for index, unit in enumerate(plan.new_units))
    for row in rows:
        key = keys.get(row.number)
        if key is None or key[0] != "new" or key[1] not in clashes:
            continue
        errors.add(row, "unit_name", _("A unit named “%(name)s” already exists under the same "
                                       "parent unit", name=plan.new_units[key[1]]["name"]),
                   code="unit_name_taken")
        del keys[row.number]


def _check_rules(rows: list[Row], keys: dict, errors: Errors) -> None:
    """handle_taken and one_account_per_platform, through the services' own set-based checks:
    against the registry, and between the rows of the file."""
    by_number = {row.number: row for row in rows}
    clashes = handle_clashes((row.number, row.platform, row.handle) for row in rows
                             if row.platform and row.handle and "handle" not in row.bad)
    for number, clash in clashes.items():
        row = by_number[number]
        if clash.account_id is not None:
            errors.add(row, "handle", _("The account ID “%(handle)s” on this platform is "
                                        "already registered (account %(account)s)",
                                        handle=row.handle, account=clash.account_id),
                       code="handle_taken")
        else:
            errors.add(row, "handle", _("The account ID “%(handle)s” repeats row %(row)s of "
                                        "this file (an account ID is registered once per "
                                        "platform)", handle=row.handle, row=clash.earlier),
                       code="handle_taken")
    # A unit to be created stands for itself by its key; an existing one by its id.
    clashes = one_per_platform_clashes(
        (row.number, key[1] if key[0] == "db" else key, row.platform) for row in rows
        if (key := keys.get(row.number)) is not None and row.platform)
    for number, clash in clashes.items():
        if clash.account_id is not None:
            message = _("The unit already has an account on this platform (account "
                        "%(account)s); a unit opens one account per platform in principle "
                        "(a supervisor records exceptions)", account=clash.account_id)
        else:
            message = _("Row %(row)s of this file already registers an account on this platform "
                        "for the same unit; a unit opens one account per platform in principle "
                        "(a supervisor records exceptions)", row=clash.earlier)
        errors.add(by_number[number], "platform", message, code="one_account_per_platform")
