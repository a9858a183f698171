"""Case work on a real database: who may act, the 接单 race, pauses that shift the clock, history kept."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from handlers.cases import case_work, worker_queries
from handlers.cases.authority import Actor, may_act
from handlers.cases.duplicates import elsewhere, likely_duplicate, similarity
from handlers.cases.lifecycle import IllegalTransition
from handlers.cases.records import StaleCase
from handlers.cases.timing import Thresholds
from handlers.chat.case_numbers import format_case_number
from models import Case, CaseEvent, CaseLink, CaseState
from tests.unit.lifecycle_support import (  # noqa: F401 (fixtures)
    T0,
    District,
    district,
    factory,
    load_district,
    new_case,
    notices_for,
    services,
    taken_case,
)


@pytest.mark.parametrize("who, allowed", [("worker", True), ("leader", True), ("community", True), ("street", True),
                                          ("outsider", False), ("other_community", False)])
def test_only_the_assignee_the_leader_and_higher_levels_over_the_area_may_act(factory, district: District,
                                                                                services, who, allowed):
    with factory.begin() as session:
        case = new_case(session, services)
        assert may_act(Actor.for_worker(load_district(session).workers[who]), case) is allowed


def test_an_unassigned_case_may_be_taken_by_any_worker_of_its_grid(factory, district, services):
    with factory.begin() as session:
        people = load_district(session).workers
        case = new_case(session, services)
        case.assignee = None
        assert may_act(Actor.for_worker(people["worker"]), case) and not may_act(Actor.for_worker(people["outsider"]), case)


def test_two_takes_at_once_exactly_one_wins(factory, district, services):
    with factory.begin() as session:
        case_id = new_case(session, services).id
    barrier = threading.Barrier(2, timeout=20)
    outcomes: dict[str, str] = {}
    # PostgreSQL: both read "pending" before either writes. SQLite serialises writers at BEGIN,
    # so there the barrier comes first and the second transaction reads the winner's state.
    read_first = factory.kw["bind"].dialect.name == "postgresql"

    def take(who: str) -> None:
        if not read_first:
            barrier.wait()
        try:
            with factory.begin() as session:
                case = session.get(Case, case_id)
                if read_first:
                    barrier.wait()
                case_work.take(session, case, load_district(session).workers[who], T0)
            outcomes[who] = "won"
        except (StaleCase, IllegalTransition) as error:
            outcomes[who] = type(error).__name__

    threads = [threading.Thread(target=take, args=(who,)) for who in ("worker", "leader")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()).count("won") == 1, outcomes
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent)
                              .where(CaseEvent.case_id == case_id, CaseEvent.action == "take")) == 1


def test_an_illegal_step_changes_nothing(factory, district, services):
    with factory.begin() as session:
        case = new_case(session, services)
        worker = load_district(session).workers["worker"]
        with pytest.raises(IllegalTransition):
            case_work.close(session, case, Actor.for_worker(worker), "done", T0)
        assert case.state == CaseState.PENDING and [e.action for e in case.events] == ["report"]


def test_each_step_writes_its_event_and_queues_its_notices_together(factory, district, services):
    with factory.begin() as session:
        case = new_case(session, services)
        worker = load_district(session).workers["worker"]
        event = case_work.take(session, case, worker, T0 + timedelta(minutes=5))
        recipients = {(n.channel, n.recipient) for n in notices_for(session, case)
                      if n.dedupe_key.startswith(f"ev{event.id}:")}
    assert recipients == {("user", "t-resident"), ("appchat", "chat-t1")}


def test_resume_shifts_every_open_deadline_by_the_time_suspended(factory, district, services):
    with factory.begin() as session:
        case, worker = taken_case(session, services)
        plan_due, close_due = case.plan_due, case.close_due
        case_work.suspend(session, case, Actor.for_worker(worker), "等待供电局", T0 + timedelta(minutes=20))
        case_work.resume(session, case, Actor.for_worker(worker), T0 + timedelta(hours=3, minutes=20))
        assert case.state == CaseState.IN_PROGRESS and case.suspended_at is None
        assert case.plan_due - plan_due == timedelta(hours=3) and case.close_due - close_due == timedelta(hours=3)


def test_recategorize_takes_the_new_clock_and_keeps_the_old_category_in_the_history(factory, district, services):
    with factory.begin() as session:
        case = new_case(session, services)
        worker = load_district(session).workers["worker"]
        urgent = services.classifier().catalogue.get("突发事件")
        event = case_work.recategorize(session, case, Actor.for_worker(worker), urgent, worker, T0 + timedelta(minutes=1))
        assert event.note == "环境卫生 → 突发事件" and case.category == "突发事件" and case.urgent
        assert case.take_due == T0 + urgent.clock.take and case.state == CaseState.PENDING


def test_merge_makes_the_duplicate_reporter_a_follower_of_the_kept_case(factory, district, services):
    with factory.begin() as session:
        kept = new_case(session, services)
        duplicate = new_case(session, services, reporter="t-neighbour")
        worker = load_district(session).workers["worker"]
        case_work.merge(session, duplicate, kept, worker.userid, T0)
        assert duplicate.state == CaseState.MERGED and duplicate.duplicate_of_id == kept.id
        assert session.scalars(select(CaseLink.userid).where(CaseLink.case_id == kept.id)).all() == ["t-neighbour"]
        assert kept.events[-1].action == "note"


def test_a_patrol_case_is_archived_when_closed(factory, district, services):
    with factory.begin() as session:
        case = new_case(session, services)
        case.source = "patrol"
        worker = load_district(session).workers["worker"]
        case_work.take(session, case, worker, T0)
        case_work.close(session, case, Actor.for_worker(worker), "已清理", T0 + timedelta(hours=1))
        assert case.state == CaseState.ARCHIVED


def test_mine_and_overdue_list_the_most_late_first_and_only_in_the_workers_reach(factory, district, services):
    with factory.begin() as session:  # the other grid: no other test puts cases there
        cases = [new_case(session, services, now=T0 + timedelta(minutes=minutes), assignee="outsider")
                 for minutes in (0, 30, 120)]
        people = load_district(session).workers
        now = T0 + timedelta(minutes=130)
        mine = worker_queries.mine(session, people["outsider"], now)
        late = worker_queries.overdue(session, people["other_community"], now)
        elsewhere = worker_queries.overdue(session, people["leader"], now)
    early, later, fresh = (format_case_number(case.id) for case in cases)
    assert mine.index(early) < mine.index(later) < mine.index(fresh)
    assert early in late and later in late and fresh not in late
    assert early not in elsewhere


def test_a_working_hours_category_gets_its_deadlines_in_working_time(factory, district, services):
    friday_evening = T0 + timedelta(days=4, hours=7)  # 17:00 in Beijing on Friday 6 March
    with factory.begin() as session:
        case = new_case(session, services, now=friday_evening, category="违章搭建")
        assert case.take_due == friday_evening + timedelta(days=2, hours=16)  # Monday 09:00


def test_a_likely_duplicate_is_another_residents_open_case_of_the_matter_there_within_the_window(
        factory, district, services):
    window, thresholds = timedelta(hours=48), Thresholds(link=70, suspect=40)
    start = T0 + timedelta(days=30)
    with factory.begin() as session:
        first = new_case(session, services, now=start)
        again = new_case(session, services, now=start + timedelta(hours=1))
        neighbour = new_case(session, services, now=start + timedelta(hours=2), reporter="t-neighbour")
        other_matter = new_case(session, services, now=start + timedelta(hours=3), reporter="t-neighbour",
                                category="噪音扰民")
        late = new_case(session, services, now=start + timedelta(days=3), reporter="t-late")
        found = likely_duplicate(session, neighbour, window, thresholds)
        assert (found.case, found.sure) == (first, True)
        assert likely_duplicate(session, again, window, thresholds) is None  # the same resident's repeat
        assert likely_duplicate(session, other_matter, window, thresholds) is None
        assert likely_duplicate(session, late, window, thresholds) is None


def test_a_duplicate_needs_alike_words_and_somewhat_alike_words_are_only_suspected(factory, district, services):
    window, thresholds = timedelta(hours=48), Thresholds(link=70, suspect=40)
    start = T0 + timedelta(days=40)
    with factory.begin() as session:
        cover = new_case(session, services, now=start, category="市政设施", text="8栋北门那块井盖翘起来了，车一过就响")
        lamp = new_case(session, services, now=start + timedelta(hours=1), reporter="t-lamp", category="市政设施",
                        text="8栋北门的路灯晚上不亮")
        cover_again = new_case(session, services, now=start + timedelta(hours=2), reporter="t-again",
                               category="市政设施", text="8号楼北门井盖翘起来了，车压过去就响")
        cover_vaguely = new_case(session, services, now=start + timedelta(hours=3), reporter="t-vague",
                                 category="市政设施", text="北门井盖有点问题")
        assert likely_duplicate(session, lamp, window, thresholds) is None  # same place and matter, another problem
        found = likely_duplicate(session, cover_again, window, thresholds)
        assert (found.case, found.sure) == (cover, True)
        found = likely_duplicate(session, cover_vaguely, window, thresholds)
        assert found.case in (cover, cover_again) and not found.sure
        assert thresholds.suspect <= found.score < thresholds.link
    assert similarity("8栋北门的路灯晚上不亮", "3号楼北门的路灯晚上不亮") == 100  # place words do not count


@pytest.mark.parametrize(("first", "second", "apart"), [
    ("8栋北门的路灯晚上不亮", "3号楼北门的路灯晚上不亮", True), ("三单元电梯坏了", "5单元电梯坏了", True),
    ("302室漏水", "501室漏水", True), ("3楼楼道堆满杂物", "5层楼道堆满杂物", True),
    ("8栋北门的路灯晚上不亮", "8号楼北门路灯坏了", False), ("三单元电梯坏了", "3单元的电梯又坏了", False),
    ("5栋和6栋之间的路灯不亮", "6栋旁边的路灯不亮", False), ("8栋3单元电梯坏了", "电梯坏了", False),
    ("8栋3单元电梯坏了", "8栋电梯又坏了", False),
])
def test_reports_naming_other_buildings_entrances_floors_or_rooms_are_elsewhere(first, second, apart):
    assert elsewhere(first, second) is apart and elsewhere(second, first) is apart
