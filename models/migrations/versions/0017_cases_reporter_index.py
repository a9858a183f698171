"""cases: a resident's own cases found by the userid that reported them

Words asking after a case (那个路灯的事怎么样了, 又坏了), a resident's 进度 list and the case to rate are read by
reporter_userid, newest first; with no index on it, SQLite read every open case (a typhoon night's thousands) to
find a resident's few. ix_cases_reporter (reporter_userid, id) finds them and gives them newest first.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 12:00:00
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_reporter', 'cases', ['reporter_userid', 'id'])


def downgrade() -> None:
    op.drop_index('ix_cases_reporter', table_name='cases')
