"""articles: the delivery audit outbox (the sweep writes each closed article's audit entry)

Revision ID: c5e7a9d3f210
Revises: 8a2f4c6e1b90
Create Date: 2026-11-22 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c5e7a9d3f210"
down_revision = "8a2f4c6e1b90"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_audit_pending", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("delivery_audit_pending")
