"""Real activity (issue 14): the periodic sync of what accounts publish on their platforms,
and staff's evidence of updates on platforms without an API."""
from . import models  # noqa: F401  (tables known to migrations and create_all)


def init_app(app) -> None:
    """Nothing yet beyond the tables."""
