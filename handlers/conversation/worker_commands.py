"""A grid worker's chat commands (private chat or @-mention in the grid group): one handler for both.

The command word is parsed by handlers.chat.commands; this module resolves the case, checks who
may act (handlers.cases.authority) and calls the action (handlers.cases.case_work, handlers.cases.escalation,
handlers.visits for proactive work).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from rapidfuzz.distance import Levenshtein
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handlers.cases import case_work, patrol, unplaced, worker_queries
from handlers.cases.authority import Actor, may_act, may_assign, may_place, may_view, outranks, who_may_act
from handlers.cases.case_views import find_case
from handlers.cases.escalation import escalate
from handlers.cases.false_report import close_as_false
from handlers.cases.lifecycle import IllegalTransition, allowed
from handlers.cases.records import StaleCase
from handlers.cases.timing import clock_rules
from handlers.chat.case_numbers import only_refs, parse_case_number, split_ref
from handlers.chat.commands import (
    Command,
    after_acknowledgement,
    fold,
    holds_words,
    is_thanks,
    parse_command,
    suggest,
    word_characters,
)
from handlers.chat.inbound import MEDIA_KINDS, SHARED_KINDS, Inbound, link_in_words
from handlers.classify import Category
from handlers.departments import whistle
from handlers.places.routing import pick_assignee
from handlers.points import shop
from handlers.services import Services
from handlers.texts import render
from handlers.visits import chat as visit_chat
from models import OPEN_STATES, Case, CaseEvent, InboundMessage, Worker


@dataclass(frozen=True)
class Request:
    """One command from `worker`, as the command functions see it."""

    session: Session
    services: Services
    worker: Worker
    inbound: Inbound
    record: InboundMessage
    command: Command
    now: datetime

    @cached_property
    def actor(self) -> Actor:
        """The worker as the authority checks and case steps see them."""
        return Actor.for_worker(self.worker)

    @property
    def in_group(self) -> bool:
        """Said in a group chat: personal data in the answer is masked."""
        return self.inbound.channel == "aibot"

    def category(self, name: str) -> Category:
        return self.services.classifier().catalogue.get(name)


def handle(session: Session, services: Services, worker: Worker, inbound: Inbound,
           record: InboundMessage) -> str | None:
    """The reply to one message from a registered worker."""
    now = services.clock()
    if (answer := visit_chat.answer(session, services, worker, inbound, now)) is not None:
        return answer
    if inbound.kind in MEDIA_KINDS or inbound.kind in SHARED_KINDS:  # a photo or link after 方案/进展/办结: that step's
        return case_work.attach_media(session, worker.userid, inbound, clock_rules(services.config_dir).photo_window,
                                      now)
    if inbound.kind != "text":
        return None
    command = parse_command(inbound.text, "worker")
    if command is None and (rest := after_acknowledgement(inbound.text)):  # 收到，接单 12
        command = parse_command(rest, "worker")
    if command is None and (link := link_in_words(inbound)) is not None:  # a link written in the group
        return case_work.attach_media(session, worker.userid, link, clock_rules(services.config_dir).photo_window, now)
    if command is None:
        return _not_a_command(session, worker, inbound.text)
    if command.name == "help":
        return render("replies/worker_help")
    request = Request(session, services, worker, inbound, record, command, now)
    if command.name in CASE_COMMANDS:
        return _on_case(request, *CASE_COMMANDS[command.name])
    if command.name in OTHER_COMMANDS:
        return OTHER_COMMANDS[command.name](request)
    return render("replies/worker_help")


def _not_a_command(session: Session, worker: Worker, text: str) -> str:
    """Thanks get one line, a mistyped command word a question, words after the number of a case the worker holds
    (1 已经疏通好了) which step they are, anything else the command list."""
    if is_thanks(text):
        return render("replies/thanks")
    suggestion = suggest(text, "worker")
    if suggestion is not None:
        return render("replies/did_you_mean", suggestion=suggestion)
    if (held := _held_case_first(session, worker, text)) is not None:
        return render("replies/worker_which_step", case=held[0], words=held[1])
    return render("replies/worker_help")


_NUMBER_FIRST = re.compile(r"(?:GB-?\d+|\d+(?=[\s,，:：。、]))[\s,，:：。、]*(.+)", re.IGNORECASE)


def _held_case_first(session: Session, worker: Worker, text: str) -> tuple[Case, str] | None:
    """The open case `worker` is assigned whose number `text` starts with, set apart from the words after it
    (1 已经疏通好了, GB-000001，已处理), and those words; None otherwise (12号楼有人找 names no case)."""
    written = _NUMBER_FIRST.fullmatch(fold(text).strip())
    if written is None:
        return None
    case = find_case(session, split_ref(fold(text).strip())[0])
    if case is None or case.assignee_id != worker.id or case.state not in OPEN_STATES:
        return None
    return case, written.group(1).strip()


def _on_case(request: Request, needs_text: bool, run: Callable[[Request, Case, str], str]) -> str:
    """Resolve the case reference, check who may act, then run the command."""
    name = request.command.name
    ref, text = split_ref(request.command.args)
    text = request.command.as_written(text)
    if not ref or (needs_text and not text):
        return render("replies/worker_usage", command=name, ref=ref)
    if not needs_text and (more := only_refs(text)):  # 接单 2、3: acting on the first alone would leave 3 unsaid
        ids = [parse_case_number(each) for each in [ref, *more]]
        return render("replies/one_case_a_message", command=name, ids=[i for i in ids if i is not None])
    case = find_case(request.session, ref)
    if case is None:
        return render("replies/worker_case_not_found", ref=ref, command=name)
    request.record.case_id = case.id
    if name == "take" and _taken(case, request.worker):
        return _already_taken(request, case)
    if not AUTHORITY.get(name, may_act)(request.actor, case):
        return _refused(case, name)
    double_tap = clock_rules(request.services.config_dir).double_tap
    if name in ONCE_PER_TAP and case_work.repeated(case, request.worker.userid, name, text, request.now, double_tap):
        return render("replies/repeated_step", case=case, action=name)
    try:
        return run(request, case, text)
    except IllegalTransition as error:
        return render("replies/illegal_transition", case=case, action=error.action)
    except StaleCase:
        request.session.refresh(case)
        return render("replies/case_changed", case=case)


def _done(case: Case, event: CaseEvent, **context) -> str:
    return render("replies/worker_done", case=case, event=event, **context)


def _taken(case: Case, worker: Worker) -> bool:
    """Someone holds the case and `worker` cannot take it (after an escalation a higher level can take it over)."""
    if case.taken_at is None or case.assignee is None:
        return False
    return case.assignee_id == worker.id or not allowed(case.state, "take")


def _refused(case: Case, action: str) -> str:
    """The polite refusal that names who may act on `case`."""
    return render("replies/worker_refused", case=case, action=action, leaders=who_may_act(case))


def _already_taken(request: Request, case: Case) -> str:
    return render("replies/already_taken", case=case, mine=case.assignee_id == request.worker.id)


def _take(request: Request, case: Case, _text: str) -> str:
    try:
        event = case_work.take(request.session, case, request.worker, request.now)
    except StaleCase:
        request.session.refresh(case)
        if not _taken(case, request.worker):
            raise IllegalTransition("take", case.state) from None
        return _already_taken(request, case)
    return _done(case, event)


def _with_photos(step: Callable[[Session, Case, Worker, str, datetime], CaseEvent]):
    """方案 / 进展 / 办结: the step, then photos sent right after attach to it."""
    def run(request: Request, case: Case, text: str) -> str:
        event = step(request.session, case, request.actor, text, request.now)
        case_work.expect_media(request.session, request.worker.userid, event, request.now)
        return _done(case, event)
    return run


def _find_worker(session: Session, who: str) -> list[Worker]:
    return list(session.scalars(select(Worker).where(or_(Worker.userid == who, Worker.name == who)).limit(5)))


# 转派's target: a name or userid (an @-mention's @ dropped), then the reason after a space, a comma or a new line.
_TARGET = re.compile(r"^[@＠]?([^\s,，:：;；。、]+)[\s,，:：;；。、]*(.*)$", re.DOTALL)


def _reassign(request: Request, case: Case, rest: str) -> str:
    match = _TARGET.match(rest)
    who, reason = match.groups() if match else (rest, "")
    found = _find_worker(request.session, who)
    if len(found) != 1:
        return render("replies/worker_not_found", case=case, who=who, found=found)
    target = found[0]
    if case.assignee_id == target.id:
        return render("replies/already_assigned", case=case)
    if not target.on_duty:
        return render("replies/assign_on_leave", case=case, target=target)
    if not may_assign(request.actor, case, target):
        return render("replies/assign_out_of_reach", case=case, target=target)
    take_window = request.category(case.category).clock.take
    event = case_work.reassign(request.session, case, request.actor, target, request.now, take_window,
                               reason.strip())
    return _done(case, event)


def _escalate(request: Request, case: Case, reason: str) -> str:
    event = escalate(request.session, case, action="escalate", actor=request.worker.userid,
                     now=request.now, note=reason)
    if event is None:
        return render("replies/top_level", case=case)
    return _done(case, event)


def _department(request: Request, case: Case, reason: str) -> str:
    """Where a returned case goes: a department the reason names, else the category's, else the hotline."""
    classifier = request.services.classifier()
    names = classifier.catalogue.names()
    named = classifier.classify(reason).category
    for name, needs_department_matter in ((named, True), (case.category, False)):
        if name in names:
            category = classifier.catalogue.get(name)
            if category.department and not (needs_department_matter and category.grid_matter):
                return category.department
    return render("notices/default_department")


def _return(request: Request, case: Case, reason: str) -> str:
    if holds_words(reason, "wrong_grid"):  # another grid's case: 退回 would tell the resident it went to a department
        return render("replies/return_wrong_grid", case=case)
    department = _department(request, case, reason)
    event = case_work.return_to_department(request.session, case, request.actor, reason, department,
                                           request.now)
    return _done(case, event)


def _bare(text: str) -> str:
    """`text` as a category name is compared: folded, simplified, without punctuation or spaces, lower-case."""
    return word_characters(fold(text)).lower()


FUZZY_MIN_CHARS = 3  # a name this long may be one character off (噪声扰民 → 噪音扰民); a shorter one must be exact


def _categories_named(names: list[str], wanted: str) -> list[str]:
    """The categories `wanted` may mean, as a worker types it: the name itself (punctuation, spaces and
    traditional characters aside), else the names it is part of or that are part of it (噪音 → 噪音扰民,
    环境卫生问题 → 环境卫生), else those one character away."""
    bare = _bare(wanted)
    if not bare:
        return []
    bares = {name: _bare(name) for name in names}
    tests = (lambda b: b == bare, lambda b: bare in b or b in bare,
             lambda b: len(bare) >= FUZZY_MIN_CHARS and Levenshtein.distance(b, bare) <= 1)
    for test in tests:
        if found := [name for name, b in bares.items() if test(b)]:
            return found
    return []


def _recategorize(request: Request, case: Case, name: str) -> str:
    catalogue = request.services.classifier().catalogue
    matches = _categories_named(catalogue.names(), name)
    if len(matches) != 1:
        return render("replies/unknown_category", case=case, wanted=name, names=catalogue.names(), matches=matches)
    category = catalogue.get(matches[0])
    if category.name == case.category:
        return render("replies/same_category", case=case)
    if not category.grid_matter:
        return render("replies/not_grid_matter", case=case, category=category)
    assignee = pick_assignee(request.session, case.grid_id, category.name, urgent=category.urgent) \
        if case.grid_id else None
    event = case_work.recategorize(request.session, case, request.actor, category, assignee, request.now)
    return _done(case, event)


def _place(request: Request, case: Case, words: str) -> str:
    """定位 N 地址: a case that never got its place is placed by staff and routed, with the other matters of its
    message still waiting; its resident is told."""
    try:
        placed = unplaced.place_by_staff(request.session, request.services, case, words, request.actor, request.now)
    except unplaced.PlaceRefused as refused:
        if refused.reason == "placed" and not may_act(request.actor, case):
            return render("replies/place_placed_by_another", case=case)
        return render(f"replies/place_{refused.reason}", case=case, words=words, unit=refused.unit)
    return _done(case, placed.event, siblings=placed.siblings)


def _suspend(request: Request, case: Case, reason: str) -> str:
    return _done(case, case_work.suspend(request.session, case, request.actor, reason, request.now))


def _resume(request: Request, case: Case, _text: str) -> str:
    return _done(case, case_work.resume(request.session, case, request.actor, request.now))


def _merge(request: Request, case: Case, rest: str) -> str:
    into_ref, _ = split_ref(rest)
    into = find_case(request.session, into_ref)
    if into is None:
        return render("replies/worker_case_not_found", ref=into_ref, command="merge")
    if into.id == case.id:
        return render("replies/merge_into_itself", case=case)
    if into.state not in OPEN_STATES:
        return render("replies/illegal_transition", case=into, action="merge")
    if not may_act(request.actor, into):
        return _refused(into, "merge")
    event = case_work.merge(request.session, case, into, request.worker.userid, request.now)
    return _done(case, event, into=into)


def _unlink(request: Request, case: Case, _text: str) -> str:
    return _done(case, case_work.stand_alone(request.session, case, request.actor, request.category(case.category),
                                             request.now, clock_rules(request.services.config_dir)))


def _whistle(request: Request, case: Case, rest: str) -> str:
    rules = whistle.whistle_rules(request.services.config_dir)
    return whistle.blow(request.session, case, request.actor, rest, request.now, rules)


def _supplement(request: Request, case: Case, text: str) -> str:
    step = case_work.supplement(request.session, case, request.actor, text, request.now)
    if step is None:
        return render("replies/nothing_to_supplement", case=case)
    return render("replies/supplemented", case=case, step=step)


def _supervise(request: Request, case: Case, text: str) -> str:
    if not outranks(request.actor, case):
        return _refused(case, "supervise")
    return _done(case, case_work.supervise(request.session, case, request.actor, text, request.now))


def _show(request: Request, case: Case, _text: str) -> str:
    return worker_queries.show(case, request.now, masked=request.in_group)


# command → (needs text after the number, function)
CASE_COMMANDS: dict[str, tuple[bool, Callable[[Request, Case, str], str]]] = {
    "take": (False, _take),
    "plan": (True, _with_photos(case_work.plan)),
    "progress": (True, _with_photos(case_work.progress)),
    "close": (True, _with_photos(case_work.close)),
    "reassign": (True, _reassign),
    "escalate": (True, _escalate),
    "return": (True, _return),
    "recategorize": (True, _recategorize),
    "place": (True, _place),
    "suspend": (True, _suspend),
    "resume": (False, _resume),
    "merge": (True, _merge),
    "unlink": (False, _unlink),
    "show": (False, _show),
    "whistle": (True, _whistle),
    "false_report": (True, lambda r, case, note: _done(case, close_as_false(r.session, case, r.actor, note, r.now))),
    "supplement": (True, _supplement),
    "supervise": (True, _supervise),
}

# Who may give a command on a case, where it is not whoever may act on it.
AUTHORITY: dict[str, Callable[[Actor, Case], bool]] = {"show": may_view, "place": may_place}

# Steps that the case's state does not guard: the same words again at once are not recorded twice.
ONCE_PER_TAP = frozenset({"plan", "progress", "escalate", "supplement", "supervise"})

OTHER_COMMANDS: dict[str, Callable[[Request], str]] = {
    "mine": lambda r: worker_queries.mine(r.session, r.worker, r.now),
    "overdue": lambda r: worker_queries.overdue(r.session, r.worker, r.now),
    "points": lambda r: worker_queries.points(r.session, r.worker),
    "handover": lambda r: shop.hand_over(r.session, r.command.args, r.actor.userid, r.now),
    "volunteer": lambda r: shop.record_hours(r.session, r.actor.userid, r.command.args, r.now),
    "patrol": lambda r: patrol.report(r.session, r.services, r.worker, r.command.as_written(r.command.args), r.record,
                                      r.now, r.inbound.chat_id),
    "visit": lambda r: visit_chat.visit(r.session, r.services, r.worker, r.command.args, r.inbound.text, r.now,
                                        masked=r.in_group),
    "visit_case": lambda r: visit_chat.to_case(r.session, r.services, r.worker, r.record, r.now, r.inbound.chat_id),
    "today": lambda r: visit_chat.today(r.session, r.services, r.worker, r.now, masked=r.in_group),
    "due_visits": lambda r: visit_chat.due(r.session, r.services, r.worker, r.now, masked=r.in_group),
    "checkin": lambda r: visit_chat.expect_checkin(r.session, r.services, r.worker, r.command.args, r.now),
}
