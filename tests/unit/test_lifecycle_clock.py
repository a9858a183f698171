"""The 117 clock on a real database: reminders, quiet hours, the escalation ladder, pauses, archiving, once only."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from handlers.cases import case_work
from handlers.cases.authority import Actor
from handlers.cases.clock import run_clock
from models import Case, CaseEvent, CaseState, ClockMark, OutboxMessage, PointsEntry
from tests.unit.lifecycle_support import (  # noqa: F401 (fixtures)
    T0, district, factory, load_district, new_case, notices_for, services, taken_case,
)

NIGHT = T0 + timedelta(hours=12)  # 22:00 in Beijing: quiet hours begin


def clock(factory, services, at) -> dict:
    with factory.begin() as session:
        return run_clock(session, services, at)


def opened(factory, services, **kwargs) -> int:
    with factory.begin() as session:
        return new_case(session, services, **kwargs).id


def texts_to(factory, case_id: int, userid: str, marker: str) -> list[str]:
    with factory() as session:
        case = session.get(Case, case_id)
        return [n.text for n in notices_for(session, case) if n.recipient == userid and marker in n.text]


def state_of(factory, case_id: int) -> tuple[str, int]:
    with factory() as session:
        case = session.get(Case, case_id)
        return case.state, case.level


def test_the_assignee_is_reminded_once_before_the_take_deadline(factory, district, services):
    case_id = opened(factory, services)
    clock(factory, services, T0 + timedelta(minutes=40))
    assert texts_to(factory, case_id, "t-worker", "【提醒】") == []
    clock(factory, services, T0 + timedelta(minutes=50))
    clock(factory, services, T0 + timedelta(minutes=55))
    assert len(texts_to(factory, case_id, "t-worker", "【提醒】")) == 1


def test_quiet_hours_hold_reminders_back_except_for_urgent_matters(factory, district, services):
    calm = opened(factory, services, now=NIGHT - timedelta(minutes=10))  # take due 22:50
    urgent = opened(factory, services, now=NIGHT + timedelta(minutes=30), category="突发事件")  # due 22:45
    clock(factory, services, NIGHT + timedelta(minutes=40))
    assert texts_to(factory, calm, "t-worker", "【提醒】") == []
    assert len(texts_to(factory, urgent, "t-worker", "【提醒】")) == 1


def test_a_missed_take_climbs_one_level_per_missed_window(factory, district, services):
    case_id = opened(factory, services)
    steps = [(61, 1, "t-leader"), (121, 2, "t-community"), (181, 3, "t-street")]
    for minutes, level, told in steps:
        clock(factory, services, T0 + timedelta(minutes=minutes))
        assert state_of(factory, case_id) == (CaseState.ESCALATED, level)
        assert len(texts_to(factory, case_id, told, "超时提级")) == 1
    clock(factory, services, T0 + timedelta(minutes=241))
    assert state_of(factory, case_id) == (CaseState.ESCALATED, 3)
    assert texts_to(factory, case_id, "t-other-community", "提级") == []
    with factory() as session:
        assert session.scalar(select(PointsEntry.delta).where(
            PointsEntry.userid == "t-worker", PointsEntry.reason == "missed_deadline",
            PointsEntry.case_id == case_id)) < 0


def test_a_clock_that_missed_hours_jumps_to_the_due_level_in_one_event(factory, district, services):
    case_id = opened(factory, services)
    clock(factory, services, T0 + timedelta(hours=3, minutes=30))
    assert state_of(factory, case_id) == (CaseState.ESCALATED, 3)
    with factory() as session:
        actions = session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case_id)).all()
    assert actions == ["report", "overdue"]
    assert texts_to(factory, case_id, "t-leader", "超时提级") == []


def test_running_the_clock_twice_sends_nothing_twice(factory, district, services):
    opened(factory, services)
    moment = T0 + timedelta(days=2)
    first = clock(factory, services, moment)
    with factory() as session:
        queued = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert first["escalations"] >= 1
    assert clock(factory, services, moment) == {"reminders": 0, "escalations": 0, "archived": 0}
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == queued


def test_two_clock_processes_at_once_act_once(factory, district, services):
    case_id = opened(factory, services, now=T0 + timedelta(days=10))
    barrier = threading.Barrier(2, timeout=20)
    moment = T0 + timedelta(days=10, hours=1, minutes=1)

    def run() -> None:
        barrier.wait()
        clock(factory, services, moment)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert state_of(factory, case_id) == (CaseState.ESCALATED, 1)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.action == "overdue")) == 1
    assert len(texts_to(factory, case_id, "t-leader", "超时提级")) == 1


def test_a_suspended_case_is_not_escalated_and_resumes_with_fresh_marks(factory, district, services):
    with factory.begin() as session:
        case, worker = taken_case(session, services)
        case_work.suspend(session, case, Actor.for_worker(worker), "等待供电局", T0 + timedelta(hours=2))
        case_id = case.id
    clock(factory, services, T0 + timedelta(days=3))
    assert state_of(factory, case_id) == (CaseState.SUSPENDED, 0)
    with factory.begin() as session:
        case = session.get(Case, case_id)
        case_work.resume(session, case, Actor.for_worker(load_district(session).workers["worker"]), T0 + timedelta(days=3))
        plan_due = case.plan_due
    assert plan_due == T0 + timedelta(days=1) + (timedelta(days=3) - timedelta(hours=2))
    clock(factory, services, plan_due - timedelta(minutes=1))
    assert state_of(factory, case_id) == (CaseState.IN_PROGRESS, 0)
    clock(factory, services, plan_due + timedelta(minutes=1))
    assert state_of(factory, case_id) == (CaseState.ESCALATED, 1)


def test_a_closed_case_nobody_rates_is_archived_after_the_rating_window(factory, district, services):
    with factory.begin() as session:
        case, worker = taken_case(session, services)
        case_work.close(session, case, Actor.for_worker(worker), "已清理", T0 + timedelta(hours=5))
        case_id = case.id
    clock(factory, services, T0 + timedelta(days=3, hours=4))
    assert state_of(factory, case_id)[0] == CaseState.CLOSED
    clock(factory, services, T0 + timedelta(days=3, hours=5, minutes=1))
    assert state_of(factory, case_id)[0] == CaseState.ARCHIVED
    assert len(texts_to(factory, case_id, "t-resident", "已归档")) == 1
    with factory() as session:
        marks = session.scalar(select(func.count()).select_from(ClockMark).where(ClockMark.case_id == case_id))
    assert marks == 0  # taken and closed on time: the clock never had to act on it
