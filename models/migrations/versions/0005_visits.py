"""special groups on residents, visits and patrol check-ins (issue 19)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 19:45:00
"""
import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('groups', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('visit_worker_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('groups_since', UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_residents_visit_worker_id_workers'), 'workers',
                                    ['visit_worker_id'], ['id'])
    op.create_table('visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_visits_resident_id_residents'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['workers.id'], name=op.f('fk_visits_worker_id_workers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits'))
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_resident_at', ['resident_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_worker_id'), ['worker_id'], unique=False)
    op.create_table('patrol_checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('point', sa.String(length=100), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lng', sa.Float(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_patrol_checkins_grid_id_grids')),
    sa.ForeignKeyConstraint(['worker_id'], ['workers.id'], name=op.f('fk_patrol_checkins_worker_id_workers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_checkins'))
    )
    with op.batch_alter_table('patrol_checkins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrol_checkins_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrol_checkins_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patrol_checkins_worker_id'), ['worker_id'], unique=False)


def downgrade() -> None:
    op.drop_table('patrol_checkins')
    op.drop_table('visits')
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_residents_visit_worker_id_workers'), type_='foreignkey')
        batch_op.drop_column('groups_since')
        batch_op.drop_column('visit_worker_id')
        batch_op.drop_column('groups')
