"""Registry pages: thin views that parse forms, call the registry's services and render.

One blueprint ("registry"), its routes in a module per page group.
"""
from . import accounts, admin, filings, holidays, units  # noqa: F401  (their routes)
from .common import bp

__all__ = ["bp"]
