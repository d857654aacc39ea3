"""deliveries: a partial index of the rows still waiting for a job, by article: each sent
delivery asks whether another of its article waits (publisher.fanout.settle), a probe instead
of a walk past the article's sent rows (an article to 500 accounts walked ~250 on average)

Revision ID: d18c3e4f5a68
Revises: c07b2d3e4f57
Create Date: 2026-12-06 12:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = "d18c3e4f5a68"
down_revision = "c07b2d3e4f57"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_deliveries_article_waiting", "deliveries", ["article_id"],
                    postgresql_where=sa.text("status IN ('queued', 'retrying', 'unconfirmed')"))


def downgrade():
    op.drop_index("ix_deliveries_article_waiting", table_name="deliveries")
