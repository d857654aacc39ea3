"""Checking an inventory against the registry as it stands: units, permissions, the rules."""
from dataclasses import dataclass, field

from sqlalchemy import select

from govmedia.auth import visible_unit_ids
from govmedia.extensions import db

from ..checks import chunks, handle_clashes, one_per_platform_clashes
from ..models import Unit
from .rows import Errors, Row


@dataclass
class Plan:
    rows: list = field(default_factory=list)        # (row, unit key)
    new_units: list = field(default_factory=list)   # {"name", "code"}


def plan_import(rows: list[Row], actor, create_units: bool, errors: Errors) -> Plan:
    """Each row's unit (found, or to be created), the actor's permission for it, then the
    registry's rules (registry/checks.py) against the file and the database."""
    names = {r.unit_name for r in rows if r.unit_name}
    codes = {r.unit_code for r in rows if r.unit_code}
    units_by_name: dict[str, list] = {}
    units_by_code: dict[str, tuple] = {}
    for chunk in chunks(names):
        for unit in db.session.execute(select(Unit.id, Unit.name, Unit.code)
                                       .where(Unit.name.in_(chunk))):
            units_by_name.setdefault(unit.name, []).append(unit)
    for chunk in chunks(codes):
        for unit in db.session.execute(select(Unit.id, Unit.name, Unit.code)
                                       .where(Unit.code.in_(chunk))):
            units_by_code[unit.code] = unit
    allowed = visible_unit_ids(actor)
    own_unit = getattr(actor, "unit_id", None)
    unit_names = {}
    plan = Plan()
    pending_by_name: dict[str, int] = {}
    pending_by_code: dict[str, int] = {}
    not_found_hint = ("（请先在单位管理中添加该单位" +
                      ("，或勾选“自动创建不存在的单位”）" if not create_units else "）"))

    def unit_column(row):
        return "unit_code" if row.unit_code and "unit_code" in errors.table.columns else "unit_name"

    def new_unit(row, name, code):
        if not create_units:
            what = f"统一社会信用代码为 {code} 的单位" if code else f"名为“{name}”的单位"
            errors.add(row, unit_column(row), f"未找到{what}{not_found_hint}", code="unit_not_found")
            return None
        if not name:
            errors.add(row, "unit_name", f"系统中没有统一社会信用代码为 {code} 的单位；自动创建单位须填写主办单位名称",
                       code="required")
            return None
        plan.new_units.append({"name": name, "code": code})
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
                    errors.add(row, "unit_name", f"统一社会信用代码 {code} 对应的单位是“{unit.name}”，"
                                                 f"与本行的主办单位“{name}”不一致", code="unit_mismatch")
                    return None
                unit_names[unit.id] = unit.name
                return ("db", unit.id)
            if code in pending_by_code:
                index = pending_by_code[code]
                if name and name != plan.new_units[index]["name"]:
                    errors.add(row, "unit_name", f"本文件中统一社会信用代码 {code} 已对应单位"
                                                 f"“{plan.new_units[index]['name']}”",
                               code="unit_mismatch")
                    return None
                return ("new", index)
        if "unit_code" in row.bad:
            return None
        if name:
            found = units_by_name.get(name, [])
            if len(found) > 1:
                errors.add(row, "unit_name", f"系统中有 {len(found)} 个名为“{name}”的单位，"
                                             "请填写统一社会信用代码以区分", code="unit_ambiguous")
                return None
            if found:
                unit = found[0]
                if code and unit.code and unit.code != code:
                    errors.add(row, "unit_code", f"单位“{name}”登记的统一社会信用代码是 {unit.code}，"
                                                 f"与本行的 {code} 不一致", code="unit_mismatch")
                    return None
                unit_names[unit.id] = unit.name
                return ("db", unit.id)
            if name in pending_by_name:
                index = pending_by_name[name]
                pending = plan.new_units[index]
                if code and pending["code"] and pending["code"] != code:
                    errors.add(row, "unit_code", f"本文件中单位“{name}”已填写统一社会信用代码 "
                                                 f"{pending['code']}，与本行的 {code} 不一致",
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
            errors.add(row, unit_column(row), f"只能导入本单位的账号，本行主办单位为"
                                              f"“{unit_names.get(key[1], row.unit_name)}”",
                       code="forbidden")
            continue
        keys[row.number] = key

    _check_rules(rows, keys, errors)
    plan.rows = [(row, keys[row.number]) for row in rows if row.number in keys]
    return plan




def _check_rules(rows: list[Row], keys: dict, errors: Errors) -> None:
    """handle_taken and one_account_per_platform, through the services' own set-based checks:
    against the registry, and between the rows of the file."""
    by_number = {row.number: row for row in rows}
    clashes = handle_clashes((row.number, row.platform, row.handle) for row in rows
                             if row.platform and row.handle and "handle" not in row.bad)
    for number, clash in clashes.items():
        row = by_number[number]
        if clash.account_id is not None:
            errors.add(row, "handle", f"该平台账号ID“{row.handle}”已登记（账号编号 "
                                      f"{clash.account_id}）", code="handle_taken")
        else:
            errors.add(row, "handle", f"账号ID“{row.handle}”与本文件第 {clash.earlier} "
                                      "行重复（同一平台的账号ID只能登记一次）", code="handle_taken")
    # A unit to be created stands for itself by its key; an existing one by its id.
    clashes = one_per_platform_clashes(
        (row.number, key[1] if key[0] == "db" else key, row.platform) for row in rows
        if (key := keys.get(row.number)) is not None and row.platform)
    for number, clash in clashes.items():
        if clash.account_id is not None:
            message = (f"该单位在此平台已有账号（编号 {clash.account_id}），一个单位在同一平台"
                       "原则上只能开设一个账号（例外须由监管人员登记）")
        else:
            message = (f"本文件第 {clash.earlier} 行已为同一单位登记了该平台的账号，"
                       "一个单位在同一平台原则上只能开设一个账号（例外须由监管人员登记）")
        errors.add(by_number[number], "platform", message, code="one_account_per_platform")
