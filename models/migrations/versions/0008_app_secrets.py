"""app_secrets: secrets generated on first start (the console's session key); admin_users.last_failed_at

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 19:10:00
"""
import sqlalchemy as sa
from alembic import op

import models.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_secrets',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('name', sa.String(length=64), nullable=False),
                    sa.Column('value', sa.String(length=200), nullable=False),
                    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_secrets')),
                    sa.UniqueConstraint('name', name=op.f('uq_app_secrets_name')))
    with op.batch_alter_table('admin_users') as batch:
        batch.add_column(sa.Column('last_failed_at', models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('admin_users') as batch:
        batch.drop_column('last_failed_at')
    op.drop_table('app_secrets')
