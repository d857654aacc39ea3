"""Scheduled work of the notices package (each job runs in its own app context and commits)."""
from govmedia.extensions import db
from govmedia.queue import job

from . import services


@job()
def complete_deregistrations() -> dict:
    """Daily: deregistering accounts whose notice has ended become deregistered."""
    try:
        result = services.complete_deregistrations()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result
