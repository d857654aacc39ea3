"""The one applier of the two outboxes: account_changes rows and posts not counted yet.

Writers only record (registry.changes, registry.posts.record_post); `apply_pending` brings
the derived figures (figures.py, names.py) up to date. The periodic job runs it and commits;
every reader of the figures runs it first, in its own transaction, so a figure is never
older than the data it is read beside.
"""
from collections import Counter

from sqlalchemy import delete, func, select, text, update

from govmedia.extensions import db

from ..models import Account, AccountChange, Post
from .figures import (account_marks, apply_marks, band_marks, count_batch, gaps_of,
                      rebuild_posts_figures, refresh_accounts, uncount_post)
from .names import refresh_name_index

# Appliers take this lock so two of them never apply the same rows.
APPLY_LOCK = 7260002
BATCH = 5000


# One indexed look at each outbox (the usual answer: no) and, when either holds anything, the
# appliers' lock, in one round trip; the rows are read by the next statements, whose snapshot
# is taken after the lock. `NOT counted`, never `counted IS false`: only the former matches
# ix_posts_uncounted's predicate, the latter scans every post.
OUTBOX_LOOK = text("""
    SELECT posts, changes, CASE WHEN posts OR changes THEN pg_advisory_xact_lock(:lock)::text END
    FROM (SELECT EXISTS (SELECT FROM posts WHERE NOT counted) AS posts,
                 EXISTS (SELECT FROM account_changes) AS changes) AS look""")


def apply_pending(batch: int = BATCH, max_batches: int | None = None) -> int:
    """Apply what both outboxes hold, in the caller's transaction, batch after batch (all of it,
    or `max_batches`); returns how many rows were applied. Nothing pending: one statement.
    New posts on days their accounts already had: one more (figures.count_batch)."""
    db.session.flush()   # rows the caller added through the ORM
    posts, changes, _locked = db.session.execute(OUTBOX_LOOK, {"lock": APPLY_LOCK}).one()
    if not (posts or changes):
        return 0
    total, done = 0, 0
    while (posts or changes) and (max_batches is None or done < max_batches):
        applied, posts, changes = _apply_batch(batch, posts, changes)
        total += applied
        done += 1
    _expire_loaded_accounts()
    return total


def rebuild_all() -> int:
    """Recompute every derived figure from scratch, set based (after a bulk load; `flask
    supervision rebuild`), consuming both outboxes. Returns the number of gap rows."""
    db.session.flush()
    db.session.execute(select(func.pg_advisory_xact_lock(APPLY_LOCK)))
    consumed = db.session.execute(delete(AccountChange).returning(
        AccountChange.account_id, AccountChange.renamed)).all()
    gaps = rebuild_posts_figures()
    renamed = {account_id for account_id, was_renamed in consumed if was_renamed}
    if renamed:
        refresh_name_index(renamed)
    _expire_loaded_accounts()
    return gaps


def _expire_loaded_accounts() -> None:
    # The figures moved under the ORM: accounts already loaded read their first post day anew.
    for loaded in list(db.session.identity_map.values()):
        if isinstance(loaded, Account):
            db.session.expire(loaded, ["first_post_on"])


def _apply_batch(limit: int, posts: bool, changes: bool) -> tuple[int, bool, bool]:
    """One batch of each outbox that may hold rows; returns (rows applied, whether each may
    hold more). The posts are counted first, set based: the counts do not depend on an
    account's state. Only the accounts with changes, or with a post on a day new to them, are
    locked and looked at one by one: their changes applied, then their gaps rebuilt."""
    counted = count_batch(limit) if posts else []
    renewed = [row.account_id for row in counted if row.new_day]
    changed = []
    if changes:
        changed = db.session.scalars(select(AccountChange.account_id).distinct()
                                     .order_by(AccountChange.account_id).limit(limit)).all()
    ids = sorted(set(renewed) | set(changed))
    applied = 0
    if ids:
        # Nobody changes these accounts while their figures move; the changes are read after
        # the locks, so each account's oldest pending row holds the state its figures were
        # built on. FOR NO KEY UPDATE, as an UPDATE takes: rows that merely reference an
        # account (a delivery, a post) are still inserted meanwhile, so no deadlock with a
        # sign-off that references its targets in its own order.
        for start in range(0, len(ids), 1000):
            db.session.execute(select(Account.id).where(Account.id.in_(ids[start:start + 1000]))
                               .order_by(Account.id).with_for_update(key_share=True))
        applied = _apply_changes(ids)
        # After the changes: the gaps then move with the account's state as it is now.
        refresh_accounts(renewed)
    n_posts = sum(row.posts for row in counted)
    return applied + n_posts, n_posts == limit, len(changed) == limit


def _apply_changes(ids: list[int]) -> int:
    """An account's band marks as they were (its oldest pending state) out, as they are now in;
    the name index for the renamed ones. The gaps are the same on both sides: they are rebuilt
    after the changes (_apply_batch)."""
    c = AccountChange
    rows = []
    for start in range(0, len(ids), 1000):
        rows += db.session.execute(
            select(c.id, c.account_id, c.new_account, c.status_before, c.reopened_on_before,
                   c.renamed).where(c.account_id.in_(ids[start:start + 1000]))).all()
    if not rows:
        return 0
    oldest, renamed = {}, set()
    for row in sorted(rows, key=lambda r: r.id):
        oldest.setdefault(row.account_id, row)
        if row.renamed:
            renamed.add(row.account_id)
    accounts = sorted(oldest)
    delta = Counter()
    for start in range(0, len(accounts), 500):
        chunk = accounts[start:start + 500]
        stretches = gaps_of(chunk)
        for account_id, first, opened in db.session.execute(
                select(Account.id, Account.first_post_on, Account.opened_on)
                .where(Account.id.in_(chunk))):
            before = oldest[account_id]
            if not before.new_account and before.status_before == "active":
                delta.subtract(band_marks(stretches.get(account_id, ()), first, opened,
                                          before.reopened_on_before))
        delta.update(account_marks(chunk))
    apply_marks(delta)
    if renamed:
        refresh_name_index(renamed)
    row_ids = [row.id for row in rows]
    for start in range(0, len(row_ids), 1000):
        db.session.execute(delete(AccountChange).where(
            AccountChange.id.in_(row_ids[start:start + 1000])))
    return len(rows)


def remove_post(post_id: int) -> int | None:
    """Delete a post and leave the derived figures as if it had never counted (a supervisor
    rejected the evidence behind it); returns its account's id, None when there is no such
    post. In the caller's transaction, under the appliers' lock, so no apply_pending counts
    it meanwhile."""
    db.session.flush()
    db.session.execute(select(func.pg_advisory_xact_lock(APPLY_LOCK)))
    row = db.session.execute(
        select(Post.account_id, Post.published_at, Post.counted, Post.origin, Account.unit_id)
        .join(Account, Account.id == Post.account_id).where(Post.id == post_id)).first()
    if row is None:
        return None
    db.session.execute(select(Account.id).where(Account.id == row.account_id)
                       .with_for_update(key_share=True))
    db.session.execute(delete(Post).where(Post.id == post_id))
    if row.counted:
        uncount_post(row)
    # The gaps and first update day are rebuilt from the posts left (counted or not: an
    # earlier rebuild may have seen this one before it was counted).
    refresh_accounts([row.account_id])
    db.session.execute(update(Account).where(Account.id == row.account_id).values(
        last_post_at=select(func.max(Post.published_at))
        .where(Post.account_id == row.account_id).scalar_subquery()))
    _expire_loaded_accounts()
    for loaded in list(db.session.identity_map.values()):
        if isinstance(loaded, Account) and loaded.id == row.account_id:
            db.session.expire(loaded, ["last_post_at"])
    return row.account_id
