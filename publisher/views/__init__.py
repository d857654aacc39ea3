"""Publisher pages: the article editor, previews, the reviews, people's queues, the check lists.

One blueprint ("publisher"), its routes in a module per page group. Thin views: forms are
validated with the API's pydantic models (publisher/schemas.py) and every decision is made
in the publisher's services; refusals are shown on the page.
"""
# (imported for their routes)
from . import articles, check_lists, deliveries, douyin, live, reviews, videos  # noqa: F401
from .common import bp

__all__ = ["bp"]
