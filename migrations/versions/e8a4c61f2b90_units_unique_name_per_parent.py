"""units: one name per parent unit (NULLS NOT DISTINCT: one name at the top too)

The unit tree (issue 16): two units under one parent may not share a name. The index leads
with parent_id, which the recursive walk down the tree (govmedia.auth.subtree_query) uses.

Revision ID: e8a4c61f2b90
Revises: e8a4c6d2f9b1
Create Date: 2026-12-05 07:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "e8a4c61f2b90"
down_revision = "e8a4c6d2f9b1"
branch_labels = None
depends_on = None


def upgrade():
    clashes = op.get_bind().execute(sa.text(
        "SELECT parent_id, name, array_agg(id ORDER BY id) FROM units "
        "GROUP BY parent_id, name HAVING count(*) > 1 ORDER BY name LIMIT 20")).all()
    if clashes:
        listed = "; ".join(f"{name!r} under parent {parent} (units {ids})"
                           for parent, name, ids in clashes)
        raise RuntimeError("Rename these units before upgrading, two units under one parent "
                           f"share a name: {listed}")
    op.create_index("uq_units_parent_name", "units", ["parent_id", "name"], unique=True,
                    postgresql_nulls_not_distinct=True)


def downgrade():
    op.drop_index("uq_units_parent_name", table_name="units")
