"""deliveries keep the platform's error code and own text behind their last error, so pages
put it into the reader's language (issue 12)

Revision ID: c29d5e6f7081
Revises: c15d2e3f4a5b
Create Date: 2026-12-05 21:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c29d5e6f7081"
down_revision = "c15d2e3f4a5b"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("last_error_detail", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("last_error_detail")
