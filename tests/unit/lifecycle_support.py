"""A small district (street → community → two grids, a worker per level) and cases in it, for lifecycle tests.

Test modules import the fixtures they use from here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import SHIPPED_CONFIG_DIR
from handlers.cases import case_work
from handlers.cases.records import Place, open_case
from handlers.cases.timing import clock_rules
from handlers.services import Services
from models import Area, AreaLevel, Case, Grid, OutboxMessage, Resident, Worker, WorkerRole
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing, a Monday


@dataclass
class District:
    grid: Grid
    other_grid: Grid
    workers: dict[str, Worker]  # worker, leader, community, street, outsider, other_community


def _district(session: Session) -> District:
    street = Area(code="t-street", name="测试街道", level=AreaLevel.STREET)
    community = Area(code="t-community", name="测试社区", level=AreaLevel.COMMUNITY, parent=street)
    other = Area(code="t-other", name="另一社区", level=AreaLevel.COMMUNITY, parent=street)
    grid = Grid(code="t-grid-1", name="测试第一网格", area=community, chat_id="chat-t1")
    other_grid = Grid(code="t-grid-2", name="另一网格", area=other, chat_id="chat-t2")
    people = {
        "worker": Worker(userid="t-worker", name="王网格", role=WorkerRole.FULLTIME, grids=[grid]),
        "leader": Worker(userid="t-leader", name="李组长", role=WorkerRole.LEADER, grids=[grid]),
        "community": Worker(userid="t-community", name="赵社区", role=WorkerRole.COMMUNITY, area=community),
        "street": Worker(userid="t-street", name="钱街道", role=WorkerRole.STREET, area=street),
        "outsider": Worker(userid="t-outsider", name="孙隔壁", role=WorkerRole.FULLTIME, grids=[other_grid]),
        "other_community": Worker(userid="t-other-community", name="周另社", role=WorkerRole.COMMUNITY, area=other),
    }
    session.add_all([street, community, other, grid, other_grid, *people.values()])
    session.flush()
    return District(grid, other_grid, people)


@pytest.fixture(scope="module")
def district(factory) -> District:
    with factory.begin() as session:
        _district(session)
    with factory() as session:
        return load_district(session)


def load_district(session: Session) -> District:
    """The test district's rows, attached to `session`."""
    workers = {w.userid.removeprefix("t-").replace("-", "_"): w
               for w in session.scalars(select(Worker).where(Worker.userid.like("t-%")))}
    grids = {g.code: g for g in session.scalars(select(Grid).where(Grid.code.like("t-grid-%")))}
    return District(grids["t-grid-1"], grids["t-grid-2"], workers)


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(config_dir=SHIPPED_CONFIG_DIR, rate_limit=0)


def new_case(session: Session, services: Services, *, now: datetime = T0, category: str = "环境卫生",
             reporter: str = "t-resident", assignee: str = "worker", text: str = "楼下垃圾没人清") -> Case:
    """A case reported at `now`, assigned to `assignee` (a district key) in that worker's grid."""
    worker = load_district(session).workers[assignee]
    resident = session.scalars(select(Resident).where(Resident.userid == reporter)).first()
    if resident is None:
        resident = Resident(userid=reporter)
        session.add(resident)
    return open_case(session, text=text, category=services.classifier().catalogue.get(category),
                     reporter_userid=reporter, resident=resident, place=Place(worker.grids[0], None, "profile"),
                     assignee=worker, now=now, rules=clock_rules(services.config_dir))


def taken_case(session: Session, services: Services) -> tuple[Case, Worker]:
    """A new case its worker took five minutes after the report: (case, worker)."""
    case = new_case(session, services)
    worker = load_district(session).workers["worker"]
    case_work.take(session, case, worker, T0 + timedelta(minutes=5))
    return case, worker


def notices_for(session: Session, case: Case) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)
                                .order_by(OutboxMessage.id)))
