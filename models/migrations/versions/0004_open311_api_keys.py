"""Open311: API keys, and a case source long enough to name the key (open311:<name>)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 19:30:00
"""
import sqlalchemy as sa
from alembic import op

import models.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('rate_per_minute', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_api_keys_name'))
    )
    _source_length(16, 64)


def downgrade() -> None:
    _source_length(64, 16)
    op.drop_table('api_keys')


def _source_length(before: int, after: int) -> None:
    with op.batch_alter_table('cases') as batch_op:  # SQLite: the table is rebuilt, indexes and all
        batch_op.alter_column('source', existing_type=sa.String(length=before), type_=sa.String(length=after),
                              existing_nullable=False)
