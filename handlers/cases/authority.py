"""Who may act on a case, in one place for chat, console and clock.

An `Actor` is whoever acts: a worker in chat (`Actor.for_worker`), a console user with the scope of
their account (`Actor.for_console`), a department liaison (`Actor.for_liaison`) or the clock (`SYSTEM`).
Every authority check takes one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from models import Area, Case, CaseState, Grid, Whistle, WhistleState, Worker, WorkerRole

AREA_ROLES = frozenset({WorkerRole.COMMUNITY, WorkerRole.STREET})
CONSOLE_ROLE = "admin"
LIAISON_ROLE = "liaison"


@dataclass(frozen=True)
class Actor:
    """Whoever acts on a case: who they are (`userid`, `name`, `role`) and where they may act.

    `grid_ids` are the grids they work in (None: every grid, a district-wide console account);
    `area_ids` the areas they are staff of (community and street staff); `department_ids` the departments
    a liaison answers whistles for; `worker_id` the registered worker, None for a console user, a liaison
    or the clock.
    """

    userid: str
    name: str
    role: str
    worker_id: int | None = None
    grid_ids: frozenset[int] | None = frozenset()
    area_ids: frozenset[int] = frozenset()
    department_ids: frozenset[int] = frozenset()

    @classmethod
    def for_worker(cls, worker: Worker) -> Actor:
        """A registered worker acting from chat."""
        areas = frozenset({worker.area_id}) if worker.role in AREA_ROLES and worker.area_id is not None else frozenset()
        return cls(userid=worker.userid, name=worker.name, role=str(worker.role), worker_id=worker.id,
                   grid_ids=frozenset(grid.id for grid in worker.grids), area_ids=areas)

    @classmethod
    def for_resident(cls, userid: str) -> Actor:
        """A resident acting on their own report (取消关联 of a report linked to another's case)."""
        return cls(userid=userid, name="居民", role="resident", grid_ids=None)

    @classmethod
    def for_console(cls, username: str, grid_ids: frozenset[int] | None) -> Actor:
        """A console user; `grid_ids` is their account's scope (None: the whole district)."""
        return cls(userid=f"admin:{username}", name=username, role=CONSOLE_ROLE, grid_ids=grid_ids)

    @classmethod
    def for_liaison(cls, userid: str, name: str, department_ids: frozenset[int]) -> Actor:
        """A department liaison (吹哨报到): no grid of their own, only cases whistled to their departments."""
        return cls(userid=userid, name=name, role=LIAISON_ROLE, department_ids=department_ids)

    @property
    def is_worker(self) -> bool:
        return self.worker_id is not None


SYSTEM = Actor(userid="system", name="系统", role="system", grid_ids=None)


def area_chain(area: Area | None) -> list[Area]:
    """`area` and every area above it (社区 → 街道 → 区)."""
    chain: list[Area] = []
    while area is not None and area not in chain:
        chain.append(area)
        area = area.parent
    return chain


def grid_leaders(case: Case) -> list[Worker]:
    """The leaders of the case's grid."""
    grid = case.grid
    return [w for w in grid.workers if w.role == WorkerRole.LEADER] if grid else []


def covers(actor: Actor, grid: Grid | None) -> bool:
    """Whether `grid` lies in the actor's reach: one of their grids, under their area, or their scope."""
    if grid is None:
        return actor.grid_ids is None
    if actor.grid_ids is None or grid.id in actor.grid_ids:
        return True
    return bool(actor.area_ids) and any(area.id in actor.area_ids for area in area_chain(grid.area))


def is_leader_of(actor: Actor, case: Case) -> bool:
    return actor.role == WorkerRole.LEADER and case.grid_id is not None and case.grid_id in (actor.grid_ids or ())


def is_area_staff_over(actor: Actor, case: Case) -> bool:
    """Community or street staff whose area contains the case's grid."""
    if actor.role not in AREA_ROLES or not actor.area_ids or case.grid is None:
        return False
    return any(area.id in actor.area_ids for area in area_chain(case.grid.area))


def outranks(actor: Actor, case: Case) -> bool:
    """A leader, a higher level or a console user in scope acting on a case held by someone else."""
    return is_leader_of(actor, case) or is_area_staff_over(actor, case) or (
        actor.role == CONSOLE_ROLE and covers(actor, case.grid))


def may_act(actor: Actor, case: Case) -> bool:
    """The assignee, the grid's leader, a higher level or a console user in scope; anyone in the grid
    while the case is unassigned."""
    if actor.worker_id is not None and case.assignee_id == actor.worker_id:
        return True
    if outranks(actor, case):
        return True
    return case.assignee_id is None and case.grid_id is not None and case.grid_id in (actor.grid_ids or ())


def may_view(actor: Actor, case: Case) -> bool:
    """Who may act on a case, plus every worker of its grid (查 N); a case with no place yet, community and
    street staff too (they are asked to place it: handlers/cases/unplaced.py)."""
    if case.grid_id is None and actor.role in AREA_ROLES:
        return True
    return may_act(actor, case) or (case.grid_id is not None and case.grid_id in (actor.grid_ids or ()))


def may_place(actor: Actor, case: Case) -> bool:
    """定位 N 地址: any worker may try (whether the place lies in their reach is checked with the place: `covers`);
    a case placed meanwhile is refused, its place told only to whoever may act on it (staff who got the 【待定位】
    card and answer after a colleague hear that it is done)."""
    if may_act(actor, case):
        return True
    return actor.is_worker and (case.grid_id is None or case.state != CaseState.AWAITING_PLACE)


def may_assign(actor: Actor, case: Case, target: Worker) -> bool:
    """转派 / the console's assign: the actor may act on the case and the new assignee works in the
    actor's reach (one of the target's grids, or the target's area, is covered by the actor)."""
    if not may_act(actor, case):
        return False
    return any(covers(actor, grid) for grid in target.grids) or _covers_area(actor, target.area)


def may_merge(actor: Actor, source: Case, into: Case) -> bool:
    """合并 A B: the actor may act on both cases."""
    return may_act(actor, source) and may_act(actor, into)


def _covers_area(actor: Actor, area: Area | None) -> bool:
    if area is None:
        return False
    if actor.grid_ids is None:
        return True
    return bool(actor.area_ids) and any(a.id in actor.area_ids for a in area_chain(area))


def who_may_act(case: Case) -> Iterable[Worker]:
    """The people a refusal names: the grid's leaders other than the assignee."""
    return [leader for leader in grid_leaders(case) if leader.id != case.assignee_id]


def may_answer_whistle(actor: Actor, whistle: Whistle) -> bool:
    """A liaison acts on a case only through a still-active whistle to one of their departments."""
    return whistle.department_id in actor.department_ids and whistle.state in (WhistleState.CALLED,
                                                                                 WhistleState.REPORTED)


def answerable_whistle(actor: Actor, whistles: Iterable[Whistle]) -> Whistle | None:
    """The whistle of a case the liaison `actor` may act on (the latest), None: they may not act."""
    mine = [whistle for whistle in whistles if may_answer_whistle(actor, whistle)]
    return mine[-1] if mine else None
