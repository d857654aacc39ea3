"""reviews: the text of each submitted revision, comments anchored to a passage, and the
uploader of a cover kept pending after a form error (issue 12)

Revision ID: f3c5a9e1d7b2
Revises: e14a1b2c3d4e
Create Date: 2026-12-05 13:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "f3c5a9e1d7b2"
down_revision = "e14a1b2c3d4e"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "article_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=500), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "revision"),
    )
    op.create_table(
        "article_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("quote_start", sa.Integer(), nullable=False),
        sa.Column("quote_end", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_article_comments_article_id", "article_comments", ["article_id"])
    with op.batch_alter_table("article_images") as batch_op:
        batch_op.add_column(sa.Column("uploaded_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_article_images_uploaded_by_id_users", "users",
                                    ["uploaded_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("article_images") as batch_op:
        batch_op.drop_constraint("fk_article_images_uploaded_by_id_users", type_="foreignkey")
        batch_op.drop_column("uploaded_by_id")
    op.drop_index("ix_article_comments_article_id", table_name="article_comments")
    op.drop_table("article_comments")
    op.drop_table("article_revisions")
