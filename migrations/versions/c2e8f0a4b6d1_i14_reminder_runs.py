"""issue 14: the daily reminders remember their last day and read only the messages that fell
due since then (reminder_runs; an index on messages.reply_due_on)

Revision ID: c2e8f0a4b6d1
Revises: b18c4d5e6f70
Create Date: 2026-12-05 21:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c2e8f0a4b6d1"
down_revision = "b18c4d5e6f70"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reminder_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_messages_reply_due_on", "messages", ["reply_due_on"])


def downgrade():
    op.drop_index("ix_messages_reply_due_on", table_name="messages")
    op.drop_table("reminder_runs")
