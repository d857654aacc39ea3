"""merge supervision notices publisher

Revision ID: fb17d40ccd55
Revises: 5e1a7c0b9d21, 7d3e5a91c2b4, b7f3c2a91e40
Create Date: 2026-11-22 17:27:28.853327

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fb17d40ccd55'
down_revision = ('5e1a7c0b9d21', '7d3e5a91c2b4', 'b7f3c2a91e40')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
