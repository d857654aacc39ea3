"""messages remember when their unit's repliers were told they came (issue 12): a job tells
the untold ones every minute; the messages already there count as told

Revision ID: a85f0b1c2d35
Revises: f74e9a0b1c24
Create Date: 2026-12-06 05:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "a85f0b1c2d35"
down_revision = "f74e9a0b1c24"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("messages", sa.Column("told_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE messages SET told_at = received_at")
    op.create_index("ix_messages_untold", "messages", ["id"],
                    postgresql_where=sa.text("told_at IS NULL"))


def downgrade():
    op.drop_index("ix_messages_untold", table_name="messages")
    op.drop_column("messages", "told_at")
