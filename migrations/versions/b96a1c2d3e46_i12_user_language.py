"""users keep the language they last chose: their e-mails speak it, a new session starts in
it (issue 12)

Revision ID: b96a1c2d3e46
Revises: a85f0b1c2d35
Create Date: 2026-12-06 06:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "b96a1c2d3e46"
down_revision = "a85f0b1c2d35"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("language", sa.String(5), nullable=True))


def downgrade():
    op.drop_column("users", "language")
