"""The demo district: realistic in size and shape, the facts the e2e tests use, loaded idempotently."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from config.settings import SHIPPED_CONFIG_DIR
from demo.district import load_demo_district
from handlers.places.address_index import AddressIndex
from models import Area, AreaLevel, Grid, Resident, Unit, Worker, WorkerRole
from tests.cli import cli_json
from tests.demo_db import demo_factory  # noqa: F401  (fixture)


def counts(session) -> dict[str, int]:
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Area, Grid, Unit, Worker, Resident)}


def test_district_has_the_shape_of_a_real_one(demo_factory):
    with demo_factory() as session:
        levels = Counter(session.scalars(select(Area.level)))
        assert levels == {AreaLevel.DISTRICT: 1, AreaLevel.STREET: 2, AreaLevel.COMMUNITY: 4}
        units = session.scalars(select(Unit)).all()
        assert session.scalar(select(func.count()).select_from(Grid)) >= 20
        assert len(units) >= 200 and all(u.aliases and u.lat and u.lng for u in units)
        assert {g.level for g in session.scalars(select(Grid))} == {1, 2}  # 石湾村 uses two grid levels
        workers = session.scalars(select(Worker)).all()
        assert len(workers) >= 60
        assert {w.role for w in workers} == set(WorkerRole)
        assert all(w.matters for w in workers if w.role == WorkerRole.SPECIALIST)
        assert all(w.area_id for w in workers if w.role in (WorkerRole.COMMUNITY, WorkerRole.STREET))
        assert session.scalar(select(func.count()).select_from(Resident).where(Resident.unit_id.is_not(None))) >= 100


def test_demo_resident_worker_and_leader_share_one_grid(demo_factory):
    with demo_factory() as session:
        resident = session.scalars(select(Resident).where(Resident.userid == "demo-resident")).one()
        grid = resident.unit.grid
        by_role = Counter(w.role for w in grid.workers)
        assert by_role[WorkerRole.FULLTIME] == 1
        assert {w.userid for w in grid.workers if w.role in (WorkerRole.FULLTIME, WorkerRole.LEADER)} == {
            "demo-worker", "demo-leader"}
        assert "阳光小区" in resident.unit.address  # the place the e2e reports name


def test_every_grid_has_its_group_chat(demo_factory):
    with demo_factory() as session:
        assert all(g.chat_id == f"grid-{g.code}" for g in session.scalars(select(Grid)))


def test_loading_again_changes_nothing(demo_factory):
    with demo_factory() as session:
        before = counts(session)
    with demo_factory.begin() as session:
        result = load_demo_district(session, SHIPPED_CONFIG_DIR)
    assert (result.created, result.updated) == (0, 0) and result.unchanged > 400
    with demo_factory() as session:
        assert counts(session) == before


def test_units_json_lists_the_contract_fields_and_each_address_finds_its_unit(demo_factory, database_url):
    units = cli_json(["units", "--json"], database_url)
    assert len(units) >= 200
    assert set(units[0]) == {"code", "grid", "address", "aliases"}
    with demo_factory() as session:
        index = AddressIndex.from_session(session)
        codes = {unit_id: code for unit_id, code in session.execute(select(Unit.id, Unit.code))}
    for unit in units:
        match = index.match(unit["address"])[0]
        assert match.confident and codes[match.unit_id] == unit["code"], unit["address"]
