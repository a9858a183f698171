"""Engines and sessions: SQLite in WAL mode, or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, Table, TextClause, bindparam, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL is durable against application crashes (kill -9); only an OS crash
    # may lose the last commits, which WeCom then redelivers.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`, tuned for this app's short write transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let BEGIN take the write lock up front so two writers never deadlock on upgrade.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        _disable_pysqlite_autobegin(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _disable_pysqlite_autobegin(engine: Engine) -> None:
    """pysqlite opens transactions lazily; hand BEGIN to SQLAlchemy's event instead."""

    @event.listens_for(engine, "connect")
    def _no_autobegin(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None


def lock_for(session: Session, key: str) -> None:
    """Serialise transactions about the same `key` (e.g. one user) until they end.

    PostgreSQL: a transaction-scoped advisory lock. SQLite needs none: BEGIN IMMEDIATE
    already lets one writer at a time in.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def try_lock_for(session: Session, key: str) -> bool:
    """Like `lock_for`, without waiting: False when another transaction holds `key`."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}))


def insert_or_skip(session: Session, table: Table, values: dict, conflict: str | tuple[str, ...]) -> int | None:
    """INSERT `values` unless a row with the same unique `conflict` column(s) exists: the new id, else None.

    `INSERT … ON CONFLICT (conflict) DO NOTHING RETURNING id`, the same on SQLite and PostgreSQL.
    Written as text bound to the columns' types because SQLAlchemy 2.0 never caches the compiled
    `insert().on_conflict_do_nothing()` of either dialect (~200-400 µs to compile, every call).
    """
    columns = (conflict,) if isinstance(conflict, str) else tuple(conflict)
    return session.execute(_insert_or_skip(table, tuple(values), columns), values).scalar()


@lru_cache(maxsize=32)
def _insert_or_skip(table: Table, keys: tuple[str, ...], conflict: tuple[str, ...]) -> TextClause:
    columns = ", ".join(f'"{key}"' for key in keys)
    params = ", ".join(f":{key}" for key in keys)
    target = ", ".join(f'"{column}"' for column in conflict)
    statement = text(f'INSERT INTO "{table.name}" ({columns}) VALUES ({params}) '
                     f'ON CONFLICT ({target}) DO NOTHING RETURNING id')
    return statement.bindparams(*(bindparam(key, type_=table.c[key].type) for key in keys)).columns(table.c.id)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with factory() as session, session.begin():
        yield session
