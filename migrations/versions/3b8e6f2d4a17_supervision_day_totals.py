"""supervision: figures over all units per day (rule 5 band entry/exit days, posts)

Revision ID: 3b8e6f2d4a17
Revises: fb17d40ccd55
Create Date: 2026-11-22 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "3b8e6f2d4a17"
down_revision = "fb17d40ccd55"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "supervision_day_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("dormant", sa.Integer(), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_first_post_on", ["first_post_on"], unique=False)
    # Existing data: the figures are computed from the update gaps and the daily unit counts
    # (`flask supervision rebuild` does the same); a fresh database has nothing to compute.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM accounts LIMIT 1")).first() is not None:
        from registry.supervision.figures import rebuild_day_totals_with

        rebuild_day_totals_with(bind)


def downgrade():
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_first_post_on")
    op.drop_table("supervision_day_totals")
