"""Lists of thousands of rows: text search (pg_trgm), natural order, sorting by a column the
list allows, for the pages and the API alike.

`natural_key(text)` is an IMMUTABLE SQL function (migration e1a5c7d9b302) that pads each run of
digits to ten, so "第9" sorts before "第99"; a table sorted by name keeps it in a stored
generated column (`natural_sort_column`) indexed with the id, which serves ORDER BY … LIMIT.
A search is `ILIKE '%q%'`, which the pg_trgm GIN indexes serve.
"""
from dataclasses import dataclass

from flask import request
from sqlalchemy import Computed, Index, Text, func, or_
from sqlalchemy.orm import mapped_column

MAX_QUERY = 100


def trigram_index(name: str, column: str) -> Index:
    """A pg_trgm GIN index on one column: `ILIKE '%q%'` searches use it."""
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


def natural_sort_column():
    """`name_sort`: natural_key(name), stored by PostgreSQL on every write (never by us)."""
    return mapped_column(Text, Computed("natural_key(name)", persisted=True))


def natural_index(name: str) -> Index:
    """An index on (name_sort, id): a list sorted in natural order pages by it."""
    return Index(name, "name_sort", "id")


def natural_key(column):
    """natural_key(x) for a value that has no stored sort column (one row, a test)."""
    return func.natural_key(column)


def like_pattern(q: str) -> str:
    """'%q%' with the LIKE wildcards in q taken literally."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(query, q: str | None, *columns):
    """Rows where any of `columns` contains q (case-insensitive); q blank: every row."""
    q = (q or "").strip()[:MAX_QUERY]
    if not q:
        return query
    pattern = like_pattern(q)
    return query.where(or_(*(column.ilike(pattern, escape="\\") for column in columns)))


@dataclass(frozen=True)
class Sort:
    key: str          # the ?sort= value
    descending: bool

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key


def requested_sort(allowed: dict, default: str) -> Sort:
    """?sort=name or ?sort=-name (descending); anything not in `allowed` is the default."""
    raw = (request.args.get("sort") or "").strip()
    key = raw.lstrip("-")
    if key not in allowed:
        raw, key = default, default.lstrip("-")
    return Sort(key=key, descending=raw.startswith("-"))


def sorted_by(query, sort: Sort, allowed: dict, tiebreak):
    """ORDER BY the allowed expression(s) for sort.key, then `tiebreak` (an id), same way."""
    expressions = allowed[sort.key]
    if not isinstance(expressions, (list, tuple)):
        expressions = [expressions]
    order = [e.desc() if sort.descending else e.asc() for e in [*expressions, tiebreak]]
    return query.order_by(None).order_by(*order)
