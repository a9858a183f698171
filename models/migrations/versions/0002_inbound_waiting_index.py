"""inbound messages waiting to be handled: a partial index for the processor's queue

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_WAITING = sa.text("status = 'received'")


def upgrade() -> None:
    op.create_index('ix_inbound_waiting', 'inbound_messages', ['id'], unique=False,
                    sqlite_where=_WAITING, postgresql_where=_WAITING)


def downgrade() -> None:
    op.drop_index('ix_inbound_waiting', table_name='inbound_messages')
