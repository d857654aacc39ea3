"""RQ jobs of the publisher: send one delivery, withdraw one, sweep for work a job lost.

Each job carries only a delivery id and runs in an app context of its own, so no database
session outlives the job (the worker's command keeps one app context open for its life).
"""
from flask import current_app


def deliver(delivery_id: int) -> str:
    """Send one delivery to its platform (claims the row first; see publisher/delivery.py)."""
    from . import delivery

    with current_app.app_context():
        return delivery.send(int(delivery_id))


def withdraw(delivery_id: int) -> str:
    """Remove one delivery's post from its platform (撤稿)."""
    from . import delivery

    with current_app.app_context():
        return delivery.withdraw(int(delivery_id))


def sweep() -> dict:
    """Periodic: enqueue deliveries left queued, due for retry or scheduled, or interrupted."""
    from . import delivery

    with current_app.app_context():
        result = delivery.sweep()
    return {"deliver": len(result["deliver"]), "withdraw": len(result["withdraw"]),
            "enqueued": result["enqueued"], "audited": result["audited"]}
