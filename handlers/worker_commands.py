"""A grid worker's chat commands (private chat or @-mention in the grid group): one handler for both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from handlers import case_work
from handlers.authority import grid_leaders, may_act
from handlers.case_numbers import parse_case_number
from handlers.cases import StaleCase
from handlers.commands import Command, parse_command, split_number
from handlers.inbound import Inbound
from handlers.lifecycle import IllegalTransition
from handlers.services import Services
from handlers.texts import render
from models import Case, InboundMessage, Worker


@dataclass(frozen=True)
class Request:
    """One parsed command from `worker`, as the action functions see it."""

    session: Session
    services: Services
    worker: Worker
    command: Command
    record: InboundMessage
    now: datetime


def handle(session: Session, services: Services, worker: Worker, inbound: Inbound,
           record: InboundMessage) -> str | None:
    """The reply to one message from a registered worker."""
    if inbound.kind != "text":
        return None
    command = parse_command(inbound.text, "worker")
    if command is None or command.name not in CASE_COMMANDS:
        return render("replies/worker_help")
    request = Request(session, services, worker, command, record, services.clock())
    return _on_case(request, *CASE_COMMANDS[command.name])


def _on_case(request: Request, action: str, run: Callable[[Request, Case], str]) -> str:
    """Resolve the case reference, check who may act, then run the action."""
    ref, _ = split_number(request.command.args)
    case_id = parse_case_number(ref) if ref else None
    case = request.session.get(Case, case_id) if case_id else None
    if case is None:
        return render("replies/worker_case_not_found", ref=ref, example=request.command.name)
    request.record.case_id = case.id
    if not may_act(request.worker, case):
        return render("replies/worker_refused", case=case, action=action, leaders=grid_leaders(case))
    try:
        return run(request, case)
    except IllegalTransition:
        return render("replies/illegal_transition", case=case, action=action)


def _take(request: Request, case: Case) -> str:
    try:
        event = case_work.take(request.session, case, request.worker, request.now)
    except (StaleCase, IllegalTransition):
        request.session.refresh(case)
        if case.taken_at is not None and case.assignee is not None:
            return render("replies/already_taken", case=case)
        raise IllegalTransition("take", case.state) from None
    return render("replies/worker_done", case=case, event=event)


CASE_COMMANDS: dict[str, tuple[str, Callable[[Request, Case], str]]] = {
    "take": ("take", _take),
}
