"""The demo district: config/demo/district.yaml expanded into registry records.

The spec names places compactly (estates with building ranges, hamlets); this module
lays them out on a small map (square grid boundaries, unit coordinates inside them),
groups buildings into units, and staffs every grid with invented people.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import SHIPPED_CONFIG_DIR
from handlers.registry.records import (
    AreaRecord,
    DepartmentRecord,
    GridRecord,
    Registry,
    ResidentRecord,
    UnitRecord,
    UpsertCounts,
    WorkerRecord,
    apply_registry,
)
from models import AreaLevel, Grid, ShopItem, Volunteer, WorkerRole
from models.db import make_engine, make_session_factory
from models.setup import init_database

METRES_PER_DEGREE = 111_320.0
_CN_DIGITS = "零一二三四五六七八九"


def phase_label(phase: int) -> str:
    """2 → 二期 (phases are at most 9 in the demo); 0 → no phase."""
    return f"{_CN_DIGITS[phase]}期" if phase else ""


def building_label(buildings: list[str]) -> str:
    """["1", "2"] → 1-2栋, ["5"] → 5栋, ["A"] → A座."""
    suffix = "栋" if buildings[0].isdigit() else "座"
    if len(buildings) == 1:
        return f"{buildings[0]}{suffix}"
    return f"{buildings[0]}-{buildings[-1]}{suffix}"


def expand_buildings(spec: str) -> list[str]:
    """'1-12' → ['1', ..., '12']; 'A,B' → ['A', 'B']."""
    out: list[str] = []
    for part in str(spec).split(","):
        first, _, last = part.strip().partition("-")
        out.extend(str(n) for n in range(int(first), int(last) + 1)) if last else out.append(first)
    return out


@dataclass(frozen=True)
class DemoPlace:
    """How a demo unit is described: some buildings of an estate's phase, or a hamlet (村民小组)."""

    code: str
    prefix: str  # district and street, as a full address starts
    community: str
    road: str = ""
    estate: str = ""
    estate_aliases: tuple[str, ...] = ()
    phase: int = 0
    buildings: tuple[str, ...] = ()
    hamlet: str = ""
    group: int = 0  # the hamlet's group number in its village (石湾村3组)

    @property
    def address(self) -> str:
        if self.hamlet:
            return f"{self.prefix}{self.community}{self.hamlet}村民小组"
        return f"{self.prefix}{self.road}{self.estate}{phase_label(self.phase)}{building_label(list(self.buildings))}"

    @property
    def aliases(self) -> tuple[str, ...]:
        if self.hamlet:
            return self.hamlet, f"{self.hamlet}村", f"{self.community}{self.group}组"
        stem = self.estate + (f"{self.phase}期" if self.phase else "")
        return *self.estate_aliases, *(f"{stem}{building_label([b])}" for b in self.buildings)


@dataclass
class _Map:
    """Places grid squares on a lattice: one block of squares per community."""

    lat0: float
    lng0: float
    cell_m: float

    def offset(self, north_m: float, east_m: float) -> tuple[float, float]:
        lat = self.lat0 + north_m / METRES_PER_DEGREE
        lng = self.lng0 + east_m / (METRES_PER_DEGREE * math.cos(math.radians(self.lat0)))
        return round(lat, 6), round(lng, 6)

    def square(self, block: int, slot: int) -> tuple[float, float]:
        """South-west corner (north_m, east_m) of grid `slot` in community `block`."""
        block_row, block_col = divmod(block, 2)
        row, col = divmod(slot, 3)
        return (block_row * 3 + row) * self.cell_m, (block_col * 4 + col) * self.cell_m

    def boundary(self, corner: tuple[float, float]) -> tuple[tuple[float, float], ...]:
        north, east = corner
        points = [(north, east), (north, east + self.cell_m), (north + self.cell_m, east + self.cell_m),
                  (north + self.cell_m, east)]
        return tuple((lng, lat) for lat, lng in (self.offset(n, e) for n, e in points))

    def spots(self, corner: tuple[float, float], count: int) -> list[tuple[float, float]]:
        """`count` evenly spaced points inside the square at `corner`."""
        side = max(1, math.ceil(math.sqrt(count)))
        step = self.cell_m / (side + 1)
        north, east = corner
        return [self.offset(north + step * (1 + i // side), east + step * (1 + i % side)) for i in range(count)]


@dataclass
class _People:
    """Invented names and phone numbers handed out in a fixed order."""

    names: list[str]
    used: int = 0
    phones: dict[str, int] = field(default_factory=dict)

    def name(self) -> str:
        self.used += 1
        return self.names[(self.used - 1) % len(self.names)]

    def phone(self, prefix: str) -> str:
        self.phones[prefix] = self.phones.get(prefix, 0) + 1
        return f"{prefix}{self.phones[prefix]:08d}"


def _names(spec: dict) -> list[str]:
    names = [s + g for g in spec["given"] for s in spec["surnames"]]
    random.Random(20240611).shuffle(names)
    return names


class _Builder:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.out = Registry()
        self.people = _People(_names(spec))
        origin = spec["origin"]
        self.map = _Map(origin["lat"], origin["lng"], float(spec["cell_m"]))
        self.codes_by_tag: dict[str, dict[str, str]] = {}  # community tag -> grid number/key -> code
        self.hamlets = 0
        self.places: list[DemoPlace] = []

    def person(self, given: dict | None, userid: str, role: str, **extra) -> None:
        given = given or {}
        self.out.workers.append(WorkerRecord(
            userid=given.get("userid", userid), name=given.get("name") or self.people.name(), role=role,
            phone=str(given.get("phone") or self.people.phone("139")),
            on_duty=given.get("userid", userid) not in self.spec.get("on_leave", []), **extra))

    def build(self) -> Registry:
        district = self.spec["district"]
        self.out.areas.append(AreaRecord(district["code"], district["name"], AreaLevel.DISTRICT))
        block = 0
        for street in self.spec["streets"]:
            self.out.areas.append(AreaRecord(street["code"], street["name"], AreaLevel.STREET, district["code"]))
            for staff in street.get("staff", []):
                self.person(staff, "", WorkerRole.STREET, area_code=street["code"])
            for community in street["communities"]:
                self.community(street, community, block)
                block += 1
        self.extras()
        self.out.departments = [
            DepartmentRecord(d["code"], d["name"], tuple((p["userid"], p.get("name")) for p in d.get("liaisons", [])),
                             tuple(d.get("matters", []))) for d in self.spec.get("departments", [])]
        return self.out

    def community(self, street: dict, community: dict, block: int) -> None:
        code, tag = community["code"], community["tag"]
        self.out.areas.append(AreaRecord(code, community["name"], AreaLevel.COMMUNITY, street["code"]))
        for staff in community.get("staff", []):
            self.person(staff, "", WorkerRole.COMMUNITY, area_code=code)
        keys: dict[str, str] = {}
        slot = 0
        for number, grid in enumerate(community["grids"], start=1):
            grid_code = f"{code}{number:03d}"
            keys[grid.get("key", str(number))] = grid_code
            parent = keys.get(grid.get("parent")) if grid.get("parent") else None
            is_leaf = "estates" in grid or "hamlets" in grid
            corner = self.map.square(block, slot)
            has_boundary = is_leaf and "estates" in grid
            self.out.grids.append(GridRecord(
                code=grid_code, name=grid["name"], area_code=code, level=int(grid.get("level", 1)),
                parent_code=parent, chat_id=f"grid-{grid_code}",
                boundary=self.map.boundary(corner) if has_boundary else None))
            if parent is None:
                self.person(grid.get("leader"), f"{tag}-leader-{number}", WorkerRole.LEADER, grid_codes=(grid_code,))
            if is_leaf:
                slot += 1
                fulltime = grid.get("fulltime") or [{}]
                for i, given in enumerate(fulltime):
                    self.person(given, f"{tag}-worker-{number}" + (f"-{i + 1}" if i else ""), WorkerRole.FULLTIME,
                                grid_codes=(grid_code,))
                self.units(street, community, grid, grid_code, corner)
        self.codes_by_tag[tag] = keys

    def units(self, street: dict, community: dict, grid: dict, grid_code: str, corner) -> None:
        prefix = f"{self.spec['district']['name']}{street['name']}"
        places: list[DemoPlace] = []
        for estate in grid.get("estates", []):
            per_unit = int(estate.get("per_unit", 2))
            for phase, buildings in estate["phases"].items():
                numbers = expand_buildings(buildings)
                places += [DemoPlace("", prefix, community["name"], estate["road"], estate["name"],
                                     tuple(estate.get("aliases", [])), int(phase), tuple(numbers[i:i + per_unit]))
                           for i in range(0, len(numbers), per_unit)]
        for hamlet in grid.get("hamlets", []):
            self.hamlets += 1
            places.append(DemoPlace("", prefix, community["name"], hamlet=hamlet, group=self.hamlets))
        for index, (place, (lat, lng)) in enumerate(zip(places, self.map.spots(corner, len(places))), 1):
            place = replace(place, code=f"{grid_code}{index:03d}")
            self.places.append(place)
            self.out.units.append(UnitRecord(place.code, grid_code, place.address, place.aliases, lat, lng))

    def extras(self) -> None:
        """Specialists, part-time workers, unit heads and residents."""
        for item in self.spec.get("specialists", []):
            codes = self.codes_by_tag[item["community"]]
            self.person(item, "", WorkerRole.SPECIALIST, matters=tuple(item["matters"]),
                        grid_codes=tuple(codes[str(n)] for n in item["grids"]))
        for item in self.spec.get("parttime", []):
            codes = self.codes_by_tag[item["community"]]
            for n in item["grids"]:
                self.person(None, f"{item['community']}-parttime-{n}", WorkerRole.PARTTIME, grid_codes=(codes[str(n)],))
        seen_grids: dict[str, int] = {}
        for unit in self.out.units:
            seen_grids.setdefault(unit.grid_code, len(seen_grids))
        for grid_code, _ in list(seen_grids.items())[: int(self.spec.get("unit_heads", 0))]:
            self.person(None, f"unithead-{grid_code[-6:]}", WorkerRole.UNIT_HEAD, grid_codes=(grid_code,))
        demo = self.spec["demo_resident"]
        self.out.residents.append(ResidentRecord(demo["userid"], demo["name"], str(demo["phone"]),
                                                 self.out.units[0].code))
        every = int(self.spec.get("residents_every", 2))
        for n, unit in enumerate(self.out.units[::every], start=1):
            self.out.residents.append(ResidentRecord(f"resident-{n:03d}", self.people.name(),
                                                     self.people.phone("136"), unit.code))
        self.special_groups()

    def special_groups(self) -> None:
        """`special_per_grid` 重点人群 residents in every grid with units, groups in turn; the first grid's named."""
        spec = self.spec.get("special", {})
        groups, named = spec.get("groups", []), list(spec.get("named", []))
        units_by_grid: dict[str, list[UnitRecord]] = {}
        for unit in self.out.units:
            units_by_grid.setdefault(unit.grid_code, []).append(unit)
        turn = 0
        for grid_code, units in units_by_grid.items():
            for i in range(int(spec.get("per_grid", 0))):
                given = named.pop(0) if named else {}
                chosen = tuple(given.get("groups") or (groups[turn % len(groups)],))
                turn += 1
                self.out.residents.append(ResidentRecord(
                    f"care-{grid_code}-{i + 1}", given.get("name") or self.people.name(), self.people.phone("135"),
                    units[(i * 3) % len(units)].code, chosen))


def _built(spec_path: Path) -> _Builder:
    builder = _Builder(yaml.safe_load(spec_path.read_text(encoding="utf-8")))
    builder.build()
    return builder


def build_demo_registry(spec_path: Path) -> Registry:
    """The demo district's records from its spec file."""
    return _built(spec_path).out


def demo_places(spec_path: Path) -> list[DemoPlace]:
    """How each demo unit was described (what the labelled routing set is built from)."""
    return _built(spec_path).places


def demo_spec_path(config_dir: Path) -> Path:
    """The demo district spec of `config_dir`, else the shipped one."""
    candidate = config_dir / "demo" / "district.yaml"
    return candidate if candidate.is_file() else SHIPPED_CONFIG_DIR / "demo" / "district.yaml"


def load_demo_district(session: Session, config_dir: Path) -> UpsertCounts:
    """Load (or refresh) the demo district: an idempotent upsert, safe to run every start."""
    builder = _built(demo_spec_path(config_dir))
    counts = apply_registry(session, builder.out)
    _load_shop_and_volunteers(session, builder)
    return counts


def _load_shop_and_volunteers(session: Session, builder: _Builder) -> None:
    """The demo's shop items and volunteers, created once (later edits in the console are kept)."""
    known = set(session.scalars(select(ShopItem.name)))
    session.add_all(ShopItem(name=item["name"], points=int(item["points"]), stock=int(item["stock"]))
                    for item in builder.spec.get("shop", []) if item["name"] not in known)
    grids = {grid.code: grid.id for grid in session.scalars(select(Grid))}
    registered = set(session.scalars(select(Volunteer.userid)))
    session.add_all(Volunteer(name=v["name"], userid=v["userid"],
                              grid_id=grids.get(builder.codes_by_tag[v["community"]][str(v["grid"])]))
                    for v in builder.spec.get("volunteers", []) if v["userid"] not in registered)
    session.flush()


def init_demo_database(url: str, config_dir: Path) -> None:
    """What `gridbot db init --demo` does: migrate, then load the demo district."""
    init_database(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            load_demo_district(session, config_dir)
    finally:
        engine.dispose()
