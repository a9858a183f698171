"""走访: find the person a worker names (fuzzily, within their grids) and record the visit."""

from __future__ import annotations

import re
from datetime import datetime

from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from handlers.visits.due import special_residents, worker_grid_ids
from models import Resident, Visit, Worker

MAX_CHOICES = 5
_MIN_SCORE = 60.0
_CLOSE = 10.0  # candidates within this many points of the best are asked about
_SEPARATOR = re.compile(r"[\s,，:：;；。、]+")


def split_name(args: str, names: list[str]) -> tuple[str, str]:
    """`"王秀英 身体不错"` → ("王秀英", "身体不错"); without a separator the longest known name the text
    starts with, else its first three characters, is the name."""
    args = args.strip()
    parts = _SEPARATOR.split(args, maxsplit=1)
    if len(parts) == 2 and parts[0]:
        return parts[0], parts[1].strip()
    prefix = max((n for n in names if n and args.startswith(n)), key=len, default=args[:3])
    return prefix, args[len(prefix):].strip()


def candidates(people: list[Resident], name: str) -> list[Resident]:
    """Who `name` means: exact matches, else the fuzzy best and any close runner-up (at most five)."""
    exact = [person for person in people if person.name == name]
    if exact:
        return exact[:MAX_CHOICES]
    choices = {person.id: person.name or "" for person in people}
    scored = process.extract(name, choices, scorer=fuzz.ratio, score_cutoff=_MIN_SCORE, limit=MAX_CHOICES)
    if not scored:
        return []
    best = scored[0][1]
    by_id = {person.id: person for person in people}
    return [by_id[key] for _, score, key in scored if score >= best - _CLOSE]


def worker_people(session: Session, worker: Worker) -> list[Resident]:
    """The special-group residents of the worker's grids (and of anyone who names them)."""
    own = {grid.id for grid in worker.grids}
    return [r for r in special_residents(session, worker_grid_ids(session, worker))
            if r.unit.grid_id in own or r.visit_worker_id == worker.id]


def record_visit(session: Session, resident: Resident, worker: Worker, note: str, now: datetime) -> Visit:
    """The visit, in the caller's transaction."""
    visit = Visit(resident=resident, worker=worker, at=now, note=note)
    session.add(visit)
    session.flush()
    return visit
