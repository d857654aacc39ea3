"""lists for thousands of rows: natural sort key, trigram search indexes, duplicate dismissals

Revision ID: e1a5c7d9b302
Revises: d2b6e8f4a1c3
Create Date: 2026-12-05 08:00:00

The embedded PostgreSQL is built without ICU (no `und-u-kn-true` collation), so natural order
("第9" before "第99") is a sort key: `natural_key(text)` pads every run of digits to ten, and
an expression index on (natural_key(name), id) serves ORDER BY … LIMIT. Text search is
`ILIKE '%q%'` served by pg_trgm GIN indexes (contrib ships with the server).
"""
import sqlalchemy as sa
from alembic import op

revision = "e1a5c7d9b302"
down_revision = "d2b6e8f4a1c3"
branch_labels = None
depends_on = None

NATURAL_KEY = r"""
CREATE OR REPLACE FUNCTION natural_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_replace(regexp_replace(value, '([0-9]+)', '0000000000\1', 'g'),
                        '[0-9]*([0-9]{10})', '\1', 'g')
$$
"""

TRIGRAM_INDEXES = (("ix_units_name_trgm", "units", "name"),
                   ("ix_accounts_name_trgm", "accounts", "name"),
                   ("ix_accounts_handle_trgm", "accounts", "handle"),
                   ("ix_articles_title_trgm", "articles", "title"))


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(NATURAL_KEY)
    for name, table, column in TRIGRAM_INDEXES:
        op.create_index(name, table, [column], postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"})
    op.execute("CREATE INDEX ix_units_natural_name ON units (natural_key(name), id)")
    op.execute("CREATE INDEX ix_accounts_natural_name ON accounts (natural_key(name), id)")
    op.create_table(
        "duplicate_dismissals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("low_id", sa.Integer(), nullable=False),
        sa.Column("high_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["low_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["high_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("low_id", "high_id"),
    )


def downgrade():
    op.drop_table("duplicate_dismissals")
    op.execute("DROP INDEX ix_accounts_natural_name")
    op.execute("DROP INDEX ix_units_natural_name")
    for name, table, _column in TRIGRAM_INDEXES:
        op.drop_index(name, table_name=table)
    op.execute("DROP FUNCTION natural_key(text)")
