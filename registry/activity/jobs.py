"""The sync's jobs: the periodic pass hands the due accounts to jobs of a batch each."""
from flask import current_app

from govmedia.extensions import db
from govmedia.queue import enqueue, job

from .sync import due_accounts, sync_accounts


@job("default")
def sync_activity() -> int:
    """Periodic (once per slot across workers): enqueue the due accounts in batches; returns
    the number of batches."""
    ids = due_accounts()
    db.session.rollback()  # nothing written: the batches are sent at once
    batch = max(1, int(current_app.config["ACTIVITY_SYNC_BATCH"]))
    chunks = [ids[start:start + batch] for start in range(0, len(ids), batch)]
    for chunk in chunks:
        enqueue(sync_batch, chunk)
    return len(chunks)


@job("default")
def sync_batch(account_ids: list[int]) -> dict:
    return dict(sync_accounts(account_ids))
