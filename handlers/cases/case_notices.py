"""Which notices a case event implies, queued in the event's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.cases.authority import SYSTEM
from handlers.cases.case_views import CONSOLE_PREFIX
from handlers.cases.records import apply_action, followers_of
from handlers.places.routing import urgent_responders
from handlers.texts import render
from models import Case, CaseEvent, Grid, Worker, resident_channel
from models.outbox import OutboxChannel, notice, queue_notices

# What the grid's group chat hears after a case's one-line opening: it is taken, closed, overdue, or
# leaves the queue otherwise. Everything else goes only to the people who must act.
UNDELIVERED = "notice_undelivered"  # the timeline's note of a 微信客服 notice that did not reach its resident
GROUP_EVENTS = frozenset({"take", "close", "overdue", "withdraw", "merge", "return"})


def _key(event: CaseEvent, channel: str, recipient: str) -> str:
    return f"ev{event.id}:{channel}:{recipient}"[:160]


def group_target(grid: Grid | None) -> tuple[str, str] | None:
    """The grid's group chat: an app-created chat, else its robot webhook."""
    if grid is None:
        return None
    if grid.chat_id:
        return OutboxChannel.APPCHAT, grid.chat_id
    if grid.webhook_url:
        return OutboxChannel.WEBHOOK, grid.webhook_url
    return None


def to_worker(session: Session, event: CaseEvent, worker: Worker, template: str, **context) -> None:
    """A notice to one worker (private message; they see the resident in full)."""
    queue_notices(session, [_worker_notice(event, worker, template, **context)])


def to_group(session: Session, event: CaseEvent, template: str, **context) -> None:
    """A notice to the case's grid group chat, with personal data masked."""
    queue_notices(session, _group_notices(event, template, **context))


def to_reporter(session: Session, event: CaseEvent, template: str, **context) -> None:
    """A notice to the resident who reported the case and to residents following it."""
    queue_notices(session, _reporter_notices(session, event, template, **context))


def _worker_notice(event: CaseEvent, worker: Worker, template: str, **context) -> dict:
    text = render(template, case=event.case, event=event, worker=worker, masked=False, **context)
    return notice(channel=OutboxChannel.USER, recipient=worker.userid, text=text,
                  dedupe_key=_key(event, "user", worker.userid), case_id=event.case_id)


def _group_notices(event: CaseEvent, template: str, **context) -> list[dict]:
    target = group_target(event.case.grid)
    if target is None:
        return []
    channel, recipient = target
    text = render(template, case=event.case, event=event, masked=True, **context)
    return [notice(channel=channel, recipient=recipient, text=text, dedupe_key=_key(event, channel, recipient),
                   case_id=event.case_id)]


def _reporter_notices(session: Session, event: CaseEvent, template: str, **context) -> list[dict]:
    """The notice to the case's reporter, and to each resident following it with a progress link of their own
    (its rating buttons act for them, not for the reporter) and personal data in the workers' notes masked (a
    note may name the reporter's phone: 已联系反映人138…)."""
    case: Case = event.case
    followers = [userid for userid in dict.fromkeys(followers_of(session, case.id)) if userid != case.reporter_userid]
    texts = {case.reporter_userid: render(template, case=case, event=event, **context)}
    texts.update((userid, render(template, case=case, event=event, holder=userid, masked=True,
                                             **context)) for userid in followers)
    return [notice(channel=resident_channel(userid), recipient=userid, text=text,
                   dedupe_key=_key(event, "user", userid), case_id=case.id) for userid, text in texts.items()]


def who_acted(session: Session, event: CaseEvent) -> str:
    """How a notice names whoever acted: a worker by name, 系统, the console, or 居民 (never by name)."""
    if event.actor == SYSTEM.userid:
        return SYSTEM.name
    if event.actor.startswith(CONSOLE_PREFIX):
        return "控制台"
    name = session.scalar(select(Worker.name).where(Worker.userid == event.actor))
    return name or "居民"


def notify_case_opened(session: Session, event: CaseEvent) -> None:
    """A routed new case: its assignee gets the card, the grid's group chat one line; an urgent one
    also reaches the grid leader and the nearest on-duty 专职 worker at once (the 15-minute promise)
    as a copy that says who holds it. Queued together, in one statement."""
    case = event.case
    notices = []
    if case.assignee is not None and case.assignee.userid != case.reporter_userid:  # not one's own 上报
        notices.append(_worker_notice(event, case.assignee, "notices/new_case_worker", copy=False))
    if case.urgent and case.grid_id is not None:
        notices += [_worker_notice(event, worker, "notices/new_case_worker", copy=True)
                    for worker in urgent_responders(session, case.grid_id, _point(case))
                    if worker.id != case.assignee_id]
    queue_notices(session, notices + _group_notices(event, "notices/new_case_group"))


def _point(case: Case) -> tuple[float, float] | None:
    """Where an urgent case happened, if known: its location, else its unit's coordinates."""
    location = case.location or {}
    if location.get("lat") is not None and location.get("lng") is not None:
        return location["lat"], location["lng"]
    if case.unit is not None and case.unit.lat is not None:
        return case.unit.lat, case.unit.lng
    return None


def notify_event(session: Session, event: CaseEvent, *, tell_reporter: bool = True,
                 tell_group: bool = True, **context) -> None:
    """A state change: the resident hears what happens next, the assignee and group what changed (queued
    together, in one statement)."""
    case = event.case
    who = who_acted(session, event)
    notices = []
    if tell_reporter and case.source == "resident":
        notices += _reporter_notices(session, event, "notices/resident_update", **context)
    if case.assignee is not None and case.assignee.userid != event.actor:
        template = "notices/transferred" if event.action == "reassign" else "notices/worker_update"
        notices.append(_worker_notice(event, case.assignee, template, who=who, **context))
    if tell_group and event.action in GROUP_EVENTS:
        notices += _group_notices(event, "notices/group_update", who=who, **context)
    queue_notices(session, notices)


def tell_worker(session: Session, case: Case, action: str, actor: str, now: datetime, note: str | None,
                attachments: list | None = None) -> CaseEvent:
    """A resident's words or things added to their case (补充, media, a chase, a note): recorded as `action` and
    told to its worker only — the resident is answered by the reply, the group hears of no step."""
    event = apply_action(session, case, action, actor=actor, now=now, note=note, attachments=attachments)
    notify_event(session, event, tell_reporter=False, tell_group=False)
    return event


def note_undelivered(session: Session, case_id: int, reason: str, resent: bool, now: datetime) -> CaseEvent | None:
    """WeCom reported a 微信客服 notice about the case undelivered: a note on the case's timeline saying
    why and whether it goes out again when the resident next writes (`resent`), told to its worker, who may phone
    the resident (they may never write again); None: no such case."""
    case = session.get(Case, case_id)
    if case is None:
        return None
    return tell_worker(session, case, UNDELIVERED, SYSTEM.userid, now,
                       render("notices/kf_undelivered_note", reason=reason, resent=resent))
