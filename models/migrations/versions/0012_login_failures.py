"""login_failures: failed console logins per client, so the login throttle holds across app processes

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 05:00:00
"""
import sqlalchemy as sa
from alembic import op

import models.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_failures',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('client', sa.String(length=64), nullable=False),
                    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures')))
    op.create_index('ix_login_failures_client_at', 'login_failures', ['client', 'at'])
    op.create_index('ix_login_failures_at', 'login_failures', ['at'])


def downgrade() -> None:
    op.drop_index('ix_login_failures_at', table_name='login_failures')
    op.drop_index('ix_login_failures_client_at', table_name='login_failures')
    op.drop_table('login_failures')
