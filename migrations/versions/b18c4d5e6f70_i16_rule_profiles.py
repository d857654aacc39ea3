"""issue 16: rule profiles per node of the unit tree (versioned), and the shorter update gaps
they need (every stretch of 6 days or more between posts is kept, was 8)

Revision ID: b18c4d5e6f70
Revises: a17b3c4d5e6f
Create Date: 2026-12-05 21:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "b18c4d5e6f70"
down_revision = "a17b3c4d5e6f"
branch_labels = None
depends_on = None

# registry.supervision.figures.GAP_KEPT_FROM before and after (govmedia.rules.SHORTEST_WARNING + 1)
OLD_KEPT, NEW_KEPT = 8, 6


def upgrade():
    op.create_table(
        "rule_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("inherit", sa.Boolean(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rule_profiles_unit_id", "rule_profiles", ["unit_id"])
    # The stretches of 6 and 7 days were not kept; under the default profile they never reach
    # the band (it starts on the 7th day and ends with the next post), so the day totals stand.
    op.execute(sa.text("""
        WITH d AS (SELECT DISTINCT account_id, (published_at AT TIME ZONE 'Asia/Shanghai')::date AS day
                   FROM posts),
             n AS (SELECT account_id, day, lead(day) OVER (PARTITION BY account_id ORDER BY day) AS nxt
                   FROM d)
        INSERT INTO supervision_gaps (account_id, start_day, end_day)
        SELECT account_id, day, nxt FROM n WHERE nxt - day >= :new AND nxt - day < :old""")
        .bindparams(new=NEW_KEPT, old=OLD_KEPT))


def downgrade():
    op.execute(sa.text("DELETE FROM supervision_gaps WHERE end_day - start_day < :old")
               .bindparams(old=OLD_KEPT))
    op.drop_index("ix_rule_profiles_unit_id", table_name="rule_profiles")
    op.drop_table("rule_profiles")
