"""A department liaison's chat words: `报到 N`, `进展 N 内容`, `办结 N 说明`, `退回 N 原因`, `查 N`; photos sent
right after 进展 or 办结 are attached to that step, as a grid worker's are.

Liaisons are WeCom members but not grid workers; handlers/intake/dispatch.py sends their messages
here. A liaison acts only on cases whistled to one of their departments (handlers/cases/authority.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from handlers.cases import case_work
from handlers.cases.authority import Actor, answerable_whistle, who_may_act
from handlers.cases.case_views import find_case
from handlers.cases.lifecycle import IllegalTransition
from handlers.cases.records import StaleCase
from handlers.cases.timing import clock_rules
from handlers.cases.worker_queries import show
from handlers.chat.case_numbers import split_ref
from handlers.chat.commands import parse_command
from handlers.chat.inbound import MEDIA_KINDS, SHARED_KINDS, Inbound, link_in_words
from handlers.departments import whistle as whistles
from handlers.registry import cache as registry
from handlers.services import Services
from handlers.texts import render
from models import Case, CaseEvent, InboundMessage, Liaison, Whistle

# Built once. Whether a sender is a liaison at all is answered by the registry cache (no SQL for residents).
_LIAISONS = (select(Liaison).options(joinedload(Liaison.department))
             .where(Liaison.userid == bindparam("userid")).order_by(Liaison.id))


def liaisons_of(session: Session, userid: str) -> list[Liaison]:
    """`userid`'s liaison posts, one per department (empty: not a liaison)."""
    if not registry.is_liaison(session, userid):
        return []
    return list(session.scalars(_LIAISONS, {"userid": userid}).unique())


Step = Callable[[Session, Whistle, Actor, str, datetime], CaseEvent]
# command → (needs text after the number, step)
STEPS: dict[str, tuple[bool, Step]] = {
    "report_in": (False, lambda s, w, liaison, _text, now: whistles.report_in(s, w, liaison, now)),
    "progress": (True, whistles.progress),
    "close": (True, whistles.close),
    "return": (True, whistles.give_back),
}
REPORTS_BACK = frozenset({"progress", "close"})  # the steps a photo sent next is attached to


def handle(session: Session, services: Services, posts: list[Liaison], inbound: Inbound,
           record: InboundMessage) -> str:
    """The reply to one message from a liaison."""
    departments = [post.department for post in posts]
    now = services.clock()
    if inbound.kind in MEDIA_KINDS or inbound.kind in SHARED_KINDS:  # a photo or link after 进展/办结: that step's
        return case_work.attach_media(session, posts[0].userid, inbound, clock_rules(services.config_dir).photo_window,
                                      now)
    command = parse_command(inbound.text, "liaison") if inbound.kind == "text" else None
    if command is None and (link := link_in_words(inbound)) is not None:  # a link written as words
        return case_work.attach_media(session, posts[0].userid, link, clock_rules(services.config_dir).photo_window,
                                      now)
    if command is None or command.name == "help":
        return render("replies/liaison_help", departments=departments)
    ref, text = split_ref(command.args)
    text = command.as_written(text)
    needs_text = STEPS[command.name][0] if command.name in STEPS else False
    if not ref or (needs_text and not text):
        return render("replies/worker_usage", command=command.name)
    case = find_case(session, ref)
    if case is None:
        return render("replies/worker_case_not_found", ref=ref, command=command.name)
    record.case_id = case.id
    actor = Actor.for_liaison(posts[0].userid, posts[0].name or "", frozenset(d.id for d in departments))
    whistle = answerable_whistle(actor, whistles.active_whistles(case, session))
    if whistle is None:
        return _refused(session, case, command.name)
    if command.name == "show":
        return show(case, now, masked=False)
    try:
        event = STEPS[command.name][1](session, whistle, actor, text, now)
    except IllegalTransition as error:
        return render("replies/illegal_transition", case=case, action=error.action)
    except StaleCase:
        session.refresh(case)
        return render("replies/case_changed", case=case)
    if command.name in REPORTS_BACK:
        case_work.expect_media(session, actor.userid, event, now)
    return render("replies/liaison_done", case=case, action=command.name, whistle=whistle)


def _refused(session: Session, case: Case, action: str) -> str:
    """Not whistled to the liaison's department: say who can act on the case."""
    called = [w.department for w in whistles.active_whistles(case, session)]
    return render("replies/liaison_refused", case=case, action=action, departments=called,
                  leaders=who_may_act(case))
