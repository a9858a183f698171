"""吹哨报到: a grid calls a functional department to a case (or a resident's department matter goes
straight to it); the department's liaisons 报到, report progress, close the case or return it to the grid.

Each step is a case event on the case's timeline (actions whistle / report_in / whistle_return, and the
ordinary progress / close), queued with its notices in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from config.settings import SHIPPED_CONFIG_DIR
from handlers.cases import case_work
from handlers.cases.authority import Actor
from handlers.cases.case_notices import to_group, to_reporter, to_worker
from handlers.cases.records import Place, apply_action, open_case
from handlers.cases.timing import ClockRules, parse_duration
from handlers.classify import Category
from handlers.texts import render
from models import Case, CaseEvent, Department, Resident, Whistle, WhistleState, Worker

ACTIVE = (WhistleState.CALLED, WhistleState.REPORTED)


@dataclass(frozen=True)
class WhistleRules:
    """config/departments.yaml."""

    report_within: timedelta
    remind_before: timedelta
    direct_routing: bool


@lru_cache(maxsize=4)
def whistle_rules(config_dir: Path = SHIPPED_CONFIG_DIR) -> WhistleRules:
    """The 报到 window, the reminder lead and direct routing, from `config_dir`/departments.yaml."""
    path = Path(config_dir) / "departments.yaml"
    if not path.exists():
        path = SHIPPED_CONFIG_DIR / "departments.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return WhistleRules(parse_duration(data["report_within"]), parse_duration(data["remind_before"]),
                        bool(data.get("direct_routing", False)))


def report_window(department: Department, rules: WhistleRules) -> timedelta:
    """How long `department` has to 报到: its own 报到时限, else the configured default."""
    return timedelta(hours=department.report_hours) if department.report_hours else rules.report_within


def find_departments(session: Session, wanted: str) -> list[Department]:
    """Departments by code or name; a part of a name (城管 → 城管执法) when nothing matches exactly."""
    exact = list(session.scalars(select(Department).where(or_(Department.code == wanted, Department.name == wanted))))
    if exact or not wanted:
        return exact
    return list(session.scalars(select(Department).where(Department.name.contains(wanted)).order_by(Department.id)))


def active_whistles(case: Case, session: Session) -> list[Whistle]:
    """The case's whistles still waiting for 报到 or being handled, oldest first."""
    return list(session.scalars(select(Whistle).where(Whistle.case_id == case.id, Whistle.state.in_(ACTIVE))
                                .order_by(Whistle.id)))


def _photos(case: Case) -> list[str]:
    """The case's photos (resident's and workers'), as links the liaison can open."""
    return [a["pic_url"] for e in case.events for a in e.attachments if a.get("kind") == "image" and a.get("pic_url")]


def blow(session: Session, case: Case, actor: Actor, args: str, now: datetime, rules: WhistleRules) -> str:
    """`吹哨 N 部门 说明`: the department's liaisons get the case; the resident hears who was called."""
    wanted, _, note = args.strip().partition(" ")
    found = find_departments(session, wanted.strip())
    if len(found) != 1:
        names = session.scalars(select(Department.name).order_by(Department.id)).all()
        return render("replies/department_not_found", wanted=wanted, names=names)
    department = found[0]
    if any(w.department_id == department.id for w in active_whistles(case, session)):
        return render("replies/already_whistled", case=case, department=department)
    note = note.strip()
    event = apply_action(session, case, "whistle", actor=actor.userid, now=now,
                         note=f"{department.name}：{note}" if note else department.name)
    whistle = _call(session, event, department, note or None, actor.userid, now, rules,
                    caller=f"{case.grid.name if case.grid else ''}{actor.name}")
    if case.source == "resident":
        to_reporter(session, event, "notices/whistle_resident", department=department)
    to_group(session, event, "notices/group_update", who=actor.name)
    return render("replies/whistled", case=case, whistle=whistle, department=department)


def _call(session: Session, event: CaseEvent, department: Department, note: str | None, by: str, now: datetime,
          rules: WhistleRules, *, caller: str | None) -> Whistle:
    """The whistle behind `event`, its 报到 deadline, and a notice to each liaison (`caller`: who
    called; None: the resident's matter came straight to the department)."""
    case = event.case
    case.department = department.name
    whistle = Whistle(case=case, department=department, note=note, whistled_by=by, at=now,
                      report_due=now + report_window(department, rules))
    session.add(whistle)
    for liaison in department.liaisons:
        to_worker(session, event, liaison, "notices/whistle_liaison", whistle=whistle, caller=caller,
                  photos=_photos(case))
    return whistle


def taking_department(session: Session, category: str) -> Department | None:
    """The registered department that takes `category` (its 负责事项) and has someone to answer."""
    for department in session.scalars(select(Department).order_by(Department.id)):
        if category in (department.matters or []) and department.liaisons:
            return department
    return None


def route_to_department(session: Session, reporter_userid: str, resident: Resident | None, place: Place, text: str,
                        category: Category, classification: dict | None, now: datetime, rules: WhistleRules,
                        clock: ClockRules, *, source: str = "resident") -> Case | None:
    """入格审查 said "not a grid matter": with direct routing on and a registered department taking the
    category, the case goes straight to it (no grid clock; the department's 报到 clock runs).
    None: the reporter only hears where to turn."""
    department = taking_department(session, category.name) if rules.direct_routing else None
    if department is None:
        return None
    case = open_case(session, text=text, category=category, reporter_userid=reporter_userid, resident=resident,
                     place=place, assignee=None, now=now, rules=clock, source=source, classification=classification)
    case.take_due = case.plan_due = case.close_due = None  # the grid's 117 clock does not apply
    event = apply_action(session, case, "route_department", actor="system", now=now, note=department.name)
    _call(session, event, department, None, "system", now, rules, caller=None)
    return case


def _tell_grid(session: Session, event: CaseEvent, whistle: Whistle) -> None:
    """The case's assignee and whoever blew the whistle hear what the department did."""
    case = event.case
    people = [case.assignee] if case.assignee is not None else []
    whistler = session.scalars(select(Worker).where(Worker.userid == whistle.whistled_by)).first()
    if whistler is not None:
        people.append(whistler)
    for person in {p.id: p for p in people}.values():
        to_worker(session, event, person, "notices/whistle_update", whistle=whistle)


def report_in(session: Session, whistle: Whistle, liaison: Actor, now: datetime) -> CaseEvent:
    """`报到 N`: the department is on the case; a step on the timeline, the grid worker told."""
    event = apply_action(session, whistle.case, "report_in", actor=liaison.userid, now=now,
                         note=f"{whistle.department.name}{liaison.name}")
    _mark_reported(whistle, liaison, now)
    _tell_grid(session, event, whistle)
    return event


def _mark_reported(whistle: Whistle, liaison: Actor, now: datetime) -> None:
    if whistle.reported_at is None:
        whistle.state, whistle.reported_at, whistle.reported_by = WhistleState.REPORTED, now, liaison.userid


def progress(session: Session, whistle: Whistle, liaison: Actor, text: str, now: datetime) -> CaseEvent:
    """`进展 N 内容` from the department: the resident and the grid hear it."""
    event = case_work.progress(session, whistle.case, liaison, f"{whistle.department.name}：{text}", now)
    _mark_reported(whistle, liaison, now)
    return event


def close(session: Session, whistle: Whistle, liaison: Actor, note: str, now: datetime) -> CaseEvent:
    """`办结 N 说明`: the department closed the case; the resident rates it as usual."""
    text = f"{whistle.department.name}：{note}" if note else whistle.department.name
    event = case_work.close(session, whistle.case, liaison, text, now)
    _mark_reported(whistle, liaison, now)
    whistle.state, whistle.closed_at = WhistleState.CLOSED, now
    return event


def give_back(session: Session, whistle: Whistle, liaison: Actor, reason: str, now: datetime) -> CaseEvent:
    """`退回 N 原因`: not the department's matter; back to the grid with the reason (counted per department)."""
    case = whistle.case
    event = apply_action(session, case, "whistle_return", actor=liaison.userid, now=now,
                         note=f"{whistle.department.name}：{reason}")
    whistle.state, whistle.returned_at, whistle.return_reason = WhistleState.RETURNED, now, reason
    others = [w for w in active_whistles(case, session) if w.id != whistle.id]
    case.department = others[-1].department.name if others else None
    _tell_grid(session, event, whistle)
    return event
