"""The district registry as plain records, and their idempotent upsert into the database.

Every way into the registry — the demo district, an imported workbook — produces a
`Registry` of records keyed by code/userid; `apply_registry` writes them, creating what is
new and updating only what changed, so applying the same records twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Area, Department, Grid, Liaison, Resident, Unit, Worker, utcnow


@dataclass(frozen=True)
class AreaRecord:
    code: str
    name: str
    level: str  # AreaLevel value
    parent_code: str | None = None


@dataclass(frozen=True)
class GridRecord:
    code: str
    name: str
    area_code: str
    level: int = 1
    parent_code: str | None = None
    chat_id: str | None = None
    webhook_url: str | None = None
    boundary: tuple[tuple[float, float], ...] | None = None  # ((lng, lat), ...)


@dataclass(frozen=True)
class UnitRecord:
    code: str
    grid_code: str
    address: str
    aliases: tuple[str, ...] = ()
    lat: float | None = None
    lng: float | None = None


@dataclass(frozen=True)
class WorkerRecord:
    userid: str
    name: str
    role: str  # WorkerRole value
    phone: str | None = None
    grid_codes: tuple[str, ...] = ()
    matters: tuple[str, ...] = ()
    area_code: str | None = None
    on_duty: bool = True


@dataclass(frozen=True)
class ResidentRecord:
    userid: str
    name: str | None = None
    phone: str | None = None
    unit_code: str | None = None
    groups: tuple[str, ...] = ()  # 重点人群
    visit_worker: str | None = None  # userid of the worker who visits them, when not the grid's default


@dataclass(frozen=True)
class DepartmentRecord:
    """A functional department (职能部门) and its liaisons as (userid, name) pairs."""

    code: str
    name: str
    liaisons: tuple[tuple[str, str | None], ...] = ()
    matters: tuple[str, ...] = ()
    report_hours: float | None = None


@dataclass
class Registry:
    """A batch of registry records, in dependency order."""

    areas: list[AreaRecord] = field(default_factory=list)
    grids: list[GridRecord] = field(default_factory=list)
    units: list[UnitRecord] = field(default_factory=list)
    workers: list[WorkerRecord] = field(default_factory=list)
    residents: list[ResidentRecord] = field(default_factory=list)
    departments: list[DepartmentRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return (len(self.areas) + len(self.grids) + len(self.units) + len(self.workers) + len(self.residents)
                + len(self.departments))


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


Progress = Callable[[int], None]


def _same(current, wanted) -> bool:
    if isinstance(wanted, list) and wanted and not isinstance(wanted[0], (str, list)):
        return set(current) == set(wanted)  # a collection of rows: order does not matter
    return current == wanted


def _assign(obj, values: dict) -> bool:
    """Set the attributes that differ; True when anything changed."""
    changed = False
    for name, value in values.items():
        if not _same(getattr(obj, name), value):
            setattr(obj, name, value)
            changed = True
    return changed


class _Upserter:
    """Writes records of one registry batch, resolving codes to rows as it goes."""

    def __init__(self, session: Session, progress: Progress | None) -> None:
        self.session = session
        self.counts = UpsertCounts()
        self.progress = progress or (lambda n: None)

    def _keyed(self, model, key: str, wanted: Iterable[str]) -> dict:
        wanted = list(dict.fromkeys(wanted))
        found = {}
        column = getattr(model, key)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            found.update({getattr(row, key): row for row in self.session.scalars(select(model).where(column.in_(chunk)))})
        return found

    def _put(self, existing: dict, key: str, model, values: dict):
        row = existing.get(key)
        if row is None:
            row = model(**values)
            self.session.add(row)
            existing[key] = row
            self.counts.created += 1
        elif _assign(row, values):
            self.counts.updated += 1
        else:
            self.counts.unchanged += 1
        self.progress(1)
        return row

    def areas(self, records: list[AreaRecord]) -> dict[str, Area]:
        rows = self._keyed(Area, "code", [r.code for r in records] + [r.parent_code for r in records if r.parent_code])
        for record in _parents_first(records):
            self._put(rows, record.code, Area, {"code": record.code, "name": record.name, "level": record.level,
                                                "parent": rows.get(record.parent_code)})
        return rows

    def grids(self, records: list[GridRecord], areas: dict[str, Area]) -> dict[str, Grid]:
        areas.update(self._keyed(Area, "code", [r.area_code for r in records if r.area_code not in areas]))
        rows = self._keyed(Grid, "code", [r.code for r in records] + [r.parent_code for r in records if r.parent_code])
        for record in _parents_first(records):
            boundary = [list(point) for point in record.boundary] if record.boundary else None
            self._put(rows, record.code, Grid, {
                "code": record.code, "name": record.name, "level": record.level, "area": areas[record.area_code],
                "parent": rows.get(record.parent_code), "chat_id": record.chat_id,
                "webhook_url": record.webhook_url, "boundary": boundary})
        return rows

    def units(self, records: list[UnitRecord], grids: dict[str, Grid]) -> dict[str, Unit]:
        grids.update(self._keyed(Grid, "code", [r.grid_code for r in records if r.grid_code not in grids]))
        rows = self._keyed(Unit, "code", [r.code for r in records])
        for record in records:
            self._put(rows, record.code, Unit, {
                "code": record.code, "grid": grids[record.grid_code], "address": record.address,
                "aliases": list(record.aliases), "lat": record.lat, "lng": record.lng})
        return rows

    def workers(self, records: list[WorkerRecord], grids: dict[str, Grid], areas: dict[str, Area]) -> None:
        codes = {code for r in records for code in r.grid_codes if code not in grids}
        grids.update(self._keyed(Grid, "code", codes))
        areas.update(self._keyed(Area, "code", [r.area_code for r in records if r.area_code and r.area_code not in areas]))
        rows = self._keyed(Worker, "userid", [r.userid for r in records])
        for record in records:
            self._put(rows, record.userid, Worker, {
                "userid": record.userid, "name": record.name, "phone": record.phone, "role": record.role,
                "matters": list(record.matters), "on_duty": record.on_duty,
                "area": areas[record.area_code] if record.area_code else None,
                "grids": [grids[code] for code in record.grid_codes]})

    def residents(self, records: list[ResidentRecord], units: dict[str, Unit]) -> None:
        units.update(self._keyed(Unit, "code", [r.unit_code for r in records if r.unit_code and r.unit_code not in units]))
        rows = self._keyed(Resident, "userid", [r.userid for r in records])
        workers = self._keyed(Worker, "userid", [r.visit_worker for r in records if r.visit_worker])
        for record in records:
            row = self._put(rows, record.userid, Resident, {
                "userid": record.userid, "name": record.name, "phone": record.phone,
                "unit": units[record.unit_code] if record.unit_code else None, "groups": list(record.groups),
                "visit_worker": workers.get(record.visit_worker) if record.visit_worker else None})
            set_groups_since(row, utcnow())

    def departments(self, records: list[DepartmentRecord]) -> None:
        rows = self._keyed(Department, "code", [r.code for r in records])
        for record in records:
            unchanged = self.counts.unchanged
            row = self._put(rows, record.code, Department, {
                "code": record.code, "name": record.name, "matters": list(record.matters),
                "report_hours": record.report_hours})
            wanted = list(dict.fromkeys(record.liaisons))
            if [(liaison.userid, liaison.name) for liaison in row.liaisons] != wanted:
                row.liaisons = [Liaison(userid=userid, name=name) for userid, name in wanted]
                if self.counts.unchanged > unchanged:  # only the liaisons changed
                    self.counts.unchanged, self.counts.updated = self.counts.unchanged - 1, self.counts.updated + 1


def set_groups_since(resident: Resident, now: datetime) -> None:
    """Visits are owed from when a person first joined a special group; none once they are in none."""
    resident.groups_since = (resident.groups_since or now) if resident.groups else None


def _parents_first(records: list) -> list:
    """Records ordered so that a parent (same batch) comes before its children."""
    by_code = {r.code: r for r in records}

    def depth(record, seen=0) -> int:
        parent = by_code.get(record.parent_code)
        return 0 if parent is None or seen > len(by_code) else 1 + depth(parent, seen + 1)

    return sorted(records, key=depth)


def apply_registry(session: Session, registry: Registry, progress: Progress | None = None) -> UpsertCounts:
    """Upsert every record (by code / userid) in the caller's transaction."""
    upsert = _Upserter(session, progress)
    areas = upsert.areas(registry.areas)
    grids = upsert.grids(registry.grids, areas)
    units = upsert.units(registry.units, grids)
    upsert.workers(registry.workers, grids, areas)
    upsert.residents(registry.residents, units)
    upsert.departments(registry.departments)
    session.flush()
    return upsert.counts
