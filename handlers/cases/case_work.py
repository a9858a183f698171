"""What workers do to a case: each action moves it (handlers.lifecycle), logs it and queues its notices."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from handlers.cases.authority import SYSTEM, Actor
from handlers.cases.case_notices import notify_case_opened, notify_event, to_reporter, to_worker
from handlers.cases.corrections import record_correction
from handlers.cases.duplicates import likely_duplicate, likely_repeat
from handlers.cases.records import apply_action, followers_of, set_deadlines
from handlers.cases.timing import STEPS, ClockRules, clock_rules, due, set_due, shift_deadlines
from handlers.chat import pending
from handlers.chat.inbound import MEDIA_KINDS, Inbound, attachment_of
from handlers.classify import Catalogue, Category
from handlers.places.routing import pick_assignee
from handlers.points.ledger import award
from handlers.texts import render
from models import Case, CaseEvent, CaseLink, CaseState, Worker
from models.outbox import keep_media
from models.rows import update_loaded
from models.statements import insert_row



def _on_time(case: Case, step: str, now: datetime) -> bool:
    deadline = due(case, step)
    return deadline is None or now <= deadline


def _credit(session: Session, actor: Actor, reason: str, case: Case, now: datetime) -> None:
    """Points for a registered worker; a console user earns none."""
    if actor.is_worker:
        award(session, actor.userid, "worker", reason, case.id, now)


def take(session: Session, case: Case, worker: Worker, now: datetime) -> CaseEvent:
    """接单: the worker takes the case (StaleCase when someone else took it first)."""
    on_time = _on_time(case, "take", now)
    event = apply_action(session, case, "take", actor=worker.userid, now=now)
    case.assignee = worker
    case.taken_at = now
    if on_time:
        _credit(session, Actor.for_worker(worker), "take_on_time", case, now)
    if case.source == "resident":  # taken: the report was a real case
        award(session, case.reporter_userid, "resident", "report", case.id, now)
    notify_event(session, event)
    return event


def plan(session: Session, case: Case, actor: Actor, text: str, now: datetime) -> CaseEvent:
    """方案: the plan (due one day after the report by default)."""
    event = apply_action(session, case, "plan", actor=actor.userid, now=now, note=text)
    case.planned_at = case.planned_at or now
    notify_event(session, event)
    return event


def progress(session: Session, case: Case, actor: Actor, text: str, now: datetime) -> CaseEvent:
    """进展: a progress note the resident hears about."""
    event = apply_action(session, case, "progress", actor=actor.userid, now=now, note=text)
    notify_event(session, event)
    return event


def close(session: Session, case: Case, actor: Actor, note: str, now: datetime) -> CaseEvent:
    """办结: the resident and those following the case are asked to rate; a patrol case (nobody to rate it)
    is archived at once."""
    on_time = _on_time(case, "close", now)
    event = apply_action(session, case, "close", actor=actor.userid, now=now, note=note or None)
    case.closed_at = now
    if on_time:
        _credit(session, actor, "close_on_time", case, now)
    notify_event(session, event)
    if case.source != "resident":
        apply_action(session, case, "archive", actor=SYSTEM.userid, now=now)
    else:
        for userid in dict.fromkeys([case.reporter_userid, *followers_of(session, case.id)]):
            if _may_ask_rating(session, userid):
                pending.expect(session, userid, pending.RATE, {"case_id": case.id}, now)
    return event


def _may_ask_rating(session: Session, userid: str) -> bool:
    """Only when the resident is not in the middle of answering another question."""
    current = pending.current(session, userid)
    return current is None or current.state == pending.RATE


def expect_media(session: Session, userid: str, event: CaseEvent, now: datetime) -> None:
    """Photos (voice, video, files) `userid` sends next belong to this step: 办结 with a photo of the result."""
    pending.expect(session, userid, pending.ATTACH_MEDIA, {"case_id": event.case_id, "event_id": event.id}, now)


def attach_media(session: Session, userid: str, inbound: Inbound, window: timedelta, now: datetime) -> str:
    """Media or something shared (a link: a repair booking, the notice put up) a worker or liaison sends within
    `window` of their latest step is attached to that step (media kept through the outbox); the reply says where it
    went, or that it belongs to no step and how to give it one."""
    convo = pending.current(session, userid)
    fresh = convo is not None and convo.state == pending.ATTACH_MEDIA and now - convo.updated_at <= window
    event = session.get(CaseEvent, convo.data["event_id"]) if fresh else None
    if event is None:
        return render("replies/worker_media_without_step", kind=inbound.kind, title=inbound.title)
    attachment = attachment_of(inbound)
    if inbound.kind in MEDIA_KINDS:
        keep_media(session, attachment)
    event.attachments = [*event.attachments, attachment]
    return render("replies/worker_media_attached", case=event.case, event=event, kind=inbound.kind)


STEP_ACTIONS = ("plan", "progress", "close")  # the steps 补充 adds to


def repeated(case: Case, actor: str, action: str, note: str, now: datetime, window: timedelta) -> bool:
    """Whether the case's latest event is `actor`'s `action` with this `note`, less than `window` ago
    (lifecycle.yaml's double_tap: a second tap of one command, with a new MsgId the inbox cannot tell)."""
    latest = case.events[-1] if case.events else None
    return latest is not None and (latest.actor, latest.action, latest.note) == (actor, action, note) \
        and now - latest.at < window


def supplement(session: Session, case: Case, actor: Actor, text: str, now: datetime) -> CaseEvent | None:
    """补充: more words on the case's latest step (方案/进展/办结), kept in that step's note and on the
    timeline as who added what; the resident, followers and the assignee (unless they added it) hear it.
    None when the case has no such step yet."""
    step = next((event for event in reversed(case.events) if event.action in STEP_ACTIONS), None)
    if step is None:
        return None
    step.note = f"{step.note}；{text}" if step.note else text
    event = apply_action(session, case, "supplement", actor=actor.userid, now=now, note=text)
    notify_event(session, event, step=step)
    return step


def supervise(session: Session, case: Case, actor: Actor, text: str, now: datetime) -> CaseEvent:
    """督办: a leader or higher level presses the assignee; on the timeline, and to the assignee at once."""
    event = apply_action(session, case, "supervise", actor=actor.userid, now=now, note=text)
    if case.assignee is not None and case.assignee.userid != actor.userid:
        to_worker(session, event, case.assignee, "notices/supervised", who=actor.name)
    return event


def reopen_clock(case: Case, now: datetime) -> None:
    """A reopened case gets its close window again, counted from now."""
    if case.close_due is not None:
        case.close_due = now + (case.close_due - case.created_at)


def reassign(session: Session, case: Case, actor: Actor, target: Worker, now: datetime,
             take_window: timedelta, reason: str = "", *, tell_reporter: bool = True,
             category_change: dict | None = None, place_change: dict | None = None) -> CaseEvent:
    """转派: `target` becomes the assignee and has the take window to take it; they get the whole case
    with who handed it over and why (the reporter too, unless they caused it and are answered in chat).
    `category_change`: the case moves because its category changed (`recategorize`: `previous` category, `chosen` by
    the resident's answer); the previous assignee heard so in the 改类 notice, the new one reads it on the card.
    `place_change`: the case moves because its place was corrected (`previous` place), told as the category's is."""
    previous = case.assignee
    note = f"{target.name}：{reason}" if reason else target.name
    event = apply_action(session, case, "reassign", actor=actor.userid, now=now, note=note)
    case.assignee, case.taken_at = target, None
    case.take_due = clock_rules().deadline(case.category, now, take_window)
    if previous is not None and previous.userid not in (actor.userid, target.userid) and category_change is None \
            and place_change is None:
        to_worker(session, event, previous, "notices/worker_update", who=actor.name)
    notify_event(session, event, tell_reporter=tell_reporter, reason=reason, category_change=category_change,
                 place_change=place_change)
    return event


def return_to_department(session: Session, case: Case, actor: Actor, reason: str, department: str,
                         now: datetime) -> CaseEvent:
    """退回: not a grid matter; the resident hears who decided, why, and where it goes."""
    event = apply_action(session, case, "return", actor=actor.userid, now=now, note=reason)
    case.department = department
    notify_event(session, event, actor_name=actor.name)
    return event


def recategorize(session: Session, case: Case, actor: Actor, category: Category, assignee: Worker | None,
                 now: datetime, *, source: str = "recategorize", note: str | None = None,
                 tell_reporter: bool = True) -> CaseEvent:
    """改类: new category, priority and clock (history kept in the event, `note` saying more); a new assignee if
    routing says so. The reporter is told unless they made the change (`tell_reporter`: they are answered).
    A resident's placed case is `compared` in its new category: the resident's own choice (the ask-back's answer)
    links it to a likely duplicate as a report arriving sorted would be (the merge is then what its people hear);
    a worker's or the console's marks it 疑似重复 for them to merge.

    The case's words with the new category are stored as a correction (`source`: chat, console or the ask-back)."""
    previous, change = case.category, f"{case.category} → {category.name}"
    event = apply_action(session, case, "recategorize", actor=actor.userid, now=now,
                         note=f"{note} {change}" if note else change)
    record_correction(session, text=case.text, label=category.name, previous=case.category, source=source,
                      actor=actor.userid, now=now, case_id=case.id)
    case.category, case.priority, case.urgent = category.name, category.priority, category.urgent
    for step in STEPS:
        if due(case, step) is not None:
            set_due(case, step, clock_rules().deadline(category.name, case.created_at, getattr(category.clock, step)))
    if case.source == "resident" and case.grid_id is not None and compared(
            session, case, clock_rules(), now, link=source == "ask_back", waited=True, opened_now=False) is not None:
        return event
    moves = assignee is not None and case.assignee_id != assignee.id and case.grid is not None
    notify_event(session, event, tell_reporter=tell_reporter, handed_to=assignee if moves else None)
    if moves:  # one notice each: the 改类 tells the assignee it moved on and the reporter who has it now,
        # the card tells the new one why
        reassign(session, case, actor, assignee, now, category.clock.take, tell_reporter=False,
                 category_change={"previous": previous, "chosen": source == "ask_back"})
    return event


def suspend(session: Session, case: Case, actor: Actor, reason: str, now: datetime) -> CaseEvent:
    """挂起: waiting on a department; the clock stops until 恢复."""
    event = apply_action(session, case, "suspend", actor=actor.userid, now=now, note=reason)
    case.suspended_at = now
    notify_event(session, event)
    return event


def resume(session: Session, case: Case, actor: Actor, now: datetime) -> CaseEvent:
    """恢复: the clock runs again; every open deadline moves by the time spent suspended."""
    event = apply_action(session, case, "resume", actor=actor.userid, now=now)
    if case.suspended_at is not None:
        shift_deadlines(case, now - case.suspended_at)
    case.suspended_at = None
    notify_event(session, event)
    return event


def announce(session: Session, case: Case, rules: ClockRules, now: datetime, *, compare: bool = True,
             tell: bool = True, waited: bool = False) -> Case | None:
    """A newly routed case (or one routed when its place came: `unplaced.place_waiting`): `compared`, then, unless
    linked to a likely duplicate (its original returned; nobody is told twice), its assignee and grid hear of it
    (None). `compare=False`: a case still to be sorted (its category says nothing yet) is compared with nothing.
    `tell=False`: nobody hears of it yet (the caller calls notify_case_opened). `waited`: as `compared`."""
    original = compared(session, case, rules, now, waited=waited) if compare else None
    if original is None and tell:
        notify_case_opened(session, case.events[0])
    return original


def compared(session: Session, case: Case, rules: ClockRules, now: datetime, *, link: bool = True,
             waited: bool = False, opened_now: bool = True) -> Case | None:
    """A resident's case compared, once it has its category and place, with the open and recently closed cases of
    that category there (handlers/cases/duplicates.py): linked to a likely duplicate when sure (its original
    returned) — unless not `link` (a worker sorting it decides, with 合并) —, else marked 疑似重复 when alike another
    open case and 回头件 when like a case closed there not long ago (`mark_repeat`; once). `waited`: it waited for
    its place or category, and the cases opened meanwhile count too. `opened_now`: as `merge`."""
    repeats = case.repeat_of_id is None  # the 回头件 check follows: its closed cases are read with the open ones
    found = likely_duplicate(session, case, rules.duplicate_window, rules.duplicate_similarity, waited=waited,
                             repeat_window=rules.repeat_window if repeats else None)
    if found is not None and found.sure and link:
        original = found.case
        merge(session, case, original, SYSTEM.userid, now, tell_reporter=False, opened_now=opened_now)
        return original
    if found is not None:
        update_loaded(session, case, {"suspect_of_id": found.case_id})
    repeat_of = likely_repeat(session, case, rules.repeat_window, rules.duplicate_similarity) if repeats else None
    if repeat_of is not None:
        mark_repeat(session, case, session.get(Case, repeat_of), now)
    return None


def still_unsorted(case: Case) -> bool:
    """Whether the case was opened to be sorted later (居民诉求-其他 without the resident's choice) and nobody has
    set its category since: its category says nothing, so it is compared with nothing."""
    return bool((case.classification or {}).get("sorted_later")) and \
        not any(event.action == "recategorize" for event in case.events)


def mark_repeat(session: Session, case: Case, earlier: Case, now: datetime) -> None:
    """回头件: `case` reports again the problem of `earlier`, closed not long ago; each timeline names the other (the
    new case's worker reads the earlier number and how it was closed on the card)."""
    update_loaded(session, case, {"repeat_of_id": earlier.id})
    set_committed_value(case, "repeat_of", earlier)
    apply_action(session, case, "repeat", actor=SYSTEM.userid, now=now,
                 note=render("notices/repeat_note", earlier=earlier))
    apply_action(session, earlier, "note", actor=SYSTEM.userid, now=now, note=render("notices/repeat_note", later=case))


def repeat_of_their_own(session: Session, case: Case) -> Case | None:
    """The closed case a 回头件 reports again, when its reporter reported or follows that one too (they may hear its
    number; a neighbour's earlier case is not theirs to be told of). A case that repeats none answers None without
    its relationship's loader (asked of every report opened: ~1 % of a report's samples)."""
    if case.repeat_of_id is None:
        return None
    earlier = case.repeat_of
    if earlier is None or earlier.reporter_userid == case.reporter_userid:
        return earlier
    return earlier if case.reporter_userid in followers_of(session, earlier.id) else None


def merge(session: Session, case: Case, into: Case, actor: str, now: datetime, *,
          tell_reporter: bool = True, opened_now: bool = False) -> CaseEvent:
    """合并 (or a likely duplicate linked by the system): `case` duplicates `into`; its reporter and
    followers now follow `into`. `opened_now`: `case` was opened in this transaction (nobody follows it yet)."""
    event = apply_action(session, case, "merge", actor=actor, now=now, note=render("notices/merged_note", into=into),
                         also={"duplicate_of_id": into.id})
    followers = [] if opened_now else followers_of(session, case.id)
    if case.source == "resident":
        followers.insert(0, case.reporter_userid)
    watching = set(followers_of(session, into.id))
    for userid in dict.fromkeys(followers):
        if userid != into.reporter_userid and userid not in watching:
            insert_row(session, CaseLink.__table__,
                       {"case_id": into.id, "userid": userid, "text": case.text, "rating": None, "created_at": now})
    apply_action(session, into, "note", actor=actor, now=now, note=render("notices/merged_note", source=case))
    notify_event(session, event, tell_reporter=tell_reporter)
    return event


def unlink(session: Session, case: Case, actor: Actor, category: Category, assignee: Worker | None,
           now: datetime, rules: ClockRules, *, withdrawn: bool = False) -> CaseEvent:
    """取消关联: a merged case was not a duplicate after all (`withdrawn`: the case it followed was withdrawn by
    its reporter); it becomes a case of its own, clock from now."""
    original = session.get(Case, case.duplicate_of_id) if case.duplicate_of_id else None
    note = render("notices/merged_note", unlinked=original, withdrawn=withdrawn) if original else None
    event = apply_action(session, case, "unlink", actor=actor.userid, now=now, note=note)
    if original is not None:
        stop_following(session, case.reporter_userid, original)
    case.duplicate_of_id, case.assignee, case.taken_at = None, assignee, None
    set_deadlines(case, category, now, rules)
    notify_case_opened(session, event)
    if case.source == "resident" and actor.userid != case.reporter_userid:  # the reporter who asked hears the reply
        to_reporter(session, event, "notices/resident_update", withdrawn=withdrawn)
    return event


def stop_following(session: Session, userid: str, original: Case) -> None:
    """`userid`'s report no longer follows `original` (取消关联, or their linked report withdrawn): they hear nothing
    more of it, and a question about it (its rating) ends, so their next words are not put on it."""
    session.execute(delete(CaseLink).where(CaseLink.case_id == original.id, CaseLink.userid == userid))
    asking = pending.current(session, userid)
    if asking is not None and (asking.data or {}).get("case_id") == original.id:
        pending.finish(session, userid)


def stand_alone(session: Session, case: Case, actor: Actor, category: Category, now: datetime, rules: ClockRules,
                *, withdrawn: bool = False) -> CaseEvent:
    """`unlink` to the worker routing picks for the case's grid and category (its assignee when it has no grid)."""
    assignee = pick_assignee(session, case.grid_id, category.name, urgent=category.urgent) \
        if case.grid_id else case.assignee
    return unlink(session, case, actor, category, assignee, now, rules, withdrawn=withdrawn)


def release_duplicates(session: Session, case: Case, catalogue: Catalogue, now: datetime,
                       rules: ClockRules) -> list[CaseEvent]:
    """A case withdrawn by its reporter takes nobody else's report with it: every report merged into it stands
    alone again, routed, and its reporter is told why."""
    merged = session.scalars(select(Case).where(Case.duplicate_of_id == case.id, Case.state == CaseState.MERGED)
                             .order_by(Case.id)).all()
    return [stand_alone(session, duplicate, SYSTEM, catalogue.get(duplicate.category), now, rules, withdrawn=True)
            for duplicate in merged]
