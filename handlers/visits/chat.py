"""A worker's proactive-work words in chat: 走访, a numbered choice, 转事项, 今日, 待访, 巡查 + location.

handlers/conversation/worker_commands.py dispatches here; each function takes plain values and a session
and returns the reply text.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from handlers.cases import patrol
from handlers.cases.records import Place
from handlers.chat import pending
from handlers.chat.commands import fold
from handlers.chat.inbound import Inbound
from handlers.places.routing import contains
from handlers.services import Services
from handlers.texts import BEIJING, render
from handlers.visits.due import due_list
from handlers.visits.lists import checkins_today, work_lists
from handlers.visits.recording import candidates, record_visit, split_name, worker_people
from handlers.visits.rules import period_of, visit_rules
from models import Grid, InboundMessage, PatrolCheckin, Resident, Visit, Worker

CHOOSE = "visit_choose"  # data: ids (numbered candidates), note
NOTED = "visit_noted"  # data: visit_id (转事项 may follow)
CHECKIN = "patrol_checkin"  # data: point (a location should follow)
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*$")


def as_written(text: str, folded_tail: str) -> str:
    """The end of `text` the worker typed that folds (NFKC) to `folded_tail`: notes keep their own words."""
    for start in range(len(text), -1, -1):
        tail = text[start:].strip()
        if fold(tail) == folded_tail:
            return tail
    return folded_tail


def visit(session: Session, services: Services, worker: Worker, args: str, text: str, now: datetime, *,
          masked: bool) -> str:
    """走访 姓名 情况 (`args`, folded; `text` as typed): record the visit, or ask which person was meant."""
    people = worker_people(session, worker)
    name, note = split_name(args, [person.name or "" for person in people])
    note = as_written(text, note) if note else note
    if not name:
        return render("replies/worker_usage", command="visit")
    found = candidates(people, name)
    if not found:
        return render("visits/not_found", name=name)
    if len(found) > 1:
        pending.expect(session, worker.userid, CHOOSE, {"ids": [p.id for p in found], "note": note}, now)
        return render("visits/choose", people=found, masked=masked)
    return _record(session, services, worker, found[0], note, now, masked=masked)


def _record(session: Session, services: Services, worker: Worker, person: Resident, note: str,
            now: datetime, *, masked: bool) -> str:
    rules = visit_rules(services.config_dir)
    visit_ = record_visit(session, person, worker, note, now)
    frequency = rules.frequency(person.groups)
    following = period_of(frequency, now).following(frequency)
    pending.expect(session, worker.userid, NOTED, {"visit_id": visit_.id}, now)
    return render("visits/recorded", person=person, note=note, due=following.last_day, masked=masked,
                  window=rules.case_window)


def to_case(session: Session, services: Services, worker: Worker, record: InboundMessage, now: datetime,
            chat_id: str | None) -> str:
    """转事项: the note of the visit just recorded becomes a case at the person's unit."""
    rules = visit_rules(services.config_dir)
    convo = pending.current(session, worker.userid)
    visit_ = session.get(Visit, convo.data["visit_id"]) if convo is not None and convo.state == NOTED \
        and now - convo.updated_at <= rules.case_window else None
    if visit_ is None or not visit_.note or visit_.case_id is not None:
        return render("visits/nothing_to_convert", window=rules.case_window)
    unit = visit_.resident.unit
    reply = patrol.report(session, services, worker, visit_.note, record, now, chat_id,
                          place=Place(unit.grid, unit, "worker"), reply="visits/case_opened")
    visit_.case_id = record.case_id
    if record.case_id is not None:
        pending.finish(session, worker.userid)
    return reply


def today(session: Session, services: Services, worker: Worker, now: datetime, *, masked: bool) -> str:
    """今日: the worker's three lists."""
    lists = work_lists(session, visit_rules(services.config_dir), worker, now)
    return render("visits/today", lists=lists, day=now.astimezone(BEIJING).date(), masked=masked)


def due(session: Session, services: Services, worker: Worker, now: datetime, *, masked: bool) -> str:
    """待访: the people the worker must still visit this period."""
    rows = due_list(session, visit_rules(services.config_dir), now, worker=worker)
    return render("visits/due", rows=rows, masked=masked)


def expect_checkin(session: Session, services: Services, worker: Worker, point: str, now: datetime) -> str:
    """巡查 [点位]: the next location message is a patrol check-in."""
    pending.expect(session, worker.userid, CHECKIN, {"point": point}, now)
    return render("visits/send_location", window=visit_rules(services.config_dir).checkin_window)


def answer(session: Session, services: Services, worker: Worker, inbound: Inbound, now: datetime) -> str | None:
    """A bare number answering the numbered question, or a location after 巡查 (each within its window);
    None for anything else."""
    number = _NUMBER.match(inbound.text) if inbound.kind == "text" else None
    located = inbound.kind == "location" and inbound.lat is not None and inbound.lng is not None
    if number is None and not located:
        return None
    convo = pending.current(session, worker.userid)
    rules = visit_rules(services.config_dir)
    if number is not None and convo is not None and convo.state == CHOOSE \
            and now - convo.updated_at <= rules.case_window:
        return _choose(session, services, worker, convo.data, int(number.group(1)), now,
                       masked=inbound.channel == "aibot")
    if located and convo is not None and convo.state == CHECKIN and now - convo.updated_at <= rules.checkin_window:
        return _check_in(session, worker, inbound, convo.data.get("point") or None, now)
    return None


def _choose(session: Session, services: Services, worker: Worker, data: dict, number: int, now: datetime, *,
            masked: bool) -> str:
    """The answer to the numbered question: record that person, or ask again for a number out of range."""
    ids = data["ids"]
    person = session.get(Resident, ids[number - 1]) if 1 <= number <= len(ids) else None
    if person is None:
        return render("visits/choose", people=[session.get(Resident, i) for i in ids], masked=masked)
    return _record(session, services, worker, person, data["note"], now, masked=masked)


def _check_in(session: Session, worker: Worker, inbound: Inbound, point: str | None,
              now: datetime) -> str:
    grid = _grid_at(worker, inbound.lat, inbound.lng)
    session.add(PatrolCheckin(worker=worker, grid=grid, point=(point or "")[:100] or None,
                              label=(inbound.label or "")[:200] or None, lat=inbound.lat, lng=inbound.lng, at=now))
    pending.finish(session, worker.userid)
    session.flush()
    count = checkins_today(session, worker, now)
    return render("visits/checked_in", grid=grid, point=point, label=inbound.label, count=count, now=now)


def _grid_at(worker: Worker, lat: float | None, lng: float | None) -> Grid | None:
    """The worker's grid whose boundary holds the point, else their first grid."""
    grids = sorted(worker.grids, key=lambda grid: grid.code)
    if lat is not None and lng is not None:
        for grid in grids:
            if grid.boundary and contains(grid.boundary, lat, lng):
                return grid
    return grids[0] if grids else None
