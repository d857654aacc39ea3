"""Issue 15 (Douyin slice): article videos (file on disk, ffprobe's reading, a cover frame),
articles.video_id.

Revision ID: e9d4c1a7b352
Revises: e4a1c9b7d2f5
"""
import sqlalchemy as sa
from alembic import op


revision = "e9d4c1a7b352"
down_revision = "e4a1c9b7d2f5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "article_videos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=100), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("format_name", sa.String(length=100), nullable=False),
        sa.Column("mime", sa.String(length=40), nullable=False),
        sa.Column("codec", sa.String(length=40), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("frame_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["frame_id"], ["article_images.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_article_videos_sha256", "article_videos", ["sha256"])
    op.add_column("articles", sa.Column("video_id", sa.Integer(), nullable=True))
    op.create_foreign_key("fk_articles_video_id", "articles", "article_videos",
                          ["video_id"], ["id"])


def downgrade():
    op.drop_constraint("fk_articles_video_id", "articles", type_="foreignkey")
    op.drop_column("articles", "video_id")
    op.drop_index("ix_article_videos_sha256", table_name="article_videos")
    op.drop_table("article_videos")
