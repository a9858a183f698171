"""Who gets a case, and which grid a location falls in, on the demo district."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.places.routing import locate_point, pick_assignee, urgent_responders
from models import Case, CaseState, Grid, Unit, Worker, WorkerRole
from tests.demo_db import demo_factory, demo_session  # noqa: F401  (fixtures)

DEMO_GRID = "441999001001001"  # 阳光社区第一网格: demo-worker, demo-leader, fire specialist only
SANITATION_GRID = "441999001001003"  # 阳光社区第三网格: has a 环境卫生 specialist
LEAVE_GRID = "441999101001004"  # 东岭社区第四网格: its only 专职 worker is on leave
VILLAGE_GRID = "441999101002003"  # 石湾村第一网格: a level-2 grid under 石湾村北片


@pytest.fixture
def session(demo_session):
    """A session whose changes are rolled back after the test."""
    return demo_session


def grid(session, code: str) -> Grid:
    return session.scalars(select(Grid).where(Grid.code == code)).one()


def worker(session, userid: str) -> Worker:
    return session.scalars(select(Worker).where(Worker.userid == userid)).one()


def assignee(session, code: str, category: str, urgent: bool = False) -> str | None:
    found = pick_assignee(session, grid(session, code).id, category, urgent=urgent)
    return found.userid if found else None


def open_cases(session, who: Worker, count: int, state: str = CaseState.PENDING) -> None:
    for _ in range(count):
        session.add(Case(state=state, category="环境卫生", text="x", reporter_userid="r", assignee=who))
    session.flush()


def test_demo_grid_routes_sanitation_noise_and_civic_to_the_fulltime_worker(session):
    for category in ("环境卫生", "噪音扰民", "市政设施"):
        assert assignee(session, DEMO_GRID, category) == "demo-worker"


def test_a_specialist_covering_the_category_comes_first(session):
    assert assignee(session, DEMO_GRID, "消防安全") == "yg-fire-1"
    assert assignee(session, SANITATION_GRID, "环境卫生") == "yg-clean-1"


def test_a_specialist_on_leave_is_skipped(session):
    worker(session, "yg-clean-1").on_duty = False
    assert assignee(session, SANITATION_GRID, "环境卫生") == "yg-worker-3"


def test_the_fulltime_worker_with_fewest_open_cases_is_picked(session):
    first = worker(session, "demo-worker")
    second = Worker(userid="demo-worker-2", name="许文博", role=WorkerRole.FULLTIME, grids=[grid(session, DEMO_GRID)])
    session.add(second)
    open_cases(session, first, 2)
    open_cases(session, second, 1)
    open_cases(session, second, 3, state=CaseState.ARCHIVED)  # finished cases do not count
    assert assignee(session, DEMO_GRID, "环境卫生") == "demo-worker-2"


def test_with_the_fulltime_worker_on_leave_the_leader_gets_it(session):
    assert worker(session, "dl-worker-4").on_duty is False  # on leave in the demo district
    assert assignee(session, LEAVE_GRID, "噪音扰民") == "dl-leader-4"


def test_the_leader_is_found_up_the_parent_grids(session):
    worker(session, "sw-worker-3").on_duty = False
    assert assignee(session, VILLAGE_GRID, "噪音扰民") == "sw-leader-1"  # 石湾村北片's leader


def test_with_everyone_of_the_grid_on_leave_the_nearest_fulltime_worker_gets_it(session):
    """No one of 东岭社区第四网格 on duty (its 专职 worker is on leave, its leader too): not nobody, but the 专职 worker
    of a neighbouring square, as an urgent case would."""
    worker(session, "dl-leader-4").on_duty = False
    assert assignee(session, LEAVE_GRID, "噪音扰民") in {"dl-worker-1", "dl-worker-5"}


def test_urgent_cases_go_to_the_fulltime_worker_and_the_leader_not_the_specialist(session):
    assert assignee(session, DEMO_GRID, "消防安全", urgent=True) == "demo-worker"
    responders = urgent_responders(session, grid(session, DEMO_GRID).id)
    assert [w.userid for w in responders] == ["demo-worker", "demo-leader"]


def test_urgent_case_without_an_on_duty_fulltime_worker_goes_to_the_nearest_grid(session):
    chosen = assignee(session, LEAVE_GRID, "突发事件", urgent=True)
    assert chosen in {"dl-worker-1", "dl-worker-5"}  # the squares next to 东岭社区第四网格
    assert [w.userid for w in urgent_responders(session, grid(session, LEAVE_GRID).id)][1] == "dl-leader-4"


def test_a_point_inside_a_grid_boundary_finds_that_grid_and_its_nearest_unit(session):
    unit = session.scalars(select(Unit).join(Grid).where(Grid.code == SANITATION_GRID).order_by(Unit.id)).first()
    found = locate_point(session, unit.lat + 0.0001, unit.lng)
    assert found.grid_id == unit.grid_id and found.unit_id == unit.id
    assert 5 < found.distance_m < 20


def test_a_point_in_a_grid_without_boundary_finds_the_nearest_unit(session):
    unit = session.scalars(select(Unit).join(Grid).where(Grid.code == VILLAGE_GRID).order_by(Unit.id)).first()
    assert grid(session, VILLAGE_GRID).boundary is None
    found = locate_point(session, unit.lat, unit.lng + 0.0002)
    assert (found.grid_id, found.unit_id) == (unit.grid_id, unit.id)


def test_a_point_far_from_the_district_is_not_placed(session):
    assert locate_point(session, 39.9, 116.4) is None


def test_a_point_well_outside_the_mapped_grids_is_not_placed_at_the_nearest_one(session):
    """1.5 km south of 阳光社区第一网格's square (the edge of the district): not ours, though a unit is within 3 km."""
    assert locate_point(session, 22.5665, 113.082) is None


def test_a_point_just_outside_a_grid_boundary_is_placed_at_that_grid(session):
    """A pin on the road just south of 阳光社区第一网格 (about 50 m out): that grid's."""
    assert locate_point(session, 22.5795, 113.082).grid_id == grid(session, DEMO_GRID).id


def test_the_nearest_fulltime_worker_is_measured_from_the_nearest_of_their_grids(session):
    """With 东岭社区第四网格 and its neighbours' 专职 workers on leave, a worker whose second grid adjoins it
    (第五网格, about 400 m) is nearer than the one of 第二网格 (about 600 m), though their own (第三网格) is not."""
    for userid in ("dl-leader-4", "dl-worker-1", "dl-worker-5"):
        worker(session, userid).on_duty = False
    third = worker(session, "dl-worker-3")
    third.grids.append(grid(session, "441999101001005"))
    session.flush()
    assert assignee(session, LEAVE_GRID, "噪音扰民") == "dl-worker-3"
    assert assignee(session, LEAVE_GRID, "突发事件", urgent=True) == "dl-worker-3"
