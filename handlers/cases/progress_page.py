"""What a case's public progress page shows, as plain values: nothing finer than the unit, no
resident's words beyond the masked report, the worker's name masked, times in Beijing time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.chat.case_numbers import format_case_number
from handlers.privacy.masking import mask_name, mask_text
from handlers.texts import BEIJING, label, resident_steps
from models import OPEN_STATES, Case, CaseState, Liaison, Worker

PHOTO_KINDS = ("image",)


@dataclass(frozen=True)
class Step:
    at: str
    action: str
    note: str


@dataclass(frozen=True)
class Photo:
    index: int  # the photo's place in the page (its URL's last segment)
    media_id: str


@dataclass(frozen=True)
class ProgressView:
    number: str
    category: str
    state: str
    place: str
    worker: str
    steps: list[Step]
    deadlines: list[tuple[str, str]]
    photos: list[Photo]
    can_rate: bool
    rating: str | None


def _beijing(value: datetime | None) -> str:
    return value.astimezone(BEIJING).strftime("%m月%d日 %H:%M") if value else ""


def _place(case: Case) -> str:
    if case.unit is not None:
        return case.unit.address
    if case.grid is not None:
        return case.grid.name
    return label("states", CaseState.AWAITING_PLACE)


def worker_photos(session: Session, case: Case) -> list[Photo]:
    """The photos workers and departments' liaisons attached to the case's steps (never the residents' own),
    in order."""
    actors = {event.actor for event in case.events}
    workers = set(session.scalars(select(Worker.userid).where(Worker.userid.in_(actors))
                                  .union(select(Liaison.userid).where(Liaison.userid.in_(actors)))))
    media = [attachment["media_id"] for event in case.events if event.actor in workers
             for attachment in event.attachments or []
             if attachment.get("kind") in PHOTO_KINDS and attachment.get("media_id")]
    return [Photo(index, media_id) for index, media_id in enumerate(media)]


def progress_view(session: Session, case: Case) -> ProgressView:
    """The page of one case."""
    shown, with_notes = resident_steps()
    reporter = case.resident.name if case.resident else None
    steps = [Step(_beijing(event.at), shown[event.action],
                  mask_text(event.note, reporter) if event.note and event.action in with_notes else "")
             for event in case.events if event.action in shown]
    deadlines = [(name, _beijing(due)) for name, due, done in (
        ("接单", case.take_due, case.taken_at), ("提出方案", case.plan_due, case.planned_at),
        ("办结", case.close_due, case.closed_at)) if due is not None and done is None
        and case.state in OPEN_STATES]
    return ProgressView(
        number=format_case_number(case.id), category=case.category or "", state=label("states", case.state),
        place=_place(case), worker=mask_name(case.assignee.name) if case.assignee else "",
        steps=steps, deadlines=deadlines, photos=worker_photos(session, case),
        can_rate=case.state == CaseState.CLOSED, rating=label("ratings", case.rating) if case.rating else None)
