"""cases: index (grid_id, category, id) for the likely-duplicate check of a case placed in a grid only

Without it that check read the category's open cases of every grid, newest first, until it had found
twenty in the case's grid.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 04:50:00
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_grid_category', 'cases', ['grid_id', 'category', 'id'])


def downgrade() -> None:
    op.drop_index('ix_cases_grid_category', table_name='cases')
