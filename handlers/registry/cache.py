"""The registry as the hot path reads it, cached in-process: who is a worker or a liaison, each grid's
on-duty staff and parent, units and grids — kept until the registry changes, in any process.

Every change to a registry table gives `registry_version` a new random value (database triggers,
models/migrations/versions/0011), so whatever wrote it — this process, another `gridbot worker`, the
console, an import, plain SQL — the next transaction that reads the version sees the cache is stale.
A transaction reads the version once, at its first registry lookup (a batch of messages: one small
SELECT), and again after it changed the registry itself (a flush or statement touching a registry
table, a savepoint rolled back), so a message sees the changes of the messages before it.

What is cached is read in the caller's transaction, after the version it is filed under: it is never
older than that version. ORM rows are kept detached and handed out as copies (`models.rows.copied_in`, no
SQL); an instance the session already holds is returned as it is.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models import REGISTRY_TABLES, Area, Department, Grid, Liaison, RegistryVersion, Unit, Worker, worker_grids
from models.db import TransactionMemo
from models.rows import as_loaded, copied_in, flush_pending
from models.statements import fetch_all

_VERSION = select(RegistryVersion.__table__.c.version).where(RegistryVersion.__table__.c.id == 1)
_ALL_WORKERS = select(Worker.__table__).order_by(Worker.id)
_MEMBERSHIPS = (select(worker_grids.c.grid_id, worker_grids.c.worker_id)
                .order_by(worker_grids.c.grid_id, worker_grids.c.worker_id))
_ALL_GRIDS = select(Grid.__table__)
_UNIT = select(Unit.__table__).where(Unit.id == bindparam("unit_id"))
_LIAISONS = select(Liaison.userid)
# The version this transaction read: read again once it wrote a registry table (or a savepoint rolled back).
_SEEN = TransactionMemo("gridbot_registry_version", frozenset(REGISTRY_TABLES))
_ROW_CLASSES = (Area, Grid, Unit, Worker, Department, Liaison)
Row = TypeVar("Row", Grid, Unit, Worker)


@dataclass(frozen=True)
class StaffMember:
    """An on-duty worker of a grid, as routing reads them (plain values; `worker` gives the row)."""

    id: int
    userid: str
    role: str
    matters: tuple[str, ...]


@dataclass(frozen=True)
class _People:
    workers: dict[int, Worker]
    userids: frozenset[str]
    staff: dict[int, tuple[StaffMember, ...]]  # grid id → its on-duty workers, by id


class _Snapshot:
    """The registry at one version, filled as it is asked. Each part is read without holding a lock (two
    threads may both read it; either result is right) and then set in one assignment."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.people: _People | None = None
        self.grids: dict[int, Grid] | None = None
        self.liaison_userids: frozenset[str] | None = None
        self.units: dict[int, Unit | None] = {}


class RegistryCache:
    """One database's cached registry (see the module docstring); `registry_cache(session)` finds it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None

    def snapshot(self, session: Session) -> _Snapshot:
        """The snapshot for the version this transaction sees (a fresh one when it changed)."""
        version = registry_version(session)
        if version is None:  # no version row (a database not migrated): nothing can be kept
            return _Snapshot(0)
        with self._lock:
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = _Snapshot(version)
            return self._snapshot


def registry_version(session: Session) -> int | None:
    """The registry's version as this transaction sees it (read once, and again after it changed the
    registry); None when the database has no version row."""
    flush_pending(session, *_ROW_CLASSES)  # a registry change not yet written moves the version once written
    seen = _SEEN.get(session)
    if "version" not in seen:
        seen["version"] = session.execute(_VERSION).scalar()
    return seen["version"]


_caches: weakref.WeakKeyDictionary[Engine, RegistryCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def registry_cache(session: Session) -> RegistryCache:
    """The cache of the database `session` is bound to (one per engine)."""
    engine = session.get_bind()
    engine = getattr(engine, "engine", engine)
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = RegistryCache()
        return cache


def _snapshot(session: Session) -> _Snapshot:
    """The snapshot this transaction reads (kept beside its version: a lookup costs a dict read)."""
    flush_pending(session, *_ROW_CLASSES)
    seen = _SEEN.get(session)
    snap = seen.get("snapshot")
    if snap is None:
        snap = seen["snapshot"] = registry_cache(session).snapshot(session)
    return snap


def _rows(session: Session, cls: type[Row], statement, params: dict | None = None) -> list[Row]:
    """Rows of `cls` read in the caller's transaction (its registry changes too: `_snapshot` flushed them) as
    detached instances, loaded as if by a query of their own session (columns only: relationships load where
    they are used); through the driver (`fetch_all`)."""
    keys = [column.key for column in statement.selected_columns]
    return [as_loaded(cls, dict(zip(keys, row, strict=True))) for row in fetch_all(session, statement, params or {})]


def _people(session: Session, snap: _Snapshot) -> _People:
    if snap.people is None:
        workers = {w.id: w for w in _rows(session, Worker, _ALL_WORKERS)}
        staff: dict[int, list[StaffMember]] = {}
        for grid_id, worker_id in session.execute(_MEMBERSHIPS):
            member = workers[worker_id]
            if member.on_duty:
                staff.setdefault(grid_id, []).append(
                    StaffMember(member.id, member.userid, member.role, tuple(member.matters or ())))
        snap.people = _People(workers, frozenset(w.userid for w in workers.values()),
                              {grid_id: tuple(members) for grid_id, members in staff.items()})
    return snap.people


def _grids(session: Session, snap: _Snapshot) -> dict[int, Grid]:
    if snap.grids is None:
        snap.grids = {g.id: g for g in _rows(session, Grid, _ALL_GRIDS)}
    return snap.grids


def is_worker(session: Session, userid: str) -> bool:
    """Whether `userid` is a registered worker (any role, on duty or not)."""
    return userid in _people(session, _snapshot(session)).userids


def is_liaison(session: Session, userid: str) -> bool:
    """Whether `userid` is some department's liaison."""
    snap = _snapshot(session)
    if snap.liaison_userids is None:
        snap.liaison_userids = frozenset(session.execute(_LIAISONS).scalars())
    return userid in snap.liaison_userids


def on_duty_staff(session: Session, grid_id: int, *roles: str) -> list[StaffMember]:
    """The grid's on-duty workers of `roles` (any role when none is given), by id."""
    staff = _people(session, _snapshot(session)).staff.get(grid_id, ())
    return [member for member in staff if not roles or member.role in roles]


def worker(session: Session, worker_id: int) -> Worker:
    """The worker row of a `StaffMember`, as an instance of this session."""
    return copied_in(session, _people(session, _snapshot(session)).workers[worker_id])


def grid(session: Session, grid_id: int) -> Grid | None:
    """The grid, as an instance of this session; None when there is none."""
    found = _grids(session, _snapshot(session)).get(grid_id)
    return copied_in(session, found) if found is not None else None


def parent_grid_id(session: Session, grid_id: int) -> int | None:
    """The grid's parent grid, if any."""
    found = _grids(session, _snapshot(session)).get(grid_id)
    return found.parent_grid_id if found is not None else None


def unit(session: Session, unit_id: int) -> Unit | None:
    """The unit with its grid loaded, as instances of this session; None when there is none."""
    units = _snapshot(session).units
    if unit_id not in units:
        rows = _rows(session, Unit, _UNIT, {"unit_id": unit_id})
        units[unit_id] = rows[0] if rows else None
    found = units[unit_id]
    if found is None:
        return None
    attached = copied_in(session, found)
    if "grid" not in attached.__dict__:
        set_committed_value(attached, "grid", grid(session, found.grid_id))
    return attached

