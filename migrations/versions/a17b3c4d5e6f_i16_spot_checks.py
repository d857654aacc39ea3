"""issue 16: the quarterly spot check's draws (seeded, recorded; one per quarter and node)

Revision ID: a17b3c4d5e6f
Revises: f16a2b3c4d5e
Create Date: 2026-12-05 14:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "a17b3c4d5e6f"
down_revision = "f16a2b3c4d5e"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "spot_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("share", sa.String(length=20), nullable=False),
        sa.Column("population_ids", sa.JSON(), nullable=False),
        sa.Column("account_ids", sa.JSON(), nullable=False),
        sa.Column("drawn_by_id", sa.Integer(), nullable=True),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by_id", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["drawn_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["voided_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_spot_checks_unit_id", "spot_checks", ["unit_id"])
    op.create_index("uq_spot_checks_quarter_unit", "spot_checks", ["year", "quarter", "unit_id"],
                    unique=True, postgresql_nulls_not_distinct=True,
                    postgresql_where=sa.text("voided_at IS NULL"))


def downgrade():
    op.drop_index("uq_spot_checks_quarter_unit", table_name="spot_checks")
    op.drop_index("ix_spot_checks_unit_id", table_name="spot_checks")
    op.drop_table("spot_checks")
