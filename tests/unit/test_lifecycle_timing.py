"""The clock's calendar arithmetic: durations, quiet hours, working-hours deadlines."""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time, timedelta, timezone

import pytest

from config.settings import SHIPPED_CONFIG_DIR
from handlers.cases.timing import WorkingHours, clock_rules, parse_duration
from handlers.texts import BEIJING

OFFICE = WorkingHours(categories=frozenset({"违章搭建"}), start=time(8, 30), end=time(17, 30),
                      weekdays=frozenset({1, 2, 3, 4, 5}), holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)}),
                      workdays=frozenset({date(2026, 10, 10)}))


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


@pytest.mark.parametrize("text, expected", [("15m", timedelta(minutes=15)), ("4h", timedelta(hours=4)),
                                            ("3d", timedelta(days=3))])
def test_durations_read_as_written(text, expected):
    assert parse_duration(text) == expected


def test_a_duration_without_unit_is_refused():
    with pytest.raises(ValueError):
        parse_duration("90")


@pytest.mark.parametrize("start, duration, expected", [
    (beijing(2026, 3, 6, 17, 0), timedelta(hours=1), beijing(2026, 3, 9, 9, 0)),  # Friday evening → Monday
    (beijing(2026, 3, 6, 17, 0), timedelta(days=1), beijing(2026, 3, 9, 17, 0)),  # one working day
    (beijing(2026, 3, 7, 10, 0), timedelta(days=1), beijing(2026, 3, 10, 8, 30)),  # reported on Saturday
    (beijing(2026, 9, 30, 16, 0), timedelta(hours=2), beijing(2026, 10, 5, 9, 0)),  # across the holiday and weekend
    (beijing(2026, 10, 9, 17, 0), timedelta(hours=1), beijing(2026, 10, 10, 9, 0)),  # a Saturday made a workday
    (beijing(2026, 3, 9, 7, 0), timedelta(minutes=15), beijing(2026, 3, 9, 8, 45)),  # before opening
])
def test_working_hours_skip_nights_weekends_and_holidays(start, duration, expected):
    assert OFFICE.add(start, duration) == expected


def test_other_categories_run_in_calendar_time():
    rules = clock_rules()
    start = datetime(2026, 3, 6, 9, 0, tzinfo=timezone.utc)
    assert rules.deadline("环境卫生", start, timedelta(hours=1)) == start + timedelta(hours=1)
    assert rules.deadline("违章搭建", start, timedelta(hours=1)) > start + timedelta(days=2)


@pytest.mark.parametrize("local, quiet", [(time(21, 59), False), (time(22, 0), True), (time(3, 0), True),
                                          (time(7, 0), False), (time(12, 0), False)])
def test_quiet_hours_span_midnight_in_beijing_time(local, quiet):
    moment = datetime.combine(date(2026, 3, 2), local, BEIJING).astimezone(timezone.utc)
    assert clock_rules().is_quiet(moment) is quiet


def test_the_shipped_clock_follows_chinas_official_calendar_with_its_tiao_xiu_days():
    hours = clock_rules().working_hours
    assert hours.official_calendar
    assert not hours.is_working_day(date(2026, 2, 16))  # Spring Festival
    assert hours.is_working_day(date(2026, 2, 14))  # a Saturday made a working day (调休)
    assert hours.is_working_day(date(2026, 2, 28))
    assert not hours.is_working_day(date(2026, 10, 5))  # National Day week
    assert hours.is_working_day(date(2026, 3, 3)) and not hours.is_working_day(date(2026, 3, 7))
    # Friday before the Spring Festival + one working day: the 调休 Saturday, not the week after
    assert hours.add(beijing(2026, 2, 13, 10, 0), timedelta(days=1)) == beijing(2026, 2, 14, 10, 0)


def test_local_overrides_win_over_the_official_calendar():
    hours = WorkingHours(categories=frozenset(), start=time(8, 30), end=time(17, 30), weekdays=frozenset({1, 2, 3, 4, 5}),
                         holidays=frozenset({date(2026, 3, 3)}), workdays=frozenset({date(2026, 10, 5)}),
                         official_calendar=True)
    assert not hours.is_working_day(date(2026, 3, 3)) and hours.is_working_day(date(2026, 10, 5))


def test_a_year_the_package_does_not_know_falls_back_to_the_weekdays():
    hours = WorkingHours(categories=frozenset(), start=time(8, 30), end=time(17, 30), weekdays=frozenset({1, 2, 3, 4, 5}),
                         holidays=frozenset(), workdays=frozenset(), official_calendar=True)
    assert hours.is_working_day(date(2040, 1, 2)) and not hours.is_working_day(date(2040, 1, 7))


def test_lifecycle_yaml_is_looked_at_once_a_second_and_an_edit_is_read(tmp_path, monkeypatch):
    """A report asks for the rules two or three times: one stat() each before; the file is still read again
    once it changed (at most RECHECK seconds later)."""
    from handlers.cases import timing

    shipped = (SHIPPED_CONFIG_DIR / "lifecycle.yaml").read_text(encoding="utf-8")
    (tmp_path / "lifecycle.yaml").write_text(shipped, encoding="utf-8")
    now = [1000.0]
    monkeypatch.setattr(timing, "monotonic", lambda: now[0])
    looked = []
    file_mtime = timing._file_mtime
    monkeypatch.setattr(timing, "_file_mtime", lambda path: looked.append(path) or file_mtime(path))
    before = [clock_rules(tmp_path) for _ in range(3)]
    assert len(looked) == 1 and before[0] is before[2]
    edited = re.sub(r"^duplicate_window: .*$", "duplicate_window: 7d", shipped, count=1, flags=re.MULTILINE)
    (tmp_path / "lifecycle.yaml").write_text(edited, encoding="utf-8")
    os.utime(tmp_path / "lifecycle.yaml", (1, 1))  # another modification time, whatever the clock's resolution
    now[0] += timing.RECHECK
    assert clock_rules(tmp_path).duplicate_window == timedelta(days=7) != before[0].duplicate_window
    assert len(looked) == 2
