"""issue 16: apps' filing number and version; the annual report, frozen when issued

Revision ID: f16a2b3c4d5e
Revises: f3c5a9e1d7b2
Create Date: 2026-12-05 13:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "f16a2b3c4d5e"
down_revision = "f3c5a9e1d7b2"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("accounts", sa.Column("app_filing_number", sa.String(length=120), nullable=True))
    op.add_column("accounts", sa.Column("app_version", sa.String(length=40), nullable=True))
    op.create_table(
        "annual_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_annual_reports_year_unit", "annual_reports", ["year", "unit_id"],
                    unique=True, postgresql_nulls_not_distinct=True)


def downgrade():
    op.drop_index("uq_annual_reports_year_unit", table_name="annual_reports")
    op.drop_table("annual_reports")
    op.drop_column("accounts", "app_version")
    op.drop_column("accounts", "app_filing_number")
