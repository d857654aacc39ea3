"""publisher fan-out: delivery leases, enqueue marks, retry budget, withdrawal (撤稿)

Revision ID: b7f3c2a91e40
Revises: 009016218abd
Create Date: 2026-11-23 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7f3c2a91e40'
down_revision = '009016218abd'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdraw_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdraw_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_articles_withdrawn_by_id_users', 'users', ['withdrawn_by_id'], ['id'])

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retry_from', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('withdraw_state', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_deliveries_withdraw_state', ['withdraw_state'], unique=False)


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_withdraw_state')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('withdraw_state')
        batch_op.drop_column('retry_from')
        batch_op.drop_column('enqueued_at')
        batch_op.drop_column('claim_token')
        batch_op.drop_column('lease_until')

    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_constraint('fk_articles_withdrawn_by_id_users', type_='foreignkey')
        batch_op.drop_column('withdrawn_by_id')
        batch_op.drop_column('withdraw_reason')
        batch_op.drop_column('withdraw_requested_at')
