"""supervision: derived update gaps and daily counts, name index, rectification, reports, notifications

Revision ID: 7d3e5a91c2b4
Revises: c4993c0ba98f
Create Date: 2026-11-23 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d3e5a91c2b4'
down_revision = 'c4993c0ba98f'
branch_labels = ('supervision',)
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_post_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('followers', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('reads', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('stats_on', sa.Date(), nullable=True))

    op.create_table('supervision_gaps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('start_day', sa.Date(), nullable=False),
        sa.Column('end_day', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('supervision_gaps', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_gaps_account_id', ['account_id'], unique=False)
        batch_op.create_index('ix_supervision_gaps_end_start', ['end_day', 'start_day'],
                              unique=False)

    op.create_table('supervision_unit_days',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('posts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
        sa.PrimaryKeyConstraint('unit_id', 'day')
    )
    with op.batch_alter_table('supervision_unit_days', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_unit_days_day', ['day'], unique=False)

    op.create_table('supervision_name_keys',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
        sa.PrimaryKeyConstraint('account_id')
    )
    with op.batch_alter_table('supervision_name_keys', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_name_keys_platform_key', ['platform', 'key'],
                              unique=False)

    op.create_table('supervision_name_pairs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('low_id', sa.Integer(), nullable=False),
        sa.Column('high_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['low_id'], ['accounts.id'], ),
        sa.ForeignKeyConstraint(['high_id'], ['accounts.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('low_id', 'high_id')
    )
    with op.batch_alter_table('supervision_name_pairs', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_name_pairs_low_id', ['low_id'], unique=False)
        batch_op.create_index('ix_supervision_name_pairs_high_id', ['high_id'], unique=False)

    op.create_table('rectifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('finding', sa.Text(), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('provisional', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('answered_on', sa.Date(), nullable=True),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.Column('closed_on', sa.Date(), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
        sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.create_index('ix_rectifications_unit_id', ['unit_id'], unique=False)
        batch_op.create_index('ix_rectifications_account_id', ['account_id'], unique=False)
        batch_op.create_index('ix_rectifications_deadline', ['deadline'], unique=False)
        batch_op.create_index('ix_rectifications_status', ['status'], unique=False)

    op.create_table('supervision_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('quarter', sa.Integer(), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('xlsx', sa.LargeBinary(), nullable=False),
        sa.Column('csv', sa.LargeBinary(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id')
    )

    op.create_table('notifications',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'key')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_id', ['user_id'], unique=False)

    op.create_table('notification_addresses',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('user_id')
    )
    _backfill()


def _backfill():
    """Derive the update gaps and counts of posts recorded before this migration."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM posts")).scalar() == 0:
        return
    from collections import defaultdict
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    days = defaultdict(set)
    units = dict(bind.execute(sa.text("SELECT id, unit_id FROM accounts")).all())
    per_unit = defaultdict(int)
    for account_id, at in bind.execute(sa.text("SELECT account_id, published_at FROM posts")):
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        day = at.astimezone(shanghai).date()
        days[account_id].add(day)
        per_unit[(units[account_id], day)] += 1
    gaps, firsts = [], []
    for account_id, found in days.items():
        ordered = sorted(found)
        for a, b in zip(ordered, ordered[1:]):
            if (b - a).days >= 8:
                gaps.append({"a": account_id, "s": a, "e": b})
        gaps.append({"a": account_id, "s": ordered[-1], "e": None})
        firsts.append({"a": account_id, "f": ordered[0]})
    bind.execute(sa.text("INSERT INTO supervision_gaps (account_id, start_day, end_day) "
                         "VALUES (:a, :s, :e)"), gaps)
    bind.execute(sa.text("UPDATE accounts SET first_post_on = :f WHERE id = :a"), firsts)
    bind.execute(sa.text("INSERT INTO supervision_unit_days (unit_id, day, posts) "
                         "VALUES (:u, :d, :n)"),
                 [{"u": u, "d": d, "n": n} for (u, d), n in per_unit.items()])


def downgrade():
    op.drop_table('notification_addresses')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_id')
    op.drop_table('notifications')
    op.drop_table('supervision_reports')
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.drop_index('ix_rectifications_status')
        batch_op.drop_index('ix_rectifications_deadline')
        batch_op.drop_index('ix_rectifications_account_id')
        batch_op.drop_index('ix_rectifications_unit_id')
    op.drop_table('rectifications')
    op.drop_table('supervision_name_pairs')
    op.drop_table('supervision_name_keys')
    op.drop_table('supervision_unit_days')
    op.drop_table('supervision_gaps')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('stats_on')
        batch_op.drop_column('reads')
        batch_op.drop_column('followers')
        batch_op.drop_column('first_post_on')
