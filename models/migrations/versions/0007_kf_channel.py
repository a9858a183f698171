"""微信客服 (kf) residents: contacts with their send window, accounts with their pull cursor;
progress-page links; stored media; the unit a resident arrived through (a building's QR code)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 19:00:32.408890
"""
import sqlalchemy as sa
from alembic import op

import models.base

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kf_accounts',
    sa.Column('open_kfid', sa.String(length=128), nullable=False),
    sa.Column('cursor', sa.String(length=200), nullable=True),
    sa.Column('contact_url', sa.String(length=500), nullable=True),
    sa.Column('pulled_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('open_kfid', name=op.f('pk_kf_accounts'))
    )
    op.create_table('kf_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('external_userid', sa.String(length=128), nullable=False),
    sa.Column('open_kfid', sa.String(length=128), nullable=False),
    sa.Column('last_message_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kf_contacts')),
    sa.UniqueConstraint('userid', name=op.f('uq_kf_contacts_userid'))
    )
    op.create_table('stored_media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('media_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('stored_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_media')),
    sa.UniqueConstraint('media_id', name=op.f('uq_stored_media_media_id'))
    )
    op.create_table('progress_links',
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_progress_links_case_id_cases')),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_progress_links'))
    )
    with op.batch_alter_table('progress_links', schema=None) as batch_op:
        batch_op.create_index('ix_progress_links_case', ['case_id', 'revoked_at'], unique=False)

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arrival_unit_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_residents_arrival_unit_id_units'), 'units', ['arrival_unit_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_residents_arrival_unit_id_units'), type_='foreignkey')
        batch_op.drop_column('arrival_unit_id')

    with op.batch_alter_table('progress_links', schema=None) as batch_op:
        batch_op.drop_index('ix_progress_links_case')

    op.drop_table('progress_links')
    op.drop_table('stored_media')
    op.drop_table('kf_contacts')
    op.drop_table('kf_accounts')
