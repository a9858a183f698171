"""Engines and sessions: SQLite in WAL mode, or PostgreSQL; locks between transactions; what one transaction
learnt about some tables (`TransactionMemo`). Statements sent straight to the driver are in
`models.statements`, mapped objects written without the unit of work in `models.rows`."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache, partial
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from models.statements import connection_info, run_on_driver

log = logging.getLogger("gridbot.db")


def _sqlite_pragmas(dbapi_connection, _record, *, background_checkpoints: bool, busy_timeout: float) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit is on disk before it returns (one fsync of the WAL, ~0.2 ms), so an
    # acknowledged message survives even an OS crash; the intake commits messages in groups.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    if background_checkpoints:  # see WalCheckpointer: no commit pays for copying the WAL back
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _json_text(value) -> str:
    """A JSON column's text, by orjson (several times the standard library's encoder on a case's explained
    classification); keys that are not strings written as strings, as `json.dumps` writes them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


_JSON = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def make_engine(url: str, *, background_checkpoints: bool = False, busy_timeout: float = 10.0) -> Engine:
    """An engine for `url`, tuned for this app's short write transactions.

    SQLite only: `background_checkpoints` — the caller runs a `WalCheckpointer` instead of letting
    the commit that crosses 1,000 WAL pages copy them back into the database file; `busy_timeout` —
    seconds to wait for another writer's lock before "database is locked" (0: fail at once).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout}, **_JSON)
        event.listen(engine, "connect", partial(_sqlite_pragmas, background_checkpoints=background_checkpoints,
                                                busy_timeout=busy_timeout))
        # Let BEGIN take the write lock up front so two writers never deadlock on upgrade.
        event.listen(engine, "begin", partial(_begin_immediate, _LOCK_WAITERS.setdefault(engine, _Waiting())))
        _disable_pysqlite_autobegin(engine)
    else:
        engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **_JSON)
    _plain_savepoints(engine.dialect)
    return engine


def _plain_savepoints(dialect) -> None:
    """SAVEPOINT, RELEASE and ROLLBACK TO as plain SQL handed to the driver (`run_on_driver`): SQLAlchemy
    compiles its savepoint clauses anew every time (~100 µs a pair), and a batch of messages sets one each."""
    def plain(sql: str):
        return lambda connection, name: run_on_driver(connection, sql.format(name), ()).close()

    dialect.do_savepoint = plain("SAVEPOINT {}")
    dialect.do_release_savepoint = plain("RELEASE SAVEPOINT {}")
    dialect.do_rollback_to_savepoint = plain("ROLLBACK TO SAVEPOINT {}")


class _Waiting:
    """How many threads wait in BEGIN IMMEDIATE for one SQLite engine's write lock right now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self, step: int) -> None:
        with self._lock:
            self.count += step


_LOCK_WAITERS: WeakKeyDictionary[Engine, _Waiting] = WeakKeyDictionary()


READ_ONLY = "gridbot_read_only"  # execution option of a connection that only reads (`reading`)


def _begin_immediate(waiting: _Waiting, connection: Connection) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")  # deferred: a reader of the WAL's last commit, no write lock
        return
    waiting.add(1)
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        waiting.add(-1)


def lock_waiters(engine: Engine) -> int:
    """SQLite: how many of this process's threads wait for the write lock through `engine` now (a writer
    holding it long may want to let them in); 0 elsewhere. Other processes' writers are not counted."""
    waiting = _LOCK_WAITERS.get(engine)
    return waiting.count if waiting is not None else 0


def _disable_pysqlite_autobegin(engine: Engine) -> None:
    """pysqlite opens transactions lazily; hand BEGIN to SQLAlchemy's event instead."""

    @event.listens_for(engine, "connect")
    def _no_autobegin(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None


class WalCheckpointer:
    """Copies a SQLite WAL back into the database file from a background thread, every `interval` s.

    A PASSIVE checkpoint never blocks writers or readers; the file I/O and fsync happen here,
    off every request's path (with automatic checkpoints, one commit in ~2,000 waited for them).
    """

    def __init__(self, engine: Engine, interval: float = 0.5) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gridbot-checkpoint", daemon=True)

    def start(self) -> WalCheckpointer:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                connection = self._engine.raw_connection()
                try:
                    connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    connection.close()
            except Exception:
                log.exception("WAL checkpoint failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def lock_for(session: Session, key: str) -> None:
    """Serialise transactions about the same `key` (e.g. one user) until they end.

    PostgreSQL: a transaction-scoped advisory lock. SQLite needs none: BEGIN IMMEDIATE
    already lets one writer at a time in.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def is_busy(error: Exception) -> bool:
    """Whether `error` is SQLite's "database is locked": another writer holds the lock, try again later."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


# PostgreSQL: deadlock detected, serialization failure, lock not available — nothing wrong with the work,
# it lost a race with another transaction and succeeds when tried again.
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def is_retryable(error: Exception) -> bool:
    """Whether `error` is a lost race with another transaction (try again later), not a failure of the work."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


# Each key in the order given; the WHERE clause runs once per key, so every key is tried exactly once.
_TRY_LOCKS = text("SELECT key FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS asked(key, position) "
                  "WHERE pg_try_advisory_xact_lock(hashtextextended(key, 0)) ORDER BY position")


def try_locks_for(session: Session, keys: list[str]) -> list[str]:
    """Like `lock_for` for each of `keys`, without waiting, in one statement: the keys this transaction now
    holds (those another transaction holds are left out), in the order given."""
    if session.get_bind().dialect.name != "postgresql" or not keys:
        return list(keys)
    return list(session.scalars(_TRY_LOCKS, {"keys": keys}))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that only reads. On SQLite its transaction begins DEFERRED, not IMMEDIATE: it reads the last
    commit and neither waits for the write lock nor counts as waiting for it (`lock_waiters`), so a processor's
    batch holding the lock is not cut short for it (a /metrics scrape every few seconds). Nothing may be written
    through it."""
    with factory() as session:
        session.connection(execution_options={READ_ONLY: True})
        yield session


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with factory() as session, session.begin():
        yield session



_WRITE = re.compile(r'\s*(INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)


class TransactionMemo:
    """What one transaction learnt about some tables (a dict), kept beside its connection (`Connection.info`)
    and forgotten when the transaction ends, when a savepoint rolls back, and when a statement on that
    connection writes one of `tables` — whoever sends it: a flush, a Core statement, a prepared one.
    `inserts=False`: an INSERT into them leaves the memo (its owner counts what it inserts itself).
    `columns`: what the memo knows depends on these columns alone: an UPDATE whose SET names none of them leaves it."""

    def __init__(self, key: str, tables: frozenset[str], *, inserts: bool = True,
                 columns: frozenset[str] | None = None) -> None:
        self.key, self.tables, self.inserts, self.columns = key, tables, inserts, columns
        _MEMOS.append(self)
        _MEMO_KEYS.add(key)
        _dropped_by.cache_clear()

    def get(self, bind: Session | Connection) -> dict:
        """This transaction's memo (a new, empty one when it was forgotten)."""
        return (bind.info if isinstance(bind, Connection) else connection_info(bind)).setdefault(self.key, {})


_MEMOS: list[TransactionMemo] = []
_MEMO_KEYS: set[str] = set()


# One listener for every memo (each statement is looked at once, not once per memo: ~14 statements a message).
@event.listens_for(Engine, "before_cursor_execute")
def _memos_see(connection, _cursor, statement: str, *_args) -> None:
    info = connection.info
    if _MEMO_KEYS.isdisjoint(info):
        return
    for key in _dropped_by(statement):
        info.pop(key, None)


@lru_cache(maxsize=1024)
def _dropped_by(statement: str) -> tuple[str, ...]:
    """The keys of the memos a statement forgets (kept per SQL text: the hot path sends a few dozen texts)."""
    write = _WRITE.match(statement)
    if write is None:
        return ()
    table, insert = write.group(2).lower(), write.group(1)[0] in "Ii"
    assigned = _assigned(statement) if write.group(1)[0] in "Uu" else None
    return tuple(memo.key for memo in _MEMOS if table in memo.tables and (memo.inserts or not insert)
                 and (assigned is None or memo.columns is None or not assigned.isdisjoint(memo.columns)))


_SET = re.compile(r"\sSET\s(.*?)(?:\sWHERE\s|$)", re.IGNORECASE | re.DOTALL)
_ASSIGNED = re.compile(r'"?(\w+)"?\s*=')
_PYFORMAT = re.compile(r"%\(\w+\)s")  # psycopg's bound values


def _assigned(update: str) -> frozenset[str] | None:
    """The columns an UPDATE's SET clause names; None when it cannot tell (parentheses: an expression or a subquery,
    whose own WHERE may have ended the clause too early)."""
    found = _SET.search(update)
    if found is None:
        return None
    clause = _PYFORMAT.sub("?", found.group(1))
    return None if "(" in clause else frozenset(column.lower() for column in _ASSIGNED.findall(clause))


def _memos_forget(connection, *_args) -> None:
    for memo in _MEMOS:
        connection.info.pop(memo.key, None)


for _name in ("commit", "rollback", "rollback_savepoint"):
    event.listen(Engine, _name, _memos_forget)
