"""posts: a counted flag, so the delivery job's posts reach supervision's figures in batches

Revision ID: 8a2f4c6e1b90
Revises: 3b8e6f2d4a17
Create Date: 2026-11-22 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "8a2f4c6e1b90"
down_revision = "3b8e6f2d4a17"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counted", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    # Partial: only the few posts still waiting for the figures are in it.
    op.create_index("ix_posts_uncounted", "posts", ["id"],
                    postgresql_where=sa.text("NOT counted"), sqlite_where=sa.text("NOT counted"))


def downgrade():
    op.drop_index("ix_posts_uncounted", table_name="posts")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("counted")
