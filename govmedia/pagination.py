"""One pagination helper for every list page: the page asked for, the rows on it, the count."""
import math
from dataclasses import dataclass

from flask import request
from sqlalchemy import func, select

from .extensions import db
from .types import ascii_int

PER_PAGE = 50
MAX_PAGE = 10**6


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def nav(self) -> dict:
        """What the `pager` macro (templates/_macros.html) needs."""
        return {"page": self.page, "pages": self.pages, "total": self.total}


def requested_page(arg: str = "page") -> int:
    """?page=N (or another argument, for a page's second list); anything that is not a page
    number is the first page (a page never 400s)."""
    return ascii_int(request.args.get(arg, "1"), MAX_PAGE) or 1


def paginate(query, *, per_page: int = PER_PAGE, window: tuple[int, int] | None = None,
             count=None, rows: bool = False) -> Page:
    """Run `query` for the requested page (?page=N) and count all its rows.

    `window`: (limit, offset) as the API reads them (govmedia.api.page_params) instead of a
    page number; `count`: a cheaper counting statement when the query's own count would be
    slow; `rows`: whole result rows (a query of several columns) instead of objects.
    """
    if window is None:
        page = requested_page()
        limit, offset = per_page, (page - 1) * per_page
    else:
        limit, offset = window
        page = offset // limit + 1
    if count is None:
        count = select(func.count()).select_from(query.order_by(None).subquery())
    total = db.session.scalar(count) or 0
    window_query = query.limit(limit).offset(offset)
    result = db.session.execute(window_query) if rows else db.session.scalars(window_query).unique()
    return Page(items=list(result.all()), total=total, page=page, per_page=limit)
