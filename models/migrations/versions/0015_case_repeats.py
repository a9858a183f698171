"""cases.repeat_of_id: 回头件, a report of the same problem at the same place as a case closed not long before

The worker's card, the case page and the dashboard name the earlier case; a partial index on the few repeats
lets the dashboard count a period's repeats without reading the table.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 03:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_REPEATS = sa.text('repeat_of_id IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch_op:
        batch_op.add_column(sa.Column('repeat_of_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cases_repeat_of_id_cases'), 'cases', ['repeat_of_id'], ['id'])
    op.create_index('ix_cases_repeats', 'cases', ['created_at', 'grid_id'], postgresql_where=_REPEATS,
                    sqlite_where=_REPEATS)


def downgrade() -> None:
    op.drop_index('ix_cases_repeats', table_name='cases')
    with op.batch_alter_table('cases') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_repeat_of_id_cases'), type_='foreignkey')
        batch_op.drop_column('repeat_of_id')
