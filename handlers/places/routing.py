"""Routing: where a case happened (address text, location) and who handles it.

The place comes from, in order: the resident's bound unit, an address in the text
(`AddressIndex`), a location (`locate_point`), or the resident's answer when asked.
The assignee (`pick_assignee`): a 专业 worker of the grid covering the category, else the
专职 worker with the fewest open cases, else the grid leader (up the grid's parents), else the
nearest on-duty 专职 worker of the community; workers on leave are skipped. Urgent matters go to the nearest on-duty 专职 worker,
with the leader told at once (`urgent_responders`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from handlers.places.address_index import AddressIndex, AddressMatch
from handlers.registry import cache as registry
from handlers.registry.cache import StaffMember
from models import OPEN_STATES, Case, Grid, Unit, Worker, WorkerRole, state_in
from models.db import TransactionMemo
from models.rows import flush_pending
from models.statements import fetch_all

__all__ = ["AddressIndex", "AddressMatch", "PointMatch", "locate_point", "pick_assignee", "urgent_responders"]

EARTH_RADIUS_M = 6_371_000.0
MAX_UNIT_DISTANCE_M = 3_000.0  # a location farther than this from every unit is not ours
MAX_OUTSIDE_M = 500.0  # ... nor one outside every boundary farther than this from the nearest unit of a mapped grid
_SEARCH_DEGREES = MAX_UNIT_DISTANCE_M / 111_000.0


@dataclass(frozen=True)
class PointMatch:
    grid_id: int
    unit_id: int | None
    distance_m: float  # to the unit, or 0 when only the grid's boundary holds the point


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def contains(polygon: list, lat: float, lng: float) -> bool:
    """Whether the polygon [[lng, lat], ...] holds the point (ray casting)."""
    inside = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1]):
        if (y1 > lat) != (y2 > lat) and lng < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _nearest_unit(session: Session, lat: float, lng: float, grid_id: int | None = None) -> tuple[Unit, float] | None:
    query = select(Unit).where(Unit.lat.between(lat - _SEARCH_DEGREES, lat + _SEARCH_DEGREES),
                               Unit.lng.between(lng - 2 * _SEARCH_DEGREES, lng + 2 * _SEARCH_DEGREES))
    if grid_id is not None:
        query = select(Unit).where(Unit.grid_id == grid_id, Unit.lat.is_not(None), Unit.lng.is_not(None))
    scored = [(unit, distance_m(lat, lng, unit.lat, unit.lng)) for unit in session.scalars(query)]
    scored = [(unit, d) for unit, d in scored if grid_id is not None or d <= MAX_UNIT_DISTANCE_M]
    return min(scored, key=lambda pair: (pair[1], pair[0].id)) if scored else None


def locate_point(session: Session, lat: float, lng: float) -> PointMatch | None:
    """The grid whose boundary holds the point (its nearest unit too), else the nearest unit's grid: within
    MAX_UNIT_DISTANCE_M of it, or of MAX_OUTSIDE_M when that grid has a boundary (a pin just past its edge)."""
    holding = [grid for grid in session.scalars(select(Grid).where(Grid.boundary.is_not(None)).order_by(Grid.id))
               if grid.boundary and contains(grid.boundary, lat, lng)]
    if holding:
        grid = max(holding, key=lambda g: g.level)  # the finest grid when levels nest
        nearest = _nearest_unit(session, lat, lng, grid_id=grid.id)
        if nearest is None:
            return PointMatch(grid.id, None, 0.0)
        return PointMatch(grid.id, nearest[0].id, round(nearest[1], 1))
    nearest = _nearest_unit(session, lat, lng)
    if nearest is None:
        return None
    unit, metres = nearest
    if metres > MAX_OUTSIDE_M and registry.grid(session, unit.grid_id).boundary:
        return None  # the unit's grid is mapped and does not hold the point: beyond the edge of the district
    return PointMatch(unit.grid_id, unit.id, round(metres, 1))


# One worker's open cases: a statement built once and run through the driver (`fetch_all`), per worker
# of the staff asked about (one to three): cheaper than one SELECT … IN (…) GROUP BY expanded each time.
_OPEN_COUNT = select(func.count()).select_from(Case).where(Case.assignee_id == bindparam("worker"),
                                                            state_in(OPEN_STATES))
# Open cases per worker as this transaction counts them: read once per transaction (a batch of messages),
# one added for each case `pick_assignee` picks a worker for, read again once the transaction changes
# cases otherwise (any UPDATE or DELETE of cases, or a savepoint rolled back).
_COUNTED = TransactionMemo("gridbot_open_counts", frozenset({Case.__tablename__}), inserts=False)


def _open_counts(session: Session, worker_ids: list[int]) -> dict[int, int]:
    flush_pending(session, Case)  # a case change not yet written is counted once written (reads do not flush)
    counted = _COUNTED.get(session)
    for worker_id in worker_ids:
        if worker_id not in counted:
            counted[worker_id] = fetch_all(session, _OPEN_COUNT, {"worker": worker_id})[0][0]
    return counted


def _least_busy(session: Session, staff: list[StaffMember]) -> StaffMember | None:
    if not staff:
        return None
    counts = _open_counts(session, [member.id for member in staff])
    return min(staff, key=lambda m: (counts[m.id], m.id))


def grid_leader(session: Session, grid_id: int) -> Worker | None:
    """The on-duty 网格长 of the grid, else of its parent grids."""
    seen: set[int] = set()
    current: int | None = grid_id
    while current is not None and current not in seen:
        seen.add(current)
        leaders = registry.on_duty_staff(session, current, WorkerRole.LEADER)
        if leaders:
            return registry.worker(session, leaders[0].id)
        current = registry.parent_grid_id(session, current)
    return None


def _grid_points(session: Session, grid_ids: set[int]) -> dict[int, tuple[float, float]]:
    """The centre of each grid's located units (one query), for the grids that have any."""
    rows = session.execute(select(Unit.grid_id, func.avg(Unit.lat), func.avg(Unit.lng))
                           .where(Unit.grid_id.in_(grid_ids), Unit.lat.is_not(None)).group_by(Unit.grid_id))
    return {grid_id: (lat, lng) for grid_id, lat, lng in rows}


def nearest_fulltime(session: Session, grid_id: int, point: tuple[float, float] | None = None) -> Worker | None:
    """The grid's on-duty 专职 worker, else the community's on-duty 专职 worker with a grid nearest to `point`
    (or the grid's centre): the nearest of each worker's grids counts, not the first listed."""
    own = _least_busy(session, registry.on_duty_staff(session, grid_id, WorkerRole.FULLTIME))
    if own is not None:
        return registry.worker(session, own.id)
    grid = session.get(Grid, grid_id)
    if grid is None:
        return None
    candidates = session.scalars(select(Worker).where(
        Worker.role == WorkerRole.FULLTIME, Worker.on_duty.is_(True),
        Worker.grids.any(Grid.area_id == grid.area_id)).options(selectinload(Worker.grids)).order_by(Worker.id)).all()
    centres = _grid_points(session, {grid_id} | {g.id for w in candidates for g in w.grids})
    point = point or centres.get(grid_id)
    if point is None:
        return None
    reach = [(min(distance_m(*point, *centres[g.id]) for g in w.grids if g.id in centres), w.id, w)
             for w in candidates if any(g.id in centres for g in w.grids)]
    return min(reach, key=lambda found: found[:2])[2] if reach else None


def pick_assignee(session: Session, grid_id: int, category_name: str, urgent: bool = False) -> Worker | None:
    """Who handles a case of `category_name` in the grid (see the module docstring). The case is counted
    as theirs for the rest of the transaction: the next pick of the batch sees it."""
    if urgent:
        chosen = nearest_fulltime(session, grid_id) or grid_leader(session, grid_id)
    else:
        staff = registry.on_duty_staff(session, grid_id, WorkerRole.SPECIALIST, WorkerRole.FULLTIME)
        specialists = [m for m in staff if m.role == WorkerRole.SPECIALIST and category_name in m.matters]
        fulltime = [m for m in staff if m.role == WorkerRole.FULLTIME]
        member = _least_busy(session, specialists) or _least_busy(session, fulltime)
        chosen = registry.worker(session, member.id) if member is not None else grid_leader(session, grid_id)
        chosen = chosen or nearest_fulltime(session, grid_id)  # nobody of the grid on duty: not nobody at all
    counted = _COUNTED.get(session)
    if chosen is not None and chosen.id in counted:
        counted[chosen.id] += 1
    return chosen


def urgent_responders(session: Session, grid_id: int, point: tuple[float, float] | None = None) -> list[Worker]:
    """Everyone an urgent case goes to at once: the nearest on-duty 专职 worker and the grid leader."""
    people = [nearest_fulltime(session, grid_id, point), grid_leader(session, grid_id)]
    return list({w.id: w for w in people if w is not None}.values())

