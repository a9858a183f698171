"""Who may act on a case: its assignee, its grid's leader, or staff of an area above the grid."""

from __future__ import annotations

from models import Area, Case, Worker, WorkerRole

AREA_ROLES = frozenset({WorkerRole.COMMUNITY, WorkerRole.STREET})


def area_chain(area: Area | None) -> list[Area]:
    """`area` and every area above it (社区 → 街道 → 区)."""
    chain: list[Area] = []
    while area is not None and area not in chain:
        chain.append(area)
        area = area.parent
    return chain


def grid_leaders(case: Case) -> list[Worker]:
    grid = case.grid
    return [w for w in grid.workers if w.role == WorkerRole.LEADER] if grid else []


def is_leader_of(worker: Worker, case: Case) -> bool:
    return worker.role == WorkerRole.LEADER and case.grid is not None and case.grid in worker.grids


def is_area_staff_over(worker: Worker, case: Case) -> bool:
    """Community or street staff whose area contains the case's grid."""
    if worker.role not in AREA_ROLES or worker.area_id is None or case.grid is None:
        return False
    return worker.area_id in {area.id for area in area_chain(case.grid.area)}


def may_act(worker: Worker, case: Case) -> bool:
    """Only the assignee, the grid's leader or a higher level; anyone in the grid while unassigned."""
    if case.assignee_id == worker.id or is_leader_of(worker, case) or is_area_staff_over(worker, case):
        return True
    return case.assignee_id is None and case.grid is not None and case.grid in worker.grids


def outranks(worker: Worker, case: Case) -> bool:
    """A leader or higher level acting on a case held by someone else (e.g. taking it over)."""
    return is_leader_of(worker, case) or is_area_staff_over(worker, case)


def may_view(worker: Worker, case: Case) -> bool:
    """Who may act on a case, plus every worker of its grid (查 N)."""
    return may_act(worker, case) or (case.grid is not None and case.grid in worker.grids)
