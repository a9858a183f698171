"""Mapped objects without the unit of work: a new row written at once (`add_inserted`, `built`), rows of a
Core SELECT adopted as if loaded (`held`, `as_loaded`), a cached row copied into a session (`copied_in`), an
instance found by primary key (`in_session`), a column or two written in place (`update_loaded`), and the
flush a Core SELECT needs first (`flush_pending`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from typing import NamedTuple, TypeVar

from sqlalchemy import Table, event, inspect
from sqlalchemy.orm import MANYTOONE, Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from models.statements import connection_of, insert_returning_id, insert_row, update_by_id

T = TypeVar("T")


def update_loaded(session: Session, obj: object, values: dict, *, only_if: dict | None = None) -> bool:
    """Write `values` (attribute keys of columns) into the persistent `obj`'s row through a prepared UPDATE, and
    onto `obj` as if loaded: no unit-of-work flush (~1 ms for a case) for a column or two. `only_if`: the
    columns the row must still hold (compare-and-set); False, and `obj` left as it was, when it no longer does.
    Columns' `onupdate` defaults are not applied."""
    state = inspect(obj)
    if not update_by_id(session, state.mapper.local_table, state.identity[0], values, only_if=only_if):
        return False
    for key, value in values.items():
        state.manager[key].impl.set_committed_value(state, state.dict, value)
    return True


_INSERTED = "gridbot_inserted"


def add_inserted(session: Session, obj: T) -> T:
    """Write the new mapped object `obj` with one prebuilt `INSERT … RETURNING id` (a plain INSERT when its
    primary key is set) and make it persistent in `session`, without a unit-of-work flush (which costs ~0.5-1 ms for a case: dependency sort,
    relationship sync, per-flush bookkeeping).

    Every column is written from Python, as set on `obj` or else its default, so the object never needs
    reloading; a many-to-one relationship set on `obj` gives its foreign key (its object is flushed
    first if still pending). Collections stay unloaded: set them with `set_committed_value` when known.
    As after a flush, a rollback of the transaction or savepoint that wrote `obj` removes it from the
    session (SQLite may hand its id to the next row).
    """
    state = instance_state(obj)
    mapper, row = state.mapper, state.dict
    plan = _row_plan(mapper)
    for key, pairs in plan.parents:
        target = row.get(key)
        if target is not None:
            target_state = instance_state(target)
            if target_state.key is None:
                session.flush([target])
            for local, remote in pairs:
                row[local] = target_state.dict[remote] if remote in target_state.dict else getattr(target, remote)
    values = {}
    for key, column_key, is_primary, default in plan.columns:
        if is_primary and row.get(key) is None:
            continue
        if key not in row:
            row[key] = default()
        values[column_key] = row[key]
    if row.get(plan.primary_key) is None:
        row[plan.primary_key] = insert_returning_id(session, mapper.local_table, values)
    else:  # a key of its own (a conversation's userid)
        insert_row(session, mapper.local_table, values)
    _adopt(session, obj)
    session.info.setdefault(_INSERTED, []).append((session.get_nested_transaction() or session.get_transaction(), obj))
    if mapper.dispatch.after_insert:  # its listeners run as after a flush (progress_links: a new case has no link)
        mapper.dispatch.after_insert(mapper, connection_of(session), state)
    return obj


class _RowPlan(NamedTuple):
    """What `add_inserted` and `_adopt` need of a mapper: its many-to-one relationships' (key, [(local, remote)
    attribute keys]), its columns' (attribute key, column key, is primary key, default) and its primary key's
    attribute key."""

    parents: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    columns: tuple[tuple[str, str, bool, Callable[[], object]], ...]
    primary_key: str


@lru_cache(maxsize=64)
def _row_plan(mapper) -> _RowPlan:
    parents = tuple(
        (relationship.key, tuple((mapper.get_property_by_column(local).key,
                                  relationship.mapper.get_property_by_column(remote).key)
                                 for local, remote in relationship.local_remote_pairs))
        for relationship in mapper.relationships if relationship.direction is MANYTOONE)
    columns = tuple((prop.key, prop.columns[0].key, prop.columns[0].primary_key, _default(prop.columns[0]))
                    for prop in mapper.column_attrs)
    (primary_key,) = (key for key, _column, is_primary, _default_value in columns if is_primary)
    return _RowPlan(parents, columns, primary_key)


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


def held(session: Session, cls: type[T], table: Table, row) -> T | None:
    """The instance of `row`'s columns of `table` (a Core row's mapping, keyed by column) in `session`: the one
    it holds, else one made from the row and made the session's own as if loaded; None when the row has none
    (an outer join found nothing)."""
    key = row[table.primary_key.columns[0]]
    if key is None:
        return None
    instance = in_session(session, cls, key)
    if instance is None:
        instance = _adopt(session, built(cls, {column.key: row[column] for column in table.columns}))
    return instance


def in_session(session: Session, cls: type[T], key) -> T | None:
    """The instance of `cls` with primary key `key` that `session` holds, else None (no SQL, no autoflush)."""
    return session.identity_map.get((cls.__mapper__._identity_class, (key,), None))


def copied_in(session: Session, instance: T) -> T:
    """`session`'s instance of the detached, loaded `instance` (one shared by sessions, e.g. cached): the one
    it holds, else a copy of its columns made the session's own as if loaded — `Session.merge(load=False)`
    for a row whose relationships are not loaded, without merge's walk over every attribute."""
    mapper = instance.__mapper__
    plan = _row_plan(mapper)
    values = instance_state(instance).dict
    held_instance = in_session(session, type(instance), values[plan.primary_key])
    if held_instance is not None:
        return held_instance
    return _adopt(session, built(type(instance), {key: values[key] for key, *_ in plan.columns if key in values}))


def _adopt(session: Session, instance: T) -> T:
    """Make `instance` (built or inserted: every column set, its primary key among them) persistent in
    `session` as if loaded: what `make_transient_to_detached` and `Session.add` do, without computing its
    identity from the mapper's columns and without the save-update cascade over its relationships (whatever
    it refers to is already the session's): about a third of `Session.add`'s cost for a case."""
    state = instance_state(instance)
    state.key = (state.mapper._identity_class, (state.dict[_row_plan(state.mapper).primary_key],), None)
    state._commit_all(state.dict)
    session._update_impl(state)
    return instance


def as_loaded(cls: type, values: dict):
    """An instance of the mapped class `cls` built from a row's column values (a Core SELECT), detached
    and clean — as if loaded by a query of a session since closed; its relationships load on first use.
    `copied_in` copies it into a session, with no SQL."""
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
    # asked before every registry lookup and read of a report (~10 a message), this must cost next to nothing.
    new, deleted, modified = session._new, session._deleted, session.identity_map._modified
    if not (new or deleted or modified):  # the usual case: nothing at all unwritten
        return
    for states in (new, deleted, modified):
        if any(issubclass(state.class_, classes) for state in states):
            session.flush()
            return
