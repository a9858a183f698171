"""The 117 clock on a real database: reminders, quiet hours, the escalation ladder, pauses, archiving, once only."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from handlers.cases import case_work
from handlers.cases.authority import Actor
from handlers.cases.clock import run_clock
from handlers.chat.case_numbers import format_case_number
from models import Case, CaseEvent, CaseState, ClockMark, OutboxMessage, PointsEntry
from tests.unit.lifecycle_support import (  # noqa: F401 (fixtures)
    T0,
    district,
    factory,
    load_district,
    new_case,
    notices_for,
    services,
    taken_case,
)

NIGHT = T0 + timedelta(hours=12)  # 22:00 in Beijing: quiet hours begin


def clock(factory, services, at) -> dict:
    with factory.begin() as session:
        return run_clock(session, services, at)


def opened(factory, services, **kwargs) -> int:
    with factory.begin() as session:
        return new_case(session, services, **kwargs).id


def texts_to(factory, case_id: int, userid: str, marker: str) -> list[str]:
    """Notices to `userid` about the case (its own, or a digest naming it) containing `marker`."""
    with factory() as session:
        case = session.get(Case, case_id)
        digests = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id.is_(None),
                                                              OutboxMessage.recipient == userid)).all()
        number = format_case_number(case_id)
        return [n.text for n in [*notices_for(session, case), *digests]
                if n.recipient == userid and marker in n.text and (n.case_id or number in n.text)]


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
    clock(factory, services, T0 + timedelta(minutes=50))  # the reminder
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


def test_a_clock_that_missed_hours_reminds_first_and_escalates_a_grace_later(factory, district, services):
    case_id = opened(factory, services)
    late = T0 + timedelta(hours=3, minutes=30)
    clock(factory, services, late)
    assert state_of(factory, case_id) == (CaseState.PENDING, 0)
    reminder = texts_to(factory, case_id, "t-worker", "【提醒】")
    assert len(reminder) == 1 and "已超时2小时" in reminder[0] and "将提级至网格长" in reminder[0]
    clock(factory, services, late + timedelta(minutes=29))
    assert state_of(factory, case_id) == (CaseState.PENDING, 0)
    clock(factory, services, late + timedelta(hours=2, minutes=30))  # two windows after the grace
    assert state_of(factory, case_id) == (CaseState.ESCALATED, 3)
    with factory() as session:
        actions = session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case_id)).all()
    assert actions == ["report", "overdue"]
    # The levels passed on the way hear of it once, marked as a catch-up; the level reached as usual.
    for passed in ("t-leader", "t-community"):
        told = texts_to(factory, case_id, passed, "超时提级")
        assert len(told) == 1 and "补发" in told[0], passed
    reached = texts_to(factory, case_id, "t-street", "超时提级")
    assert len(reached) == 1 and "补发" not in reached[0]
    clock(factory, services, late + timedelta(hours=4))
    assert len(texts_to(factory, case_id, "t-leader", "超时提级")) == 1
    assert texts_to(factory, case_id, "t-other-community", "超时提级") == []


def test_a_night_reports_nothing_and_the_morning_brings_one_digest(factory, district, services):
    """Deadlines that pass in quiet hours: reminders in the morning, escalation a grace later, and the
    leader gets one digest of the night instead of a message per case."""
    first = opened(factory, services, now=NIGHT - timedelta(minutes=50))  # take due 22:10
    second = opened(factory, services, now=NIGHT - timedelta(minutes=40), category="噪音扰民")
    for hours in range(1, 9):
        clock(factory, services, NIGHT + timedelta(hours=hours))
    assert state_of(factory, first) == state_of(factory, second) == (CaseState.PENDING, 0)
    assert texts_to(factory, first, "t-worker", "【提醒】") == []
    morning = NIGHT + timedelta(hours=9)  # 07:00: quiet hours end
    clock(factory, services, morning)
    assert len(texts_to(factory, first, "t-worker", "【提醒】")) == 1
    assert state_of(factory, first) == (CaseState.PENDING, 0)
    clock(factory, services, morning + timedelta(minutes=30))
    assert state_of(factory, first) == state_of(factory, second) == (CaseState.ESCALATED, 1)
    digest = texts_to(factory, first, "t-leader", "")
    assert len(digest) == 1 and digest[0].startswith("【昨夜超时") and "已提级至网格长" in digest[0]
    assert texts_to(factory, second, "t-leader", "") == digest


def test_an_urgent_matter_escalates_at_night_without_waiting(factory, district, services):
    urgent = opened(factory, services, now=NIGHT + timedelta(hours=1), category="突发事件")  # due 23:15
    clock(factory, services, NIGHT + timedelta(hours=1, minutes=16))
    assert state_of(factory, urgent) == (CaseState.ESCALATED, 1)
    assert len(texts_to(factory, urgent, "t-leader", "超时提级")) == 1


def test_a_report_in_quiet_hours_starts_its_take_clock_when_they_end(factory, district, services):
    calm = opened(factory, services, now=NIGHT + timedelta(hours=3))  # 01:00
    urgent = opened(factory, services, now=NIGHT + timedelta(hours=3), category="突发事件")
    with factory() as session:
        assert session.get(Case, calm).take_due == NIGHT + timedelta(hours=10)  # 07:00 + 1 hour
        assert session.get(Case, urgent).take_due == NIGHT + timedelta(hours=3, minutes=15)


def test_running_the_clock_twice_sends_nothing_twice(factory, district, services):
    opened(factory, services)
    moment = T0 + timedelta(days=2)
    first = clock(factory, services, moment)
    with factory() as session:
        queued = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert first["reminders"] >= 1
    assert clock(factory, services, moment) == {"reminders": 0, "escalations": 0, "archived": 0}
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == queued


def test_two_clock_processes_at_once_act_once(factory, district, services):
    case_id = opened(factory, services, now=T0 + timedelta(days=10))
    barrier = threading.Barrier(2, timeout=20)
    moment = T0 + timedelta(days=10, hours=1, minutes=1)
    clock(factory, services, moment - timedelta(minutes=15))  # the reminder

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


def test_a_case_escalated_before_the_night_climbs_one_level_after_it_not_three(factory, district, services):
    case_id = opened(factory, services, now=NIGHT - timedelta(hours=2))  # take due 21:00
    clock(factory, services, NIGHT - timedelta(minutes=70))  # the reminder
    clock(factory, services, NIGHT - timedelta(minutes=59))
    assert state_of(factory, case_id) == (CaseState.ESCALATED, 1)
    morning = NIGHT + timedelta(hours=9)
    clock(factory, services, morning + timedelta(minutes=45))  # nine windows late, but they were asleep
    assert state_of(factory, case_id) == (CaseState.ESCALATED, 1)
    clock(factory, services, morning + timedelta(hours=1, minutes=31))
    assert state_of(factory, case_id) == (CaseState.ESCALATED, 2)
