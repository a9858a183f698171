"""The knobs of proactive work (config/visits.yaml) and the visit periods they imply (Beijing time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from config.settings import SHIPPED_CONFIG_DIR
from handlers.cases.timing import parse_duration
from handlers.texts import BEIJING

FREQUENCIES = ("weekly", "monthly", "quarterly")  # most frequent first


@dataclass(frozen=True)
class Period:
    """One visit period [start, end) as UTC moments; `last_day` is its last Beijing day (the due date)."""

    start: datetime
    end: datetime

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(seconds=1)).astimezone(BEIJING).date()

    def previous(self, frequency: str) -> Period:
        return period_of(frequency, self.start - timedelta(seconds=1))

    def following(self, frequency: str) -> Period:
        return period_of(frequency, self.end)


def _month_start(day: date, months: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_of(frequency: str, moment: datetime) -> Period:
    """The period of `frequency` that holds `moment`: ISO week, calendar month or quarter (Beijing)."""
    day = moment.astimezone(BEIJING).date()
    if frequency == "weekly":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    elif frequency == "quarterly":
        first = _month_start(day, -((day.month - 1) % 3))
        after = _month_start(first, 3)
    else:
        first = _month_start(day)
        after = _month_start(day, 1)
    return Period(_midnight(first), _midnight(after))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), BEIJING)


@dataclass(frozen=True)
class VisitRules:
    groups: dict[str, str]  # group → frequency
    remind_before: timedelta
    digest_at: time
    case_window: timedelta
    checkin_window: timedelta
    survey_groups: frozenset[str]
    units_per_day: int
    patrol_points: dict[str, tuple[str, ...]]  # grid code → points

    def frequency(self, groups: list[str]) -> str:
        """How often a person in `groups` is visited: the most frequent of their groups."""
        found = {self.groups.get(group, "monthly") for group in groups} or {"monthly"}
        return next(f for f in FREQUENCIES if f in found)


@lru_cache(maxsize=8)
def _load(path: Path, _mtime: float) -> VisitRules:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    groups = {str(name): str(frequency) for name, frequency in (data.get("groups") or {}).items()}
    for name, frequency in groups.items():
        if frequency not in FREQUENCIES:
            raise ValueError(f"{path}: group {name}: frequency {frequency!r} is not one of {FREQUENCIES}")
    return VisitRules(
        groups=groups,
        remind_before=parse_duration(data["remind_before"]),
        digest_at=time.fromisoformat(str(data["digest_at"])),
        case_window=parse_duration(data["case_window"]),
        checkin_window=parse_duration(data["checkin_window"]),
        survey_groups=frozenset(data.get("survey_groups") or ()),
        units_per_day=int(data.get("units_per_day", 3)),
        patrol_points={str(code): tuple(points) for code, points in (data.get("patrol_points") or {}).items()},
    )


def visit_rules(config_dir: Path = SHIPPED_CONFIG_DIR) -> VisitRules:
    """The rules in `config_dir/visits.yaml` (the shipped file when that folder has none)."""
    path = config_dir / "visits.yaml"
    if not path.is_file():
        path = SHIPPED_CONFIG_DIR / "visits.yaml"
    return _load(path, path.stat().st_mtime)
