"""issue 16: posts per account and year (the annual report's counts), kept by the outbox
applier like the per-unit daily counts; filled from the posts already counted

Revision ID: d31a7b8c9e02
Revises: c29d5e6f7081
Create Date: 2026-12-06 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "d31a7b8c9e02"
down_revision = "c29d5e6f7081"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "supervision_account_years",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("posts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("original", sa.Integer(), nullable=False, server_default="0"),
    )
    # Posts not counted yet are counted by the applier, as for the other derived figures.
    op.execute("""
        INSERT INTO supervision_account_years (account_id, year, posts, original)
        SELECT account_id, extract(year FROM published_at AT TIME ZONE 'Asia/Shanghai')::int,
               count(*), count(*) FILTER (WHERE origin = 'govmedia')
        FROM posts WHERE counted GROUP BY 1, 2""")
    # Planner statistics now, not at autovacuum's next pass: the report joins this table.
    op.execute("ANALYZE supervision_account_years")


def downgrade():
    op.drop_table("supervision_account_years")
