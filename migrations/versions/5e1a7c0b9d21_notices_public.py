"""notices: decision details, amendments, take-down checklist

Revision ID: 5e1a7c0b9d21
Revises: c4993c0ba98f
Create Date: 2026-11-23 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1a7c0b9d21'
down_revision = 'c4993c0ba98f'
branch_labels = ('notices',)
depends_on = None


def upgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('reason_category', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('successor', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('contact', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('internal_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('prior_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_notices_withdrawn_by_id_users', 'users',
                                    ['withdrawn_by_id'], ['id'])

    op.create_table('notice_amendments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('text_before', sa.Text(), nullable=False),
    sa.Column('text_after', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice_amendments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_amendments_notice_id'), ['notice_id'], unique=False)

    op.create_table('takedown_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('label', sa.String(length=500), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('takedown_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_takedown_items_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('takedown_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_takedown_items_account_id'))
    op.drop_table('takedown_items')
    with op.batch_alter_table('notice_amendments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_amendments_notice_id'))
    op.drop_table('notice_amendments')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint('fk_notices_withdrawn_by_id_users', type_='foreignkey')
        for column in ('withdrawn_by_id', 'completed_at', 'prior_status', 'internal_note',
                       'contact', 'successor', 'reason_category', 'decided_on'):
            batch_op.drop_column(column)
