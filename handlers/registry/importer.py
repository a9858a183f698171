"""Importing the registry workbook: every row checked, all problems reported, then one upsert.

`import_registry_file` reads the sheets, checks every row against the file itself and the
database (unknown codes, duplicates, bad phones, missing units …) and raises
`RegistryImportError` with *all* problems — sheet, row, column — before anything is
written. Only a clean file is applied, as an upsert by code / userid, so importing the
same file twice changes nothing. `dry_run` applies inside a savepoint and rolls it back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.registry.records import (
    AreaRecord,
    DepartmentRecord,
    GridRecord,
    Progress,
    Registry,
    ResidentRecord,
    UnitRecord,
    UpsertCounts,
    WorkerRecord,
    apply_registry,
)
from handlers.registry.workbook import LIST_SEPARATORS, Table, read_tables
from handlers.texts import wording
from models import Area, AreaLevel, Grid, Unit, Worker, WorkerRole

PHONE = re.compile(r"^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
AREA_LEVELS = {"区": AreaLevel.DISTRICT, "县": AreaLevel.DISTRICT, "市辖区": AreaLevel.DISTRICT,
               "街道": AreaLevel.STREET, "镇": AreaLevel.STREET, "乡": AreaLevel.STREET,
               "社区": AreaLevel.COMMUNITY, "村": AreaLevel.COMMUNITY, "居委会": AreaLevel.COMMUNITY}
GRID_LEVELS = {"": 1, "一级": 1, "二级": 2, "三级": 3, "1": 1, "2": 2, "3": 3}
ROLE_ALIASES = {"专职": WorkerRole.FULLTIME, "专业": WorkerRole.SPECIALIST, "兼职": WorkerRole.PARTTIME,
                "楼栋长": WorkerRole.UNIT_HEAD, "网格长(组长)": WorkerRole.LEADER}
STATUSES = {"": True, "在岗": True, "是": True, "请假": False, "休假": False, "离岗": False, "否": False}
GRID_ROLES = {WorkerRole.LEADER, WorkerRole.FULLTIME, WorkerRole.SPECIALIST, WorkerRole.PARTTIME, WorkerRole.UNIT_HEAD}
AREA_ROLES = {WorkerRole.COMMUNITY, WorkerRole.STREET}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the file: where (sheet, row, column) and what (a code + the value)."""

    sheet: str
    row: int
    column: str
    code: str  # see templates/registry/import_problems.txt.j2
    value: str = ""


class RegistryImportError(Exception):
    """The file has problems; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the registry file")
        self.problems = problems


@dataclass
class ImportResult:
    rows: int
    counts: UpsertCounts
    dry_run: bool
    ignored_sheets: list[str] = field(default_factory=list)


def _roles() -> dict[str, str]:
    labels = {label: WorkerRole(code) for code, label in wording()["roles"].items()}
    return {**labels, **ROLE_ALIASES, **{role.value: role for role in WorkerRole}}


def split_list(text: str) -> tuple[str, ...]:
    """'阳光、阳光花园' → ('阳光', '阳光花园'); any of 、,，;；/| separate."""
    return tuple(part.strip() for part in re.split(f"[{re.escape(LIST_SEPARATORS)}]", text) if part.strip())


def parse_boundary(text: str) -> tuple[tuple[float, float], ...] | None:
    """'113.08,22.58;113.09,22.58;…' → ((lng, lat), …); None when malformed or < 3 points."""
    try:
        points = tuple((float(lng), float(lat)) for lng, lat in
                       (point.split(",") for point in re.split(r"[;；\s]+", text.replace("，", ",")) if point))
    except ValueError:
        return None
    valid = len(points) >= 3 and all(-180 <= lng <= 180 and -90 <= lat <= 90 for lng, lat in points)
    return points if valid else None


class _Checker:
    """Turns tables into records, collecting every problem instead of stopping at the first."""

    def __init__(self, session: Session, tables: list[Table], known_matters: Iterable[str] | None,
                 progress: Progress) -> None:
        self.problems: list[Problem] = []
        self.registry = Registry()
        self.known_matters = set(known_matters) if known_matters is not None else None
        self.progress = progress
        self.tables = {table.sheet.kind: table for table in tables}
        self.file_keys = {kind: self._keys(table) for kind, table in self.tables.items()}
        self.db_areas = set(session.scalars(select(Area.code)))
        self.db_grids = set(session.scalars(select(Grid.code)))
        self.db_units = set(session.scalars(select(Unit.code)))
        self.db_workers = set(session.scalars(select(Worker.userid)))

    def _keys(self, table: Table) -> set[str]:
        key = "userid" if "userid" in table.headers else "code"
        return {table.value(cells, key) for _, cells in table.rows}

    def problem(self, table: Table, row: int, key: str, code: str, value: str = "") -> None:
        self.problems.append(Problem(table.title, row, table.column_label(key), code, value))

    def rows(self, kind: str):
        """(table, row number, cell getter) for every row with its required cells present, duplicates flagged."""
        table = self.tables.get(kind)
        if table is None:
            return
        missing = [c for c in table.sheet.columns if c.required and c.key not in table.headers]
        for column in missing:
            self.problem(table, 1, column.key, "missing_column")
        if missing:
            return
        seen: dict[str, int] = {}
        key = table.sheet.columns[0].key
        for number, cells in table.rows:
            self.progress(1)
            get = lambda k, cells=cells: table.value(cells, k)  # noqa: E731
            empty = [c.key for c in table.sheet.columns if c.required and not get(c.key)]
            for column_key in empty:
                self.problem(table, number, column_key, "required")
            if get(key) in seen:
                self.problem(table, number, key, "duplicate", f"{get(key)}（第{seen[get(key)]}行）")
                continue
            seen[get(key)] = number
            if not empty:
                yield table, number, get

    def known(self, kind: str, code: str) -> bool:
        db = {"areas": self.db_areas, "grids": self.db_grids, "units": self.db_units}[kind]
        return code in db or code in self.file_keys.get(kind, set())

    def phone(self, table: Table, number: int, value: str) -> str | None:
        phone = re.sub(r"[\s-]", "", value) if value.startswith("1") else value.replace(" ", "")
        if phone and not PHONE.match(phone):
            self.problem(table, number, "phone", "bad_phone", value)
        return phone or None

    def areas(self) -> None:
        for table, number, get in self.rows("areas"):
            level = AREA_LEVELS.get(get("level")) or (get("level") if get("level") in set(AreaLevel) else None)
            if level is None:
                self.problem(table, number, "level", "bad_area_level", get("level"))
            if get("parent") and (get("parent") == get("code") or not self.known("areas", get("parent"))):
                self.problem(table, number, "parent", "unknown_area", get("parent"))
            self.registry.areas.append(AreaRecord(get("code"), get("name"), level, get("parent") or None))

    def grids(self) -> None:
        for table, number, get in self.rows("grids"):
            if not self.known("areas", get("area")):
                self.problem(table, number, "area", "unknown_area", get("area"))
            level = GRID_LEVELS.get(get("level"))
            if level is None:
                self.problem(table, number, "level", "bad_grid_level", get("level"))
            if get("parent") and (get("parent") == get("code") or not self.known("grids", get("parent"))):
                self.problem(table, number, "parent", "unknown_grid", get("parent"))
            if get("webhook") and not get("webhook").startswith(("https://", "http://")):
                self.problem(table, number, "webhook", "bad_webhook", get("webhook"))
            boundary = parse_boundary(get("boundary")) if get("boundary") else None
            if get("boundary") and boundary is None:
                self.problem(table, number, "boundary", "bad_boundary", get("boundary"))
            self.registry.grids.append(GridRecord(get("code"), get("name"), get("area"), level or 1,
                                                  get("parent") or None, get("chat_id") or None,
                                                  get("webhook") or None, boundary))

    def _coordinate(self, table: Table, number: int, key: str, text: str, bound: float) -> float | None:
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not -bound <= value <= bound:
            self.problem(table, number, key, "bad_coordinate", text)
            return None
        return value

    def units(self) -> None:
        for table, number, get in self.rows("units"):
            if not self.known("grids", get("grid")):
                self.problem(table, number, "grid", "unknown_grid", get("grid"))
            lat = self._coordinate(table, number, "lat", get("lat"), 90)
            lng = self._coordinate(table, number, "lng", get("lng"), 180)
            if bool(get("lat")) != bool(get("lng")):
                self.problem(table, number, "lng" if get("lat") else "lat", "half_coordinate")
            self.registry.units.append(UnitRecord(get("code"), get("grid"), get("address"),
                                                  split_list(get("aliases")), lat, lng))

    def workers(self) -> None:
        roles = _roles()
        for table, number, get in self.rows("workers"):
            role = roles.get(get("role"))
            grids, matters = split_list(get("grids")), split_list(get("matters"))
            if role is None:
                self.problem(table, number, "role", "bad_role", get("role"))
            for code in grids:
                if not self.known("grids", code):
                    self.problem(table, number, "grids", "unknown_grid", code)
            if role in GRID_ROLES and not grids:
                self.problem(table, number, "grids", "worker_without_grid")
            if role == WorkerRole.SPECIALIST and not matters:
                self.problem(table, number, "matters", "specialist_without_matters")
            for matter in matters:
                if self.known_matters is not None and matter not in self.known_matters:
                    self.problem(table, number, "matters", "unknown_matter", matter)
            if get("area") and not self.known("areas", get("area")):
                self.problem(table, number, "area", "unknown_area", get("area"))
            if role in AREA_ROLES and not get("area"):
                self.problem(table, number, "area", "staff_without_area")
            if get("status") not in STATUSES:
                self.problem(table, number, "status", "bad_status", get("status"))
            self.registry.workers.append(WorkerRecord(
                get("userid"), get("name"), role, self.phone(table, number, get("phone")), grids, matters,
                get("area") or None, STATUSES.get(get("status"), True)))

    def residents(self) -> None:
        workers = self.file_keys.get("workers", set())
        for table, number, get in self.rows("residents"):
            if get("userid") in workers:
                self.problem(table, number, "userid", "userid_is_worker", get("userid"))
            if not self.known("units", get("unit")):
                self.problem(table, number, "unit", "unknown_unit", get("unit"))
            visit_worker = get("visit_worker")
            if visit_worker and visit_worker not in self.db_workers | workers:
                self.problem(table, number, "visit_worker", "unknown_worker", visit_worker)
            self.registry.residents.append(ResidentRecord(get("userid"), get("name") or None,
                                                          self.phone(table, number, get("phone")), get("unit"),
                                                          split_list(get("groups")), visit_worker or None))

    def departments(self) -> None:
        for table, number, get in self.rows("departments"):
            userids, names = split_list(get("liaisons")), split_list(get("liaison_names"))
            if names and len(names) != len(userids):
                self.problem(table, number, "liaison_names", "liaison_names_mismatch", get("liaison_names"))
            for matter in split_list(get("matters")):
                if self.known_matters is not None and matter not in self.known_matters:
                    self.problem(table, number, "matters", "unknown_matter", matter)
            hours = get("report_hours")
            try:
                report_hours = float(hours) if hours else None
            except ValueError:
                report_hours = None
            if hours and not (report_hours and 0 < report_hours <= 240):
                self.problem(table, number, "report_hours", "bad_report_hours", hours)
            liaisons = tuple(zip(userids, names if len(names) == len(userids) else (None,) * len(userids)))
            self.registry.departments.append(DepartmentRecord(get("code"), get("name"), liaisons,
                                                              split_list(get("matters")), report_hours))

    def check(self) -> Registry:
        for step in (self.areas, self.grids, self.units, self.workers, self.residents, self.departments):
            step()
        if self.problems:
            raise RegistryImportError(self.problems)
        return self.registry


def check_tables(session: Session, tables: list[Table], *, known_matters: Iterable[str] | None = None,
                 progress: Progress | None = None) -> Registry:
    """The records of `tables`, or RegistryImportError listing every problem."""
    if not tables:
        raise RegistryImportError([Problem("", 0, "", "no_sheets")])
    return _Checker(session, tables, known_matters, progress or (lambda n: None)).check()


def import_registry_file(session: Session, path: Path, *, dry_run: bool = False,
                         known_matters: Iterable[str] | None = None,
                         progress: Callable[[str, int], Progress] | None = None) -> ImportResult:
    """Check and upsert a registry workbook/CSV in the caller's transaction (see the module docstring).

    `progress(stage, total)` may return a callback advanced per row, for a progress bar.
    """
    tables, ignored = read_tables(path)
    total = sum(len(table.rows) for table in tables)
    bar = progress or (lambda stage, total: None)
    registry = check_tables(session, tables, known_matters=known_matters, progress=bar("check", total))
    savepoint = session.begin_nested() if dry_run else None
    counts = apply_registry(session, registry, progress=bar("write", len(registry)))
    if savepoint is not None:
        savepoint.rollback()
    return ImportResult(total, counts, dry_run, ignored)
