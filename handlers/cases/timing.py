"""The case clock's arithmetic: deadlines per step, reminders, quiet hours, pauses (config/lifecycle.yaml)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG
from time import monotonic

import chinese_calendar
import yaml
from sqlalchemy import ColumnElement, and_, or_

from config.settings import SHIPPED_CONFIG_DIR
from handlers.texts import BEIJING
from models import Case, CaseState

DAY = timedelta(days=1)
STEPS = ("take", "plan", "close")  # the 117 clock: 接单, 方案, 办结
CLOCK_STATES = (CaseState.PENDING, CaseState.IN_PROGRESS, CaseState.ESCALATED)  # the clock runs
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`15m`, `4h`, `3d` → timedelta; ValueError otherwise."""
    match = _DURATION.match(str(text).strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (write 15m, 4h or 3d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def official_working_day(day: date) -> bool | None:
    """China's official calendar: False on a statutory holiday, True on a weekend day made a working day
    (调休), None on an ordinary day or in a year the chinese-calendar package does not cover yet."""
    try:
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return None if name is None else not is_holiday


def official_calendar_covers(year: int) -> bool:
    """Whether the installed chinese-calendar package knows `year`'s holidays (update it each December)."""
    try:
        chinese_calendar.get_holiday_detail(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class WorkingHours:
    """A working-hours calendar (Beijing time) for the categories that use one."""

    categories: frozenset[str]
    start: time
    end: time
    weekdays: frozenset[int]
    holidays: frozenset[date]  # local days off, over everything else
    workdays: frozenset[date]  # local working days, over everything else
    official_calendar: bool = False  # China's statutory holidays and 调休 days (the chinese-calendar package)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays or day in self.holidays:
            return day in self.workdays
        official = official_working_day(day) if self.official_calendar else None
        return official if official is not None else day.isoweekday() in self.weekdays

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """`start` + `duration` in working time: whole days are working days, the rest working hours."""
        if duration >= DAY and duration % DAY == timedelta(0):
            return self._add_days(start, duration // DAY)
        return self._add_hours(start, duration)

    def _add_days(self, start: datetime, days: int) -> datetime:
        """The same time of day `days` working days after the first working moment from `start`."""
        cursor = self._add_hours(start, timedelta(0)).astimezone(BEIJING)
        day = cursor.date()
        while days:
            day += DAY
            days -= self.is_working_day(day)
        return datetime.combine(day, cursor.time(), BEIJING).astimezone(start.tzinfo)

    def _add_hours(self, start: datetime, duration: timedelta) -> datetime:
        cursor, remaining = start.astimezone(BEIJING), duration
        for _ in range(3660):  # ten years of days: a calendar with no working day at all stops here
            day = cursor.date()
            opens = datetime.combine(day, self.start, BEIJING)
            closes = datetime.combine(day, self.end, BEIJING)
            if self.is_working_day(day) and cursor < closes:
                cursor = max(cursor, opens)
                if cursor + remaining <= closes:
                    return (cursor + remaining).astimezone(start.tzinfo)
                remaining -= closes - cursor
            cursor = datetime.combine(day + DAY, self.start, BEIJING)
        raise ValueError("the working-hours calendar has no working time")


@dataclass(frozen=True)
class Thresholds:
    """Similarity (0–100) from which a report follows an earlier case (`link`) or is marked 疑似重复 (`suspect`)."""

    link: float
    suspect: float


@dataclass(frozen=True)
class ClockRules:
    reminder_before: dict[str, timedelta]
    quiet_start: time
    quiet_end: time
    quiet_grace: timedelta  # a non-urgent step due in the night escalates this long after the night
    rating_window: timedelta
    photo_window: timedelta
    duplicate_window: timedelta
    duplicate_similarity: Thresholds
    repeat_window: timedelta  # a report like a case closed this recently is a 回头件 of it
    ask_back_timeout: timedelta
    media_wait: timedelta
    qr_arrival_window: timedelta
    place_wait: timedelta  # a report still without a place this long goes to the street's staff
    double_tap: timedelta  # a worker's same words on the same case again this soon are one tap, recorded once
    resend_window: timedelta  # a resident's report sent again this soon, its case still open, asks after that case
    pieces_window: timedelta  # a short text this soon after a resident's report may be more of it
    details_window: timedelta  # the details of a matter announced (我想反映…的问题) this soon after are more of it
    late_choice_window: timedelta  # an ask-back answered this long after its report opened as 其他 still sorts it
    late_rating_window: timedelta  # 满意 this long after an unrated case's close still rates it once archived
    working_hours: WorkingHours

    def deadline(self, category: str | None, start: datetime, duration: timedelta) -> datetime:
        """`start` + `duration` on the category's clock: working hours for some, calendar time for the rest."""
        if category in self.working_hours.categories:
            return self.working_hours.add(start, duration)
        return start + duration

    def is_quiet(self, now: datetime) -> bool:
        """Inside quiet hours (Beijing wall-clock time); the window may span midnight."""
        local = now.astimezone(BEIJING).time()
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end

    def quiet_end_after(self, moment: datetime) -> datetime:
        """The end of the quiet hours `moment` falls in (or the next end, outside them)."""
        local = moment.astimezone(BEIJING)
        end = datetime.combine(local.date(), self.quiet_end, BEIJING)
        if end <= local:
            end += DAY
        return end.astimezone(moment.tzinfo)

    def take_clock_start(self, urgent: bool, reported: datetime) -> datetime:
        """When the take clock starts: at once for urgent matters, else at the end of quiet hours."""
        return self.quiet_end_after(reported) if not urgent and self.is_quiet(reported) else reported

    def escalation_start(self, deadline: datetime, reminded: datetime) -> datetime:
        """When a non-urgent step due at `deadline`, reminded at `reminded`, may escalate: at the deadline
        when the reminder came first; a grace after a late reminder; a grace after the night it fell in."""
        start = reminded + self.quiet_grace if reminded >= deadline else deadline
        if self.is_quiet(deadline):
            start = max(start, self.quiet_end_after(deadline) + self.quiet_grace)
        return start

    def after_last_night(self, start: datetime, now: datetime) -> datetime:
        """`start`, or a grace after the last quiet hours between it and `now` (outside them): a non-urgent
        step climbs one level per window of waking time, never several at once for a night."""
        if self.quiet_start == self.quiet_end or self.is_quiet(now):
            return start
        last_end = self.quiet_end_after(now) - DAY
        return max(start, last_end + self.quiet_grace) if last_end > start else start

    def reminder_lead(self, step: str, window: timedelta) -> timedelta:
        """How long before the `step` deadline its reminder goes out."""
        return min(self.reminder_before[step], window / 2)


@lru_cache(maxsize=8)
def _load(path: str, _mtime: float) -> ClockRules:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return ClockRules(
        reminder_before={step: parse_duration(data["reminder_before"][step]) for step in STEPS},
        quiet_start=time.fromisoformat(data["quiet_hours"]["start"]),
        quiet_end=time.fromisoformat(data["quiet_hours"]["end"]),
        quiet_grace=parse_duration(data["quiet_hours"].get("grace", "30m")),
        rating_window=parse_duration(data["rating_window"]),
        photo_window=parse_duration(data["photo_window"]),
        duplicate_window=parse_duration(data["duplicate_window"]),
        duplicate_similarity=Thresholds(**data["duplicate_similarity"]),
        repeat_window=parse_duration(data.get("repeat_window", "30d")),
        ask_back_timeout=parse_duration(data["ask_back_timeout"]),
        media_wait=parse_duration(data["media_wait"]),
        qr_arrival_window=parse_duration(data.get("qr_arrival_window", "2h")),
        place_wait=parse_duration(data.get("place_wait", "30m")),
        double_tap=parse_duration(data.get("double_tap", "5m")),
        resend_window=parse_duration(data.get("resend_window", "3d")),
        pieces_window=parse_duration(data.get("pieces_window", "3m")),
        details_window=parse_duration(data.get("details_window", "10m")),
        late_choice_window=parse_duration(data.get("late_choice_window", "1d")),
        late_rating_window=parse_duration(data.get("late_rating_window", "30d")),
        working_hours=_working_hours(data["working_hours"]),
    )


def _working_hours(data: dict) -> WorkingHours:
    return WorkingHours(
        categories=frozenset(data.get("categories") or ()),
        start=time.fromisoformat(data["start"]),
        end=time.fromisoformat(data["end"]),
        weekdays=frozenset(data["weekdays"]),
        holidays=frozenset(date.fromisoformat(str(day)) for day in data.get("holidays") or ()),
        workdays=frozenset(date.fromisoformat(str(day)) for day in data.get("workdays") or ()),
        official_calendar=bool(data.get("official_calendar", False)),
    )


def clock_rules(config_dir: Path = SHIPPED_CONFIG_DIR) -> ClockRules:
    """The rules in `config_dir/lifecycle.yaml` (the shipped file when that folder has none), read
    again when the file changes: its modification time is looked at once per RECHECK seconds at most (a
    report asks two or three times; one stat() each was ~1 % of a message's CPU)."""
    now = monotonic()
    known = _CHECKED.get(config_dir)
    if known is not None and now - known[0] < RECHECK:
        return known[1]
    path = _lifecycle_path(config_dir)
    mtime = _file_mtime(path)
    if mtime is None:
        path = _lifecycle_path(SHIPPED_CONFIG_DIR)
        mtime = os.stat(path).st_mtime
    rules = _load(path, mtime)
    _CHECKED[config_dir] = (now, rules)
    return rules


RECHECK = 1.0  # seconds a folder's lifecycle.yaml is not looked at again
_CHECKED: dict[Path, tuple[float, ClockRules]] = {}  # config folder → (when looked at, its rules then)


@lru_cache(maxsize=64)
def _lifecycle_path(config_dir: Path) -> str:
    return os.path.join(config_dir, "lifecycle.yaml")


def _file_mtime(path: str) -> float | None:
    """The modification time of the regular file at `path`; None when there is none."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime if S_ISREG(stat.st_mode) else None


def due(case: Case, step: str) -> datetime | None:
    """The deadline of `step`, or None when the step is done, the case closed, or it has no clock."""
    if case.closed_at is not None:
        return None
    done = {"take": case.taken_at, "plan": case.planned_at, "close": case.closed_at}[step]
    return None if done is not None else getattr(case, f"{step}_due")


def set_due(case: Case, step: str, value: datetime) -> None:
    setattr(case, f"{step}_due", value)


def open_steps(case: Case) -> list[tuple[str, datetime]]:
    """(step, deadline) of every step not done yet, earliest first."""
    found = [(step, when) for step in STEPS if (when := due(case, step)) is not None]
    return sorted(found, key=lambda pair: pair[1])


def overdue_by(case: Case, now: datetime) -> timedelta | None:
    """How late the case's most overdue open step is, or None when nothing is late (or the clock is paused)."""
    if case.state not in CLOCK_STATES:
        return None
    late = [now - when for _, when in open_steps(case) if when <= now]
    return max(late) if late else None


def shift_deadlines(case: Case, by: timedelta) -> None:
    """Move every open step's deadline by `by` (the time the case spent suspended)."""
    for step, when in open_steps(case):
        set_due(case, step, when + by)



def due_by(moment: datetime) -> ColumnElement[bool]:
    """SQL: some open step of the case falls due at or before `moment`."""
    return or_(
        and_(Case.taken_at.is_(None), Case.take_due <= moment),
        and_(Case.planned_at.is_(None), Case.plan_due <= moment),
        and_(Case.closed_at.is_(None), Case.close_due <= moment),
    )
