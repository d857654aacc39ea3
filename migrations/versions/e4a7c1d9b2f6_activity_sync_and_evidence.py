"""posts: origin and the platform's id; the activity sync's cursors; evidence of updates

Revision ID: e4a7c1d9b2f6
Revises: e9d4c1a7b352
Create Date: 2026-12-05 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "e4a7c1d9b2f6"
down_revision = "e9d4c1a7b352"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=20), nullable=False,
                                      server_default="manual"))
        batch_op.add_column(sa.Column("platform_post_id", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint("uq_posts_account_platform_post",
                                          ["account_id", "platform_post_id"])
    # The publisher's posts were sent by govmedia; every other post was recorded by staff.
    op.execute("UPDATE posts SET origin = 'govmedia' WHERE source = 'publisher'")
    op.create_table(
        "activity_cursors",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("since_id", sa.String(length=40), nullable=True),
        sa.Column("publish_time", sa.BigInteger(), nullable=True),
        sa.Column("datacube_day", sa.Date(), nullable=True),
        sa.Column("deferred_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posts_found", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "post_evidence",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("screenshot", sa.String(length=200), nullable=False),
        sa.Column("screenshot_type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rejected_by_id", sa.Integer(), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["rejected_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_post_evidence_account", "post_evidence", ["account_id", "created_at"])
    op.create_index("ix_post_evidence_unit_id", "post_evidence", ["unit_id"])


def downgrade():
    op.drop_index("ix_post_evidence_unit_id", table_name="post_evidence")
    op.drop_index("ix_post_evidence_account", table_name="post_evidence")
    op.drop_table("post_evidence")
    op.drop_table("activity_cursors")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_posts_account_platform_post", type_="unique")
        batch_op.drop_column("platform_post_id")
        batch_op.drop_column("origin")
