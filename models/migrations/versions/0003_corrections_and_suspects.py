"""corrections (labelled examples taught by people), suspected duplicates, followers' ratings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 19:30:00
"""
import sqlalchemy as sa
from alembic import op

import models.base

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('previous', sa.String(length=40), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_corrections_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_corrections'))
    )
    with op.batch_alter_table('corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_corrections_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_corrections_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspect_of_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cases_suspect_of_id_cases'), 'cases', ['suspect_of_id'], ['id'])
    with op.batch_alter_table('case_followers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case_followers', schema=None) as batch_op:
        batch_op.drop_column('rating')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_suspect_of_id_cases'), type_='foreignkey')
        batch_op.drop_column('suspect_of_id')
    with op.batch_alter_table('corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_corrections_created_at'))
        batch_op.drop_index(batch_op.f('ix_corrections_case_id'))
    op.drop_table('corrections')
