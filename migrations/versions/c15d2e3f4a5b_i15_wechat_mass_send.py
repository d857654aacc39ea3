"""issue 15: WeChat 群发 as well as 发布: each account's mode and type, an article's override,
and the mode a delivery was queued with (what the mass-send quota counts)

Revision ID: c15d2e3f4a5b
Revises: c19d5e6f7a81
Create Date: 2026-12-05 21:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c15d2e3f4a5b"
down_revision = "c19d5e6f7a81"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("accounts", sa.Column("wechat_mode", sa.String(length=10), nullable=True))
    op.add_column("accounts", sa.Column("wechat_type", sa.String(length=20), nullable=True))
    op.add_column("articles", sa.Column("wechat_mode", sa.String(length=10), nullable=True))
    op.add_column("deliveries", sa.Column("mode", sa.String(length=10), nullable=True))
    op.create_index("ix_deliveries_account_mode", "deliveries", ["account_id", "mode"])


def downgrade():
    op.drop_index("ix_deliveries_account_mode", table_name="deliveries")
    op.drop_column("deliveries", "mode")
    op.drop_column("articles", "wechat_mode")
    op.drop_column("accounts", "wechat_type")
    op.drop_column("accounts", "wechat_mode")
