"""issue 14: the reference answers' search vector kept as a stored generated column (ranking
reads it instead of building it for every matching row)

Revision ID: c19d5e6f7a81
Revises: c2e8f0a4b6d1
Create Date: 2026-12-05 21:40:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "c19d5e6f7a81"
down_revision = "c2e8f0a4b6d1"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("reference_answers", sa.Column(
        "terms_tsv", postgresql.TSVECTOR(),
        sa.Computed("to_tsvector('simple', terms)", persisted=True), nullable=True))
    op.drop_index("ix_reference_answers_terms", table_name="reference_answers")
    op.create_index("ix_reference_answers_terms_tsv", "reference_answers", ["terms_tsv"],
                    postgresql_using="gin")


def downgrade():
    op.drop_index("ix_reference_answers_terms_tsv", table_name="reference_answers")
    op.create_index("ix_reference_answers_terms", "reference_answers",
                    [sa.text("to_tsvector('simple', terms)")], postgresql_using="gin")
    op.drop_column("reference_answers", "terms_tsv")
