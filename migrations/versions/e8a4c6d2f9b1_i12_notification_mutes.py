"""notifications: the kinds each user turned off (issue 12, the profile page)

Revision ID: e8a4c6d2f9b1
Revises: d2b6e8f4a1c3
Create Date: 2026-12-05 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "e8a4c6d2f9b1"
down_revision = "d2b6e8f4a1c3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification_mutes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id", "kind"),
    )


def downgrade():
    op.drop_table("notification_mutes")
