"""The dashboard one level at a time (issue 16): a node of the unit tree and its children,
each child with its whole subtree's figures rolled up, so a supervisor drills down one level
at a time from the top of its reach."""
from datetime import date

from sqlalchemy import select

from govmedia.auth import reaches_all_units, require_unit_access
from govmedia.extensions import db

from ..models import Unit
from .dashboard import unit_rows, with_rates
from .pending import apply_pending

SUMMED = ("dormant", "warning", "overdue_rectifications")


def top_of_reach(actor) -> int | None:
    """Where the actor's drill-down starts: its own unit, or the top of the tree (None)."""
    return None if reaches_all_units(actor) else actor.unit_id


def branches(node: int | None) -> dict[int, int]:
    """Every unit below `node` (None: every unit) -> the child of `node` whose subtree holds
    it, children included: one recursive CTE."""
    units = Unit.__table__
    at_top = units.c.parent_id.is_(None) if node is None else units.c.parent_id == node
    tree = select(units.c.id, units.c.id.label("child")).where(at_top).cte(
        "branch", recursive=True)
    above = tree.alias("above")
    tree = tree.union(select(units.c.id, above.c.child)
                      .join(above, units.c.parent_id == above.c.id))
    return dict(db.session.execute(select(tree.c.id, tree.c.child)).all())


def _add(total: dict, row: dict) -> None:
    for status, n in row["accounts"].items():
        total["accounts"][status] += n
    for status, n in row["filings"].items():
        total["filings"][status] += n
    for key in SUMMED:
        total[key] += row[key]
    total["units"] += 1


def _blank(like: dict, unit_id: int | None, name: str) -> dict:
    return {"unit_id": unit_id, "unit_name": name, "units": 0,
            "accounts": dict.fromkeys(like["accounts"], 0),
            "filings": dict.fromkeys(like["filings"], 0), **dict.fromkeys(SUMMED, 0)}


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


def level(actor, as_of: date, node: int | None = None) -> dict:
    """`node` (default: the top of the actor's reach; 403 outside it): its own accounts' row
    (`own`), one row per child with the child's subtree rolled up (`children`, by name), and
    their sum over the node's whole subtree (`total`)."""
    apply_pending()
    top = top_of_reach(actor)
    node = top if node is None else node
    if node is not None:
        require_unit_access(actor, node)
    below = branches(node)
    rows = unit_rows(list(below) + ([node] if node is not None else []), as_of)
    if not rows:
        return {"node": node, "path": path_to(node, top), "own": None, "children": [],
                "total": None}
    like = next(iter(rows.values()))
    children = {child: _blank(like, child, rows[child]["unit_name"])
                for child in set(below.values())}
    for unit_id, child in below.items():
        _add(children[child], rows[unit_id])
    own = rows.get(node)
    total = _blank(like, node, own["unit_name"] if own else "")
    for unit_id in rows:
        _add(total, rows[unit_id])
    return {"node": node, "path": path_to(node, top), "own": own,
            "children": [with_rates(children[c]) for c in
                         sorted(children, key=lambda c: (children[c]["unit_name"], c))],
            "total": with_rates(total)}
