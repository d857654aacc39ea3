"""publishing tasks: deliveries done by hand on platforms without a publishing API (issue 15)

Revision ID: e4a1c9b7d2f5
Revises: e1a5c7d9b302
Create Date: 2026-12-05 00:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = "e4a1c9b7d2f5"
down_revision = "e1a5c7d9b302"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "publishing_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("post_url", sa.String(length=1000), nullable=True),
        sa.Column("screenshot", sa.LargeBinary(), nullable=True),
        sa.Column("screenshot_mime", sa.String(length=40), nullable=True),
        sa.Column("screenshot_bytes", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"]),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["done_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_publishing_tasks_delivery_kind", "publishing_tasks",
                    ["delivery_id", "kind"], unique=True)
    op.create_index("ix_publishing_tasks_unit_open", "publishing_tasks", ["unit_id", "due_on"],
                    postgresql_where=sa.text("done_at IS NULL AND cancelled_at IS NULL"))
    op.create_index(op.f("ix_publishing_tasks_article_id"), "publishing_tasks", ["article_id"])
    op.create_index(op.f("ix_publishing_tasks_account_id"), "publishing_tasks", ["account_id"])


def downgrade():
    op.drop_table("publishing_tasks")
