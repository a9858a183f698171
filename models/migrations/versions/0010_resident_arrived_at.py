"""residents.arrived_at: when the resident last came through a building's QR code

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 23:05:00
"""
import sqlalchemy as sa
from alembic import op

import models.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('residents') as batch:
        batch.add_column(sa.Column('arrived_at', models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('residents') as batch:
        batch.drop_column('arrived_at')
