"""accounts: the account_changes outbox that supervision's derived figures follow

Revision ID: d2b6e8f4a1c3
Revises: c5e7a9d3f210
Create Date: 2026-11-23 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "d2b6e8f4a1c3"
down_revision = "c5e7a9d3f210"
branch_labels = None
depends_on = None


def upgrade():
    # Until now session listeners applied each change in its own flush: nothing is pending.
    op.create_table(
        "account_changes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("new_account", sa.Boolean(), nullable=False),
        sa.Column("status_before", sa.String(length=20), nullable=True),
        sa.Column("reopened_on_before", sa.Date(), nullable=True),
        sa.Column("renamed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_account_changes_account_id", "account_changes", ["account_id"])


def downgrade():
    op.drop_index("ix_account_changes_account_id", table_name="account_changes")
    op.drop_table("account_changes")
