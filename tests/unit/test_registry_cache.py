"""The registry cache (handlers/registry/cache.py) never routes by a registry that changed: whoever changed
it — this session, another process (a second engine), plain SQL — the next lookup sees the change."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update

from handlers.cases.records import apply_action
from handlers.departments.liaison_commands import liaisons_of
from handlers.places.routing import grid_leader, pick_assignee
from handlers.registry import cache as registry
from models import Case, CaseState, Department, Grid, Liaison, Unit, Worker, WorkerRole, utcnow, worker_grids
from models.db import make_engine, make_session_factory
from tests.demo_db import demo_factory  # noqa: F401  (fixture)

DEMO_GRID = "441999001001001"  # 阳光社区第一网格: demo-worker (专职), demo-leader, fire specialist
SANITATION_GRID = "441999001001003"  # 阳光社区第三网格: yg-clean-1 (环境卫生 specialist), yg-worker-3


@pytest.fixture
def other_process(database_url):
    """A session factory on an engine of its own: writes as another process would (own connections,
    nothing shared with the cache's engine)."""
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def restore(demo_factory):
    """Puts back what a test changed in the registry (tests of one module share the database)."""
    undo: list = []
    yield undo.append
    with demo_factory.begin() as session:
        for statement in reversed(undo):
            session.execute(statement)


def grid_id(session, code: str) -> int:
    return session.scalar(select(Grid.id).where(Grid.code == code))


def assignee(factory, code: str, category: str = "环境卫生") -> str | None:
    with factory.begin() as session:
        found = pick_assignee(session, grid_id(session, code), category)
        return found.userid if found else None


def test_a_worker_put_on_leave_by_another_process_gets_no_more_cases(demo_factory, other_process, restore):
    assert assignee(demo_factory, SANITATION_GRID) == "yg-clean-1"  # cached now
    with other_process.begin() as session:
        session.execute(update(Worker).where(Worker.userid == "yg-clean-1").values(on_duty=False))
    restore(update(Worker).where(Worker.userid == "yg-clean-1").values(on_duty=True))
    assert assignee(demo_factory, SANITATION_GRID) == "yg-worker-3"


def test_a_worker_removed_from_the_grid_in_plain_sql_gets_no_more_cases(demo_factory, other_process, restore):
    assert assignee(demo_factory, SANITATION_GRID) == "yg-clean-1"
    with other_process.begin() as session:
        ids = session.execute(text("SELECT w.id, g.id FROM workers w, grids g WHERE w.userid = 'yg-clean-1' "
                                   "AND g.code = :grid"), {"grid": SANITATION_GRID}).one()
        session.execute(text("DELETE FROM worker_grids WHERE worker_id = :w AND grid_id = :g"),
                        {"w": ids[0], "g": ids[1]})
    restore(worker_grids.insert().values(worker_id=ids[0], grid_id=ids[1]))
    assert assignee(demo_factory, SANITATION_GRID) == "yg-worker-3"


def test_a_worker_back_from_leave_is_routed_again(demo_factory, other_process, restore):
    with other_process.begin() as session:
        session.execute(update(Worker).where(Worker.userid == "yg-clean-1").values(on_duty=False))
    restore(update(Worker).where(Worker.userid == "yg-clean-1").values(on_duty=True))
    assert assignee(demo_factory, SANITATION_GRID) == "yg-worker-3"
    with other_process.begin() as session:
        session.execute(update(Worker).where(Worker.userid == "yg-clean-1").values(on_duty=True))
    assert assignee(demo_factory, SANITATION_GRID) == "yg-clean-1"


def test_a_change_earlier_in_the_same_transaction_is_seen_flushed_or_not(demo_factory):
    with demo_factory() as session, session.begin():
        grid = grid_id(session, SANITATION_GRID)
        assert pick_assignee(session, grid, "环境卫生").userid == "yg-clean-1"
        session.scalars(select(Worker).where(Worker.userid == "yg-clean-1")).one().on_duty = False  # not flushed
        assert pick_assignee(session, grid, "环境卫生").userid == "yg-worker-3"
        session.execute(update(Worker).where(Worker.userid == "yg-worker-3").values(on_duty=False))
        assert pick_assignee(session, grid, "环境卫生").role == WorkerRole.LEADER
        session.rollback()
    assert assignee(demo_factory, SANITATION_GRID) == "yg-clean-1"  # the rolled back change left no trace


def test_a_change_in_a_savepoint_rolled_back_is_forgotten(demo_factory):
    with demo_factory() as session, session.begin():
        grid = grid_id(session, SANITATION_GRID)
        savepoint = session.begin_nested()
        session.execute(update(Worker).where(Worker.userid == "yg-clean-1").values(on_duty=False))
        assert pick_assignee(session, grid, "环境卫生").userid == "yg-worker-3"
        savepoint.rollback()
        assert pick_assignee(session, grid, "环境卫生").userid == "yg-clean-1"
        session.rollback()


def test_a_leader_put_on_leave_by_another_process_is_passed_over(demo_factory, other_process, restore):
    with demo_factory.begin() as session:
        leader = grid_leader(session, grid_id(session, DEMO_GRID))
        assert leader is not None and leader.userid == "demo-leader"
    with other_process.begin() as session:
        session.execute(update(Worker).where(Worker.userid == "demo-leader").values(on_duty=False))
    restore(update(Worker).where(Worker.userid == "demo-leader").values(on_duty=True))
    with demo_factory.begin() as session:
        found = grid_leader(session, grid_id(session, DEMO_GRID))
        assert found is None or found.userid != "demo-leader"  # a parent grid's leader, or nobody


def test_a_worker_or_liaison_registered_by_another_process_is_known_at_once(demo_factory, other_process, restore):
    with demo_factory.begin() as session:
        assert not registry.is_worker(session, "new-hire")
        assert not registry.is_liaison(session, "new-liaison")
    with other_process.begin() as session:
        session.add(Worker(userid="new-hire", name="新同事", role=WorkerRole.FULLTIME))
        department = session.scalars(select(Department)).first()
        session.add(Liaison(department=department, userid="new-liaison", name="联络员"))
    restore(delete(Worker).where(Worker.userid == "new-hire"))
    restore(delete(Liaison).where(Liaison.userid == "new-liaison"))
    with demo_factory.begin() as session:
        assert registry.is_worker(session, "new-hire")
        assert [post.userid for post in liaisons_of(session, "new-liaison")] == ["new-liaison"]


def test_a_unit_moved_to_another_grid_routes_there(demo_factory, other_process, restore):
    with demo_factory.begin() as session:
        unit_row = session.scalars(select(Unit).order_by(Unit.id)).first()
        unit_id, old_grid = unit_row.id, unit_row.grid_id
        assert registry.unit(session, unit_id).grid.id == old_grid
        new_grid = grid_id(session, SANITATION_GRID)
    with other_process.begin() as session:
        session.execute(update(Unit).where(Unit.id == unit_id).values(grid_id=new_grid))
    restore(update(Unit).where(Unit.id == unit_id).values(grid_id=old_grid))
    with demo_factory.begin() as session:
        unit = registry.unit(session, unit_id)
        assert unit.grid_id == new_grid and unit.grid.code == SANITATION_GRID
        assert not session.dirty  # handed out clean: nothing to write back


def test_open_counts_follow_the_cases_of_the_transaction(demo_factory):
    """The least busy 专职 worker, counted once per transaction and kept up to date as cases open and move."""
    with demo_factory() as session, session.begin():
        grid = grid_id(session, SANITATION_GRID)
        session.execute(update(Worker).where(Worker.userid == "yg-clean-1").values(on_duty=False))
        second = Worker(userid="second-fulltime", name="第二专职", role=WorkerRole.FULLTIME,
                        grids=[session.get(Grid, grid)])
        session.add(second)
        session.flush()
        picks = []
        for _ in range(4):
            chosen = pick_assignee(session, grid, "环境卫生")
            picks.append(chosen.userid)
            session.add(Case(state=CaseState.PENDING, category="环境卫生", text="x", reporter_userid="r",
                             assignee=chosen, created_at=utcnow()))
            session.flush()
        assert sorted(picks) == ["second-fulltime", "second-fulltime", "yg-worker-3", "yg-worker-3"]
        # A case of the busier one moves out of the open states: they are the least busy again.
        busy = pick_assignee(session, grid, "环境卫生")
        session.add(Case(state=CaseState.PENDING, category="环境卫生", text="x", reporter_userid="r",
                         assignee=busy, created_at=utcnow()))
        session.flush()
        for case in session.scalars(select(Case).where(Case.assignee_id == busy.id,
                                                       Case.state == CaseState.PENDING)).all()[:2]:
            apply_action(session, case, "withdraw", actor="r", now=utcnow())
        assert pick_assignee(session, grid, "环境卫生").userid == busy.userid
        session.rollback()
