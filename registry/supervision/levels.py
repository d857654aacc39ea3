"""The dashboard one level at a time (issue 16): a node of the unit tree and its children,
each child with its whole subtree's figures rolled up, so a supervisor drills down one level
at a time from the top of its reach."""
from datetime import date

from sqlalchemy import ARRAY, Integer, case, cast, func, select

from govmedia.auth import in_units, reaches_all_units, require_unit_access
from govmedia.extensions import db

from ..models import FILING_STATUSES, STATUSES, Account, Filing, Unit
from .dashboard import filing_status_case, overdue_rectifications, with_rates
from .dormancy import band_subquery
from .figure_cache import cached_figure
from .pending import apply_pending

SUMMED = ("dormant", "warning", "overdue_rectifications")


def top_of_reach(actor) -> int | None:
    """Where the actor's drill-down starts: its own unit, or the top of the tree (None)."""
    return None if reaches_all_units(actor) else actor.unit_id


def branches(node: int | None) -> dict[int, int]:
    """Every unit below `node` (None: every unit) -> the child of `node` whose subtree holds
    it, children included; `node` itself -> `node`. One recursive CTE."""
    units = Unit.__table__
    at_top = units.c.parent_id.is_(None) if node is None else units.c.parent_id == node
    tree = select(units.c.id, units.c.id.label("child")).where(at_top).cte(
        "branch", recursive=True)
    above = tree.alias("above")
    tree = tree.union(select(units.c.id, above.c.child)
                      .join(above, units.c.parent_id == above.c.id))
    found = dict(db.session.execute(select(tree.c.id, tree.c.child)).all())
    if node is not None:
        found[node] = node
    return found


def _rolled_up(node: int | None, as_of: date) -> dict[int, dict]:
    """{child (or node): its subtree's figures summed} in grouped queries: the counts are
    summed by the database, not unit by unit in Python (a province has thousands of units)."""
    below = branches(node)
    names = dict(db.session.execute(select(Unit.id, Unit.name).where(
        in_units(Unit.id, set(below.values())))).all())   # one array, not thousands of IN values
    # A node that is no unit (a stale link, a typed id) has nothing below it.
    below = {unit: child for unit, child in below.items() if child in names}
    if not below:
        return {}
    # The unit -> child mapping as a table of two arrays; below the top of the tree each
    # figure is also filtered on its units, so it is read through the unit index.
    group = func.unnest(cast(list(below), ARRAY(Integer)),
                        cast(list(below.values()), ARRAY(Integer))).table_valued(
        "id", "child").render_derived(name="grouped")
    units = None if node is None else list(below)
    rows = {child: _blank(child, name) for child, name in names.items()}
    for child in below.values():
        rows[child]["units"] += 1
    for child, status, n in db.session.execute(
            select(group.c.child, Account.status, func.count())
            .join(group, group.c.id == Account.unit_id).where(in_units(Account.unit_id, units))
            .group_by(group.c.child, Account.status)):
        rows[child]["accounts"][status] = n
    filing_status = filing_status_case(as_of)
    for child, status, n in db.session.execute(
            select(group.c.child, filing_status, func.count())
            .join(group, group.c.id == Filing.unit_id).where(in_units(Filing.unit_id, units))
            .group_by(group.c.child, filing_status)):
        rows[child]["filings"][status] = n
    band = band_subquery(as_of, units)
    for child, dormant, banded in db.session.execute(
            select(group.c.child, func.sum(case((band.c.dormant, 1), else_=0)), func.count())
            .join(group, group.c.id == band.c.unit_id).group_by(group.c.child)):
        rows[child]["dormant"], rows[child]["warning"] = int(dormant), banded - int(dormant)
    for unit, n in overdue_rectifications(as_of, units).items():
        if unit in below:
            rows[below[unit]]["overdue_rectifications"] += n
    return rows


def _blank(unit_id: int | None, name: str) -> dict:
    return {"unit_id": unit_id, "unit_name": name, "units": 0,
            "accounts": dict.fromkeys(STATUSES, 0), "filings": dict.fromkeys(FILING_STATUSES, 0),
            **dict.fromkeys(SUMMED, 0)}


def _total(rows, node: int | None, name: str) -> dict:
    total = _blank(node, name)
    for row in rows:
        for status, n in row["accounts"].items():
            total["accounts"][status] += n
        for status, n in row["filings"].items():
            total["filings"][status] += n
        for key in (*SUMMED, "units"):
            total[key] += row[key]
    return total


def path_to(node: int | None, top: int | None) -> list[dict]:
    """The units from the top of the actor's reach down to `node`, for going back up."""
    path = []
    unit = db.session.get(Unit, node) if node is not None else None
    while unit is not None:
        path.append({"unit_id": unit.id, "unit_name": unit.name})
        if unit.id == top:
            break
        unit = unit.parent
    return path[::-1]


@cached_figure
def level(actor, as_of: date, node: int | None = None, *, limit: int | None = None,
          offset: int = 0) -> dict:
    """`node` (default: the top of the actor's reach; 403 outside it): its own accounts' row
    (`own`), one row per child with the child's subtree rolled up (`children`, by name; only
    `limit` of them from `offset` when given: a flat registry's top has thousands), how many
    children there are (`children_total`), and their sum over the node's whole subtree
    (`total`)."""
    apply_pending()
    top = top_of_reach(actor)
    node = top if node is None else node
    if node is not None:
        require_unit_access(actor, node)
    rows = _rolled_up(node, as_of)
    if not rows:
        return {"node": node, "path": path_to(node, top), "own": None, "children": [],
                "children_total": 0, "total": None}
    own = rows.pop(node, None)
    if own is not None:
        own["units"] = 1
    children = sorted(rows.values(), key=lambda r: (r["unit_name"], r["unit_id"]))
    total = _total([*children, *([own] if own else [])], node, own["unit_name"] if own else "")
    shown = children[offset:] if limit is None else children[offset:offset + limit]
    return {"node": node, "path": path_to(node, top),
            "own": with_rates(own) if own else None,
            "children": [with_rates(row) for row in shown], "children_total": len(children),
            "total": with_rates(total)}
