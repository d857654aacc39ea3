"""notifications and replies to the public keep their words as a message (msgid and
parameters), said in the reader's language when read (issue 12)

Revision ID: e52c8d9f0a13
Revises: d31a7b8c9e02
Create Date: 2026-12-06 05:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "e52c8d9f0a13"
down_revision = "d31a7b8c9e02"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("said", sa.JSON(), nullable=True))
    with op.batch_alter_table("message_replies") as batch:
        batch.add_column(sa.Column("error_said", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("message_replies") as batch:
        batch.drop_column("error_said")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("said")
