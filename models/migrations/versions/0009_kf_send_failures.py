"""outbox.remote_msgid: WeCom's msgid of a 微信客服 send, so that a msg_send_fail event finds its notice

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 22:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('remote_msgid', sa.String(length=128), nullable=True))
        batch.create_index(batch.f('ix_outbox_remote_msgid'), ['remote_msgid'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_index(batch.f('ix_outbox_remote_msgid'))
        batch.drop_column('remote_msgid')
