"""progress_links: the live link of a case for one holder found on its index

Every reply naming a case asks for its live link for one holder (the reporter, or a follower of a likely
duplicate); ix_progress_links_case (case_id, revoked_at) left the holder to a scan of the case's links, one a
follower, and the newest to a sort. ix_progress_links_holder (case_id, revoked_at, userid, created_at) ends at
the link and serves every lookup the old index served.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 07:00:00
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_progress_links_holder', 'progress_links', ['case_id', 'revoked_at', 'userid', 'created_at'])
    op.drop_index('ix_progress_links_case', table_name='progress_links')


def downgrade() -> None:
    op.create_index('ix_progress_links_case', 'progress_links', ['case_id', 'revoked_at'])
    op.drop_index('ix_progress_links_holder', table_name='progress_links')
