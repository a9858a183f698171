"""registry_version: a value every registry change replaces (database triggers), so each process's
registry cache sees changes made by any process or statement

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 01:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# models.REGISTRY_TABLES at this revision (a migration does not follow later changes of the models)
TABLES = ("areas", "grids", "units", "workers", "worker_grids", "departments", "department_liaisons")


def upgrade() -> None:
    op.create_table(
        'registry_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.execute("INSERT INTO registry_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION bump_registry_version() RETURNS trigger AS $$
            BEGIN
                UPDATE registry_version SET version = floor(random() * 9000000000000000000)::bigint;
                RETURN NULL;
            END $$ LANGUAGE plpgsql""")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_registry_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_version()")
        return
    for table in TABLES:
        for change in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_registry_{change.lower()} AFTER {change} ON {table} "
                       f"BEGIN UPDATE registry_version SET version = random(); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_registry_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_registry_version()")
    else:
        for table in TABLES:
            for change in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_registry_{change}")
    op.drop_table('registry_version')
