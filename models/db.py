"""Engines and sessions: SQLite in WAL mode, or PostgreSQL."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from functools import lru_cache, partial
from typing import NamedTuple, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Select, Table, TextClause, bindparam, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import MANYTOONE, Session, SessionTransaction, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.util import identity_key

log = logging.getLogger("gridbot.db")

T = TypeVar("T")


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


def make_engine(url: str, *, background_checkpoints: bool = False, busy_timeout: float = 10.0) -> Engine:
    """An engine for `url`, tuned for this app's short write transactions.

    SQLite only: `background_checkpoints` — the caller runs a `WalCheckpointer` instead of letting
    the commit that crosses 1,000 WAL pages copy them back into the database file; `busy_timeout` —
    seconds to wait for another writer's lock before "database is locked" (0: fail at once).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout})
        event.listen(engine, "connect", partial(_sqlite_pragmas, background_checkpoints=background_checkpoints,
                                                busy_timeout=busy_timeout))
        # Let BEGIN take the write lock up front so two writers never deadlock on upgrade.
        event.listen(engine, "begin", partial(_begin_immediate, _LOCK_WAITERS.setdefault(engine, _Waiting())))
        _disable_pysqlite_autobegin(engine)
    else:
        engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    _plain_savepoints(engine.dialect)
    return engine


def _plain_savepoints(dialect) -> None:
    """SAVEPOINT, RELEASE and ROLLBACK TO as plain SQL handed to the driver (`_run`): SQLAlchemy compiles its
    savepoint clauses anew every time (~100 µs a pair), and a batch of messages sets one savepoint each."""
    dialect.do_savepoint = lambda connection, name: _run(connection, f"SAVEPOINT {name}", ()).close()
    dialect.do_release_savepoint = lambda connection, name: _run(connection, f"RELEASE SAVEPOINT {name}", ()).close()
    dialect.do_rollback_to_savepoint = (
        lambda connection, name: _run(connection, f"ROLLBACK TO SAVEPOINT {name}", ()).close())


class _Waiting:
    """How many threads wait in BEGIN IMMEDIATE for one SQLite engine's write lock right now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self, step: int) -> None:
        with self._lock:
            self.count += step


_LOCK_WAITERS: WeakKeyDictionary[Engine, _Waiting] = WeakKeyDictionary()


def _begin_immediate(waiting: _Waiting, connection: Connection) -> None:
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


def insert_or_skip(session: Session, table: Table, values: dict, conflict: str | tuple[str, ...]) -> int | None:
    """INSERT `values` unless a row with the same unique `conflict` column(s) exists: the new id, else None.

    `INSERT … ON CONFLICT (conflict) DO NOTHING RETURNING id`, the same on SQLite and PostgreSQL.
    Written as text bound to the columns' types because SQLAlchemy 2.0 never caches the compiled
    `insert().on_conflict_do_nothing()` of either dialect (~200-400 µs to compile, every call).
    """
    columns = (conflict,) if isinstance(conflict, str) else tuple(conflict)
    return session.execute(_insert_or_skip(table, tuple(values), columns), values).scalar()


def _insert_skipping_conflicts(table: Table, keys: tuple[str, ...], conflict: tuple[str, ...],
                               markers: list[str]) -> str:
    """`INSERT INTO table (keys) VALUES (markers) ON CONFLICT (conflict) DO NOTHING`."""
    columns = ", ".join(f'"{key}"' for key in keys)
    target = ", ".join(f'"{column}"' for column in conflict)
    return f'INSERT INTO "{table.name}" ({columns}) VALUES ({", ".join(markers)}) ON CONFLICT ({target}) DO NOTHING'


@lru_cache(maxsize=32)
def _insert_or_skip(table: Table, keys: tuple[str, ...], conflict: tuple[str, ...]) -> TextClause:
    sql = _insert_skipping_conflicts(table, keys, conflict, [f":{key}" for key in keys])
    statement = text(f"{sql} RETURNING id")
    return statement.bindparams(*(bindparam(key, type_=table.c[key].type) for key in keys)).columns(table.c.id)


def insert_many_or_skip(session: Session, table: Table, rows: list[dict], conflict: str) -> int:
    """INSERT `rows` (all with the same keys) in one statement, skipping any that conflict on `conflict`;
    how many were inserted.

    The intake's and the outbox's hot path: the statement and the columns' bind processors are prepared
    once and the driver runs it directly (`_run`), so each row costs the driver's work and little else.
    """
    connection = connection_of(session)
    prepared = _insert_skipping(table, tuple(rows[0]), conflict, connection.dialect)
    if len(rows) == 1:
        cursor = _run(connection, prepared.sql, prepared.bind(rows[0]))
    else:
        cursor = _run(connection, prepared.sql, [prepared.bind(row) for row in rows], many=True)
    with closing(cursor):
        return cursor.rowcount


def insert_row(session: Session, table: Table, values: dict) -> None:
    """INSERT one row of the columns `values` names through a prepared statement."""
    connection = connection_of(session)
    prepared = _insert(table, tuple(values), connection.dialect)
    _run(connection, prepared.sql, prepared.bind(values)).close()


def insert_returning_id(session: Session, table: Table, values: dict) -> int:
    """INSERT one row (every column given but the id) through a prepared statement; its new id."""
    connection = connection_of(session)
    prepared = _insert_returning_id(table, tuple(values), connection.dialect)
    with closing(_run(connection, prepared.sql, prepared.bind(values))) as cursor:
        return cursor.fetchone()[0]


def fetch_all(session: Session, statement: Select, params: dict) -> list[tuple]:
    """The rows of a Core SELECT as the driver returns them (plain tuples: for columns the driver already gives
    as Python values — ids, text, counts — not dates or JSON on SQLite). Compiled once per dialect and run
    through the driver (`_run`): no SQLAlchemy execution context or result set-up (~40 µs a statement). For
    statements built once (module constants: the compiled form is kept per statement object); no expanding
    (IN-list) parameters."""
    connection = connection_of(session)
    query = _query(statement, connection.dialect)
    with closing(_run(connection, query.sql, query.bind(params))) as cursor:
        return cursor.fetchall()


class _Query(NamedTuple):
    """A compiled SELECT: its SQL, its parameters' names (in order when positional), their bind processors and
    the values of those the statement itself holds (e.g. a LIMIT)."""

    sql: str
    names: tuple[str, ...]
    processors: tuple
    defaults: dict
    positional: bool

    def bind(self, params: dict) -> tuple | dict:
        """`params` (and the statement's own values) as the driver takes them."""
        values = _bound({**self.defaults, **params}, self.names, self.processors)
        return values if self.positional else dict(zip(self.names, values))


@lru_cache(maxsize=64)
def _query(statement: Select, dialect) -> _Query:
    compiled = statement.compile(dialect=dialect)
    if "POSTCOMPILE" in compiled.string:
        raise ValueError("fetch_all takes no expanding parameters")
    binds = {name: bind for bind, name in compiled.bind_names.items()}  # by the name the SQL gives each
    names = tuple(compiled.positiontup) if compiled.positional else tuple(binds)
    return _Query(compiled.string, names,
                  tuple(binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names),
                  {name: bind.value for name, bind in binds.items() if not bind.required}, compiled.positional)


def update_by_id(session: Session, table: Table, row_id: int, values: dict, *, only_if: dict | None = None) -> int:
    """UPDATE the columns `values` names in the row `row_id`, through a prepared statement; `only_if`: the
    columns it must still hold (compare-and-set). How many rows changed (0 or 1)."""
    connection = connection_of(session)
    only_if = only_if or {}
    prepared = _update_by_id(table, tuple(values), tuple(only_if), connection.dialect)
    params = (*prepared.bind(values), row_id, *prepared.bind_expected(only_if))
    with closing(_run(connection, prepared.sql, params)) as cursor:
        return cursor.rowcount


def update_loaded(session: Session, obj: object, values: dict) -> None:
    """Write `values` (attribute keys of columns) into the persistent `obj`'s row through a prepared UPDATE, and
    onto `obj` as if loaded: no unit-of-work flush (~1 ms for a case) for a column or two. Columns' `onupdate`
    defaults are not applied."""
    state = inspect(obj)
    update_by_id(session, state.mapper.local_table, state.identity[0], values)
    for key, value in values.items():
        state.manager[key].impl.set_committed_value(state, state.dict, value)


def _run(connection: Connection, sql: str, params: tuple | list[tuple], *, many: bool = False):
    """Run `sql` (in the driver's paramstyle, `params` bound) on a DBAPI cursor of `connection`'s transaction
    and return the cursor. SQLAlchemy's execution context (~30 µs a statement: result set-up, bookkeeping
    nobody here reads) is skipped, not what the rest of the app relies on: `before_cursor_execute` listeners
    still see the statement (`TransactionMemo`, tests counting statements), and a driver error is raised as
    SQLAlchemy's `DBAPIError` (its `IntegrityError`, `OperationalError` …), as `execute` raises it."""
    if connection._has_events or connection.engine._has_events:
        connection.dispatch.before_cursor_execute(connection, None, sql, params, None, many)
    cursor = connection.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
    except connection.dialect.loaded_dbapi.Error as error:
        cursor.close()
        raise DBAPIError.instance(sql, params, error, connection.dialect.loaded_dbapi.Error,
                                  dialect=connection.dialect) from error
    return cursor


class _Prepared(NamedTuple):
    """A statement in the driver's paramstyle, the column keys it binds (in order) and their bind processors;
    `expected`: the columns of a compare-and-set WHERE, bound after the row's id."""

    sql: str
    keys: tuple[str, ...]
    processors: tuple
    expected: tuple[str, ...] = ()
    expected_processors: tuple = ()

    def bind(self, values: dict) -> tuple:
        """`values` (by column key) as the driver takes them."""
        return _bound(values, self.keys, self.processors)

    def bind_expected(self, values: dict) -> tuple:
        """The compare-and-set values (by column key) as the driver takes them."""
        return _bound(values, self.expected, self.expected_processors)


def _bound(values: dict, keys: tuple[str, ...], processors: tuple) -> tuple:
    return tuple([values[key] if process is None else process(values[key]) for key, process in zip(keys, processors)])


def _processors(table: Table, keys: tuple[str, ...], dialect) -> tuple:
    return tuple(table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys)


def _prepared(table: Table, keys: tuple[str, ...], dialect, sql: str) -> _Prepared:
    """`sql` binding the columns `keys` of `table`, with their bind processors for `dialect`."""
    return _Prepared(sql, keys, _processors(table, keys, dialect))


def _marker(dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


@lru_cache(maxsize=32)
def _insert_skipping(table: Table, keys: tuple[str, ...], conflict: str, dialect) -> _Prepared:
    """INSERT of `keys` that skips a row conflicting on the unique column `conflict`."""
    sql = _insert_skipping_conflicts(table, keys, (conflict,), [_marker(dialect)] * len(keys))
    return _prepared(table, keys, dialect, sql)


@lru_cache(maxsize=32)
def _insert(table: Table, keys: tuple[str, ...], dialect) -> _Prepared:
    """INSERT of `keys`."""
    columns, markers = ", ".join(f'"{key}"' for key in keys), ", ".join([_marker(dialect)] * len(keys))
    return _prepared(table, keys, dialect, f'INSERT INTO "{table.name}" ({columns}) VALUES ({markers})')


@lru_cache(maxsize=32)
def _insert_returning_id(table: Table, keys: tuple[str, ...], dialect) -> _Prepared:
    """INSERT of `keys` returning the new row's id."""
    insert = _insert(table, keys, dialect)
    return insert._replace(sql=f'{insert.sql} RETURNING "id"')


@lru_cache(maxsize=32)
def _update_by_id(table: Table, keys: tuple[str, ...], expected: tuple[str, ...], dialect) -> _Prepared:
    """UPDATE of `keys` in the row whose id is bound after them, if its columns `expected` (bound last) still
    hold the values given."""
    marker = _marker(dialect)
    assignments = ", ".join(f'"{key}" = {marker}' for key in keys)
    conditions = "".join(f' AND "{key}" = {marker}' for key in expected)
    sql = f'UPDATE "{table.name}" SET {assignments} WHERE "id" = {marker}{conditions}'
    return _prepared(table, keys, dialect, sql)._replace(expected=expected,
                                                         expected_processors=_processors(table, expected, dialect))


_INSERTED = "gridbot_inserted"


def add_inserted(session: Session, obj: T) -> T:
    """Write the new mapped object `obj` with one prebuilt `INSERT … RETURNING id` and make it persistent
    in `session`, without a unit-of-work flush (which costs ~0.5-1 ms for a case: dependency sort,
    relationship sync, per-flush bookkeeping).

    Every column is written from Python, as set on `obj` or else its default, so the object never needs
    reloading; a many-to-one relationship set on `obj` gives its foreign key (its object is flushed
    first if still pending). Collections stay unloaded: set them with `set_committed_value` when known.
    As after a flush, a rollback of the transaction or savepoint that wrote `obj` removes it from the
    session (SQLite may hand its id to the next row).
    """
    state = inspect(obj)
    mapper, row = state.mapper, state.dict
    plan = _insert_plan(mapper)
    for key, pairs in plan.parents:
        target = row.get(key)
        if target is not None:
            target_state = inspect(target)
            if target_state.key is None:
                session.flush([target])
            for local, remote in pairs:
                row[local] = target_state.dict[remote] if remote in target_state.dict else getattr(target, remote)
    values, primary_key = {}, None
    for key, column_key, is_primary, default in plan.columns:
        if is_primary and row.get(key) is None:
            primary_key = key
            continue
        if key not in row:
            row[key] = default()
        values[column_key] = row[key]
    row[primary_key] = insert_returning_id(session, mapper.local_table, values)
    make_transient_to_detached(obj)
    session.add(obj)
    session.info.setdefault(_INSERTED, []).append((session.get_nested_transaction() or session.get_transaction(), obj))
    if mapper.dispatch.after_insert:  # its listeners run as after a flush (progress_links: a new case has no link)
        mapper.dispatch.after_insert(mapper, connection_of(session), state)
    return obj


class _InsertPlan(NamedTuple):
    """What `add_inserted` needs of a mapper: its many-to-one relationships' (key, [(local, remote) attribute
    keys]) and its columns' (attribute key, column key, is primary key, default)."""

    parents: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    columns: tuple[tuple[str, str, bool, Callable[[], object]], ...]


@lru_cache(maxsize=64)
def _insert_plan(mapper) -> _InsertPlan:
    parents = tuple(
        (relationship.key, tuple((mapper.get_property_by_column(local).key,
                                  relationship.mapper.get_property_by_column(remote).key)
                                 for local, remote in relationship.local_remote_pairs))
        for relationship in mapper.relationships if relationship.direction is MANYTOONE)
    columns = tuple((prop.key, prop.columns[0].key, prop.columns[0].primary_key, _default(prop.columns[0]))
                    for prop in mapper.column_attrs)
    return _InsertPlan(parents, columns)


def _default(column) -> Callable[[], object]:
    """A column's Python-side default as a function of nothing."""
    default = column.default
    if default is None:
        return lambda: None
    if default.is_callable:
        return partial(default.arg, None)
    if default.is_scalar:
        return lambda: default.arg
    raise ValueError(f"add_inserted cannot compute the default of {column}")


def within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    """Whether `transaction` is `ancestor` or nested inside it."""
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _inserted_committed(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_INSERTED, None)


@event.listens_for(Session, "after_soft_rollback")
def _inserted_rolled_back(session: Session, previous: SessionTransaction) -> None:
    inserted = session.info.get(_INSERTED)
    if not inserted:
        return
    kept = []
    for transaction, obj in inserted:
        if not within(transaction, previous):
            kept.append((transaction, obj))
        elif obj in session:
            session.expunge(obj)
    session.info[_INSERTED] = kept


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


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
    `inserts=False`: an INSERT into them leaves the memo (its owner counts what it inserts itself)."""

    def __init__(self, key: str, tables: frozenset[str], *, inserts: bool = True) -> None:
        self.key, self.tables, self.inserts = key, tables, inserts
        _MEMOS.append(self)
        _MEMO_KEYS.add(key)

    def get(self, bind: Session | Connection) -> dict:
        """This transaction's memo (a new, empty one when it was forgotten)."""
        return _info(bind).setdefault(self.key, {})

    def held(self, bind: Session | Connection, memo: dict) -> bool:
        """Whether `memo` (from `get`) is still this transaction's: a statement since may have dropped it."""
        return _info(bind).get(self.key) is memo


_MEMOS: list[TransactionMemo] = []
_MEMO_KEYS: set[str] = set()


# One listener for every memo (each statement is looked at once, not once per memo: ~14 statements a message).
@event.listens_for(Engine, "before_cursor_execute")
def _memos_see(connection, _cursor, statement: str, *_args) -> None:
    info = connection.info
    if _MEMO_KEYS.isdisjoint(info):
        return
    write = _WRITE.match(statement)
    if write is None:
        return
    table, insert = write.group(2).lower(), write.group(1)[0] in "Ii"
    for memo in _MEMOS:
        if table in memo.tables and (memo.inserts or not insert):
            info.pop(memo.key, None)


def _memos_forget(connection, *_args) -> None:
    for memo in _MEMOS:
        connection.info.pop(memo.key, None)


for _name in ("commit", "rollback", "rollback_savepoint"):
    event.listen(Engine, _name, _memos_forget)


_CONNECTION = "gridbot_connection"  # session.info: (root transaction, its connection)


def connection_of(session: Session) -> Connection:
    """`session.connection()`, kept for the session's transaction (`Session.connection()` costs ~15 µs, and the
    report path writes a dozen statements a message through it)."""
    transaction = session.get_transaction()
    known = session.info.get(_CONNECTION)
    if transaction is not None and known is not None and known[0] is transaction:
        return known[1]
    connection = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), connection)
    return connection


def _info(bind: Session | Connection) -> dict:
    """The `info` of the connection `bind` uses."""
    return (bind if isinstance(bind, Connection) else connection_of(bind)).info


def held(session: Session, cls: type[T], table: Table, row) -> T | None:
    """The instance of `row`'s columns of `table` (a Core row's mapping, keyed by column) in `session`: the one
    it holds, else one made from the row and added; None when the row has none (an outer join found nothing)."""
    key = row[table.primary_key.columns[0]]
    if key is None:
        return None
    instance = session.identity_map.get(identity_key(cls, key))
    if instance is None:
        instance = as_loaded(cls, {column.key: row[column] for column in table.columns})
        session.add(instance)
    return instance


def as_loaded(cls: type, values: dict):
    """An instance of the mapped class `cls` built from a row's column values (a Core SELECT), detached
    and clean — as if loaded by a query of a session since closed; its relationships load on first use.
    `session.add` makes it the session's own, `session.merge(..., load=False)` copies it in, with no SQL."""
    instance = built(cls, values)
    make_transient_to_detached(instance)
    return instance


def built(cls: type[T], values: dict) -> T:
    """A new instance of the mapped class `cls` holding `values` (attribute keys: columns, or objects of
    many-to-one relationships), as `cls(**values)` gives it but without one attribute event per value (~6 µs
    each): for the report path's new rows (written by `add_inserted`) and for rows read by a Core SELECT
    (`as_loaded`)."""
    instance = cls.__mapper__.class_manager.new_instance()
    instance_state(instance).dict.update(values)
    return instance


def flush_pending(session: Session, *classes: type) -> None:
    """Flush when the session holds unwritten changes to instances of `classes` — before a Core SELECT
    of their tables, which (unlike an ORM query) does not autoflush."""
    # The states themselves (what Session.new/.dirty/.deleted are built from, without building them):
    # asked before every registry lookup, this must cost next to nothing.
    for states in (session._new, session._deleted, session.identity_map._modified):
        if any(issubclass(state.class_, classes) for state in states):
            session.flush()
            return
