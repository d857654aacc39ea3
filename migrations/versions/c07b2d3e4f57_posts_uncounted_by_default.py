"""posts are uncounted unless said otherwise: a post added without naming `counted` goes
through the outbox (supervision's apply_pending counts it) instead of silently skipping it

Revision ID: c07b2d3e4f57
Revises: b96a1c2d3e46
Create Date: 2026-12-06 08:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c07b2d3e4f57"
down_revision = "b96a1c2d3e46"
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("posts", "counted", server_default=sa.false())


def downgrade():
    op.alter_column("posts", "counted", server_default=sa.true())
