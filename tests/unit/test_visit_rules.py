"""Visit periods in Beijing time, frequencies per group, and the 居民 sheet's 重点人群 / 走访网格员账号 columns."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from handlers.registry.importer import RegistryImportError, import_registry_file
from handlers.visits.due import VisitStatus, due_list
from handlers.visits.lists import week_share
from handlers.visits.rules import period_of, visit_rules
from models import Resident, Worker
from tests.demo_db import demo_factory  # noqa: F401  (fixture)

UNIT = "441999001001001001"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(("moment", "frequency", "first", "last"), [
    ("2026-11-30T15:59:00", "monthly", date(2026, 11, 1), date(2026, 11, 30)),  # 23:59 Beijing, Nov 30
    ("2026-11-30T16:00:00", "monthly", date(2026, 12, 1), date(2026, 12, 31)),  # midnight Beijing: December
    ("2026-12-31T16:30:00", "monthly", date(2027, 1, 1), date(2027, 1, 31)),  # across the year
    ("2026-11-29T15:00:00", "weekly", date(2026, 11, 23), date(2026, 11, 29)),  # Sunday 23:00 Beijing
    ("2026-11-29T16:00:00", "weekly", date(2026, 11, 30), date(2026, 12, 6)),  # Monday 00:00 Beijing
    ("2026-11-15T00:00:00", "quarterly", date(2026, 10, 1), date(2026, 12, 31)),
    ("2027-03-31T16:00:00", "quarterly", date(2027, 4, 1), date(2027, 6, 30)),
])
def test_periods_are_beijing_weeks_months_and_quarters(moment, frequency, first, last):
    period = period_of(frequency, utc(moment))
    assert (period.start.date(), period.last_day) == (first, last)
    assert period.following(frequency).start == period.end
    assert period.previous(frequency).end == period.start


def test_the_most_frequent_group_sets_the_pace_and_unknown_groups_are_monthly():
    rules = visit_rules()
    assert rules.frequency(["空巢老人", "独居老人"]) == "weekly"
    assert rules.frequency(["困难群众"]) == rules.frequency(["某个新群体"]) == "monthly"


def _import(demo_factory, tmp_path, rows: str):
    path = tmp_path / "residents.csv"
    path.write_text("企业微信账号,姓名,手机号码,单元编码,重点人群,走访网格员账号\n" + rows, encoding="utf-8")
    with demo_factory.begin() as session:
        return import_registry_file(session, path)


def test_the_resident_sheet_sets_groups_and_a_visit_worker(demo_factory, tmp_path):
    _import(demo_factory, tmp_path, f"t-care-1,孙玉兰,,{UNIT},空巢老人、残疾家庭,demo-leader\n")
    with demo_factory() as session:
        person = session.scalars(select(Resident).where(Resident.userid == "t-care-1")).one()
        assert person.groups == ["空巢老人", "残疾家庭"] and person.visit_worker.userid == "demo-leader"
        since = person.groups_since
        assert since is not None
        leader = session.scalars(select(Worker).where(Worker.userid == "demo-leader")).one()
        worker = session.scalars(select(Worker).where(Worker.userid == "demo-worker")).one()
        rules, now = visit_rules(), datetime.now(timezone.utc)
        assert "孙玉兰" in {row.resident.name for row in due_list(session, rules, now, worker=leader)}
        assert "孙玉兰" not in {row.resident.name for row in due_list(session, rules, now, worker=worker)}
    assert _import(demo_factory, tmp_path, f"t-care-1,孙玉兰,,{UNIT},空巢老人、残疾家庭,demo-leader\n"
                   ).counts.unchanged == 1
    _import(demo_factory, tmp_path, f"t-care-1,孙玉兰,,{UNIT},,\n")  # no longer in a group
    with demo_factory() as session:
        person = session.scalars(select(Resident).where(Resident.userid == "t-care-1")).one()
        assert (person.groups, person.groups_since, person.visit_worker) == ([], None, None)


def test_an_unknown_visit_worker_is_a_problem_and_nothing_is_written(demo_factory, tmp_path):
    with pytest.raises(RegistryImportError) as error:
        _import(demo_factory, tmp_path, f"t-care-2,钱桂花,,{UNIT},困难群众,nobody-here\n")
    assert [(p.column, p.code, p.value) for p in error.value.problems] == [
        ("F 走访网格员账号", "unknown_worker", "nobody-here")]
    with demo_factory() as session:
        assert session.scalars(select(Resident).where(Resident.userid == "t-care-2")).first() is None


def _due(name: str, frequency: str, now: datetime, overdue: bool = False) -> VisitStatus:
    person = Resident(userid=name, name=name, groups=["空巢老人"])
    return VisitStatus(person, None, None, frequency, period_of(frequency, now), None, overdue)


def test_this_weeks_visits_are_the_overdue_the_weekly_and_a_fair_share_of_the_month():
    now = utc("2026-11-03T02:00:00")  # Tuesday 10:00 Beijing: four weeks and a bit left in November
    monthly = [_due(f"m{i}", "monthly", now) for i in range(8)]
    late, weekly = _due("late", "monthly", now, overdue=True), _due("weekly", "weekly", now)
    share = week_share([late, weekly, *monthly], now)
    assert [row.resident.name for row in share] == ["late", "weekly", "m0", "m1"]  # 8 monthly over 4 weeks
    last_week = utc("2026-11-26T02:00:00")  # the month ends this week: everyone
    assert len(week_share([_due(f"m{i}", "monthly", last_week) for i in range(8)], last_week)) == 8
