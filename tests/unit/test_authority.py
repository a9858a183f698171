"""One Actor for chat, console and clock: who may act on a case, and to whom it may be handed."""

from __future__ import annotations

from handlers.cases.authority import SYSTEM, Actor, may_act, may_assign, may_merge
from models import Area, AreaLevel, Grid, Worker, WorkerRole
from tests.unit.lifecycle_support import (  # noqa: F401 (fixtures)
    District,
    district,
    factory,
    load_district,
    new_case,
    services,
)


def _other_street(session) -> Worker:
    street = Area(code="t-street-2", name="另一街道", level=AreaLevel.STREET)
    community = Area(code="t-community-3", name="第三社区", level=AreaLevel.COMMUNITY, parent=street)
    grid = Grid(code="t-grid-3", name="第三网格", area=community, chat_id="chat-t3")
    worker = Worker(userid="t-far", name="远街道", role=WorkerRole.FULLTIME, grids=[grid])
    session.add_all([street, community, grid, worker])
    session.flush()
    return worker


def test_a_street_staff_member_cannot_assign_outside_the_street(factory, district: District, services):
    with factory() as session:
        people = load_district(session).workers
        far = _other_street(session)
        case = new_case(session, services)
        street = Actor.for_worker(people["street"])
        assert may_act(street, case)
        assert may_assign(street, case, people["outsider"])  # another community of the same street
        assert not may_assign(street, case, far)
        session.rollback()


def test_community_staff_and_console_scope_reach_only_their_own_grids(factory, district: District, services):
    with factory() as session:
        people = load_district(session).workers
        grids = load_district(session)
        case = new_case(session, services)
        community = Actor.for_worker(people["community"])
        assert may_assign(community, case, people["leader"])
        assert not may_assign(community, case, people["outsider"])
        scoped = Actor.for_console("staff", frozenset({grids.grid.id}))
        assert may_act(scoped, case) and not may_assign(scoped, case, people["outsider"])
        elsewhere = Actor.for_console("staff", frozenset({grids.other_grid.id}))
        assert not may_act(elsewhere, case)
        assert may_assign(Actor.for_console("admin", None), case, people["outsider"])
        session.rollback()


def test_merging_needs_authority_over_both_cases(factory, district: District, services):
    with factory() as session:
        people = load_district(session).workers
        mine = new_case(session, services)
        theirs = new_case(session, services, assignee="outsider")
        worker = Actor.for_worker(people["worker"])
        assert may_act(worker, mine) and not may_merge(worker, mine, theirs)
        assert may_merge(Actor.for_worker(people["street"]), mine, theirs)
        session.rollback()


def test_the_console_and_the_clock_are_actors_but_not_workers():
    console = Actor.for_console("chen", None)
    assert console.userid == "admin:chen" and not console.is_worker
    assert SYSTEM.userid == "system" and not SYSTEM.is_worker
