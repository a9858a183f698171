"""progress_links.userid: the resident following a case a link was given to (None: the case's reporter)

The page's rating buttons act for whoever holds the link, so a neighbour whose report follows the case
rates it as a follower, never in the first reporter's name.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 22:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('progress_links') as batch:
        batch.add_column(sa.Column('userid', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('progress_links') as batch:
        batch.drop_column('userid')
