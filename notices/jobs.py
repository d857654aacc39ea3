"""Scheduled work of the notices package (each job runs in its own app context and commits)."""
from govmedia.extensions import db


def complete_deregistrations() -> dict:
    """Daily: deregistering accounts whose notice has ended become deregistered."""
    from .services import complete_deregistrations as run

    try:
        result = run()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result
