"""Statements handed straight to the database driver: prepared INSERTs and UPDATEs and plain-valued SELECTs,
each compiled once — the report path's writes and reads without SQLAlchemy's execution context (~30–40 µs a
statement). Listeners still see every statement (`before_cursor_execute`), and driver errors are still
SQLAlchemy's `DBAPIError`."""

from __future__ import annotations

from contextlib import closing
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import Connection, Select, Table, TextClause, bindparam, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


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
    once and the driver runs it directly (`run_on_driver`), so each row costs the driver's work and little
    else.
    """
    connection = connection_of(session)
    prepared = _insert_skipping(table, tuple(rows[0]), conflict, connection.dialect)
    if len(rows) == 1:
        cursor = run_on_driver(connection, prepared.sql, prepared.bind(rows[0]))
    else:
        cursor = run_on_driver(connection, prepared.sql, [prepared.bind(row) for row in rows], many=True)
    with closing(cursor):
        return cursor.rowcount


def insert_row(session: Session, table: Table, values: dict) -> None:
    """INSERT one row of the columns `values` names through a prepared statement."""
    connection = connection_of(session)
    prepared = _insert(table, tuple(values), connection.dialect)
    run_on_driver(connection, prepared.sql, prepared.bind(values)).close()


def insert_returning_id(session: Session, table: Table, values: dict) -> int:
    """INSERT one row (every column given but the id) through a prepared statement; its new id."""
    connection = connection_of(session)
    prepared = _insert_returning_id(table, tuple(values), connection.dialect)
    with closing(run_on_driver(connection, prepared.sql, prepared.bind(values))) as cursor:
        return cursor.fetchone()[0]


def fetch_all(session: Session, statement: Select, params: dict) -> list[tuple]:
    """The rows of a Core SELECT as plain tuples, each value as SQLAlchemy gives it (a date or JSON column
    through its type's result processor; ids, text and counts as the driver returns them). Compiled once per
    dialect and run through the driver (`run_on_driver`): no SQLAlchemy execution context or result set-up
    (~40 µs a statement). For statements built once (module constants: the compiled form is kept per
    statement object); no expanding (IN-list) parameters."""
    connection = connection_of(session)
    query = _query(statement, connection.dialect)
    with closing(run_on_driver(connection, query.sql, query.bind(params))) as cursor:
        rows = cursor.fetchall()
        results = _results(statement, connection.dialect, tuple(column[1] for column in cursor.description))
    if results is None:
        return rows
    return [tuple([value if process is None or value is None else process(value)
                   for value, process in zip(row, results)]) for row in rows]


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
                  tuple(_processor(binds[name].type, dialect) for name in names),
                  {name: bind.value for name, bind in binds.items() if not bind.required}, compiled.positional)


@lru_cache(maxsize=64)
def _results(statement: Select, dialect, coltypes: tuple) -> tuple | None:
    """The result processors of `statement`'s columns, as SQLAlchemy picks them for the types the driver
    reports (`cursor.description`); None when every column comes as the driver gives it."""
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, coltype)
                    for column, coltype in zip(statement.selected_columns, coltypes, strict=True))
    return results if any(results) else None


def update_by_id(session: Session, table: Table, row_id: int, values: dict, *, only_if: dict | None = None) -> int:
    """UPDATE the columns `values` names in the row `row_id`, through a prepared statement; `only_if`: the
    columns it must still hold (compare-and-set). How many rows changed (0 or 1)."""
    connection = connection_of(session)
    only_if = only_if or {}
    prepared = _update_by_id(table, tuple(values), tuple(only_if), connection.dialect)
    params = (*prepared.bind(values), row_id, *prepared.bind_expected(only_if))
    with closing(run_on_driver(connection, prepared.sql, params)) as cursor:
        return cursor.rowcount


def run_on_driver(connection: Connection, sql: str, params: tuple | list[tuple], *, many: bool = False):
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


def _processor(type_, dialect):
    """How `dialect`'s driver takes a value of `type_` (None: as it is)."""
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _processors(table: Table, keys: tuple[str, ...], dialect) -> tuple:
    return tuple(_processor(table.c[key].type, dialect) for key in keys)


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


_CONNECTION = "gridbot_connection"  # session.info: (innermost transaction, its connection, the connection's info)


def connection_of(session: Session) -> Connection:
    """`session.connection()`, kept for the session's innermost transaction (`Session.connection()` costs ~15 µs, and
    the report path writes a dozen statements a message through it). Asked once in each savepoint, so that the
    savepoint is opened (SQLAlchemy sends SAVEPOINT when a nested transaction first asks for its connection) before
    any statement of it goes to the driver."""
    return _kept(session)[1]


def connection_info(session: Session) -> dict:
    """The `info` of `connection_of(session)`, kept beside it (`Connection.info` is a chain of three properties, and
    `TransactionMemo` asks for it ~18 times a report)."""
    return _kept(session)[2]


def _kept(session: Session) -> tuple:
    known = session.info.get(_CONNECTION)
    if known is not None and known[0] is _innermost(session):
        return known
    connection = session.connection()
    known = session.info[_CONNECTION] = (_innermost(session), connection, connection.info)
    return known


def _innermost(session: Session):
    return session.get_nested_transaction() or session.get_transaction()
