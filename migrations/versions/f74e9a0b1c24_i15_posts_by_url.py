"""posts found by their link: a publishing task refuses a link another account recorded
(issue 15); a hash index, as a link may be longer than a b-tree entry allows

Revision ID: f74e9a0b1c24
Revises: e52c8d9f0a13
Create Date: 2026-12-06 06:10:00
"""
from alembic import op

revision = "f74e9a0b1c24"
down_revision = "e52c8d9f0a13"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_posts_url", "posts", ["url"], postgresql_using="hash")


def downgrade():
    op.drop_index("ix_posts_url", table_name="posts")
