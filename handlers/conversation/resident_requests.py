"""A resident's requests: progress, withdraw, rating, binding an address, points and the points shop."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from handlers.cases.authority import Actor
from handlers.cases.case_notices import notify_event, tell_worker
from handlers.cases.case_work import release_duplicates, reopen_clock, stand_alone, stop_following
from handlers.cases.duplicates import content, place_words
from handlers.cases.lifecycle import allowed
from handlers.cases.records import apply_action, has_no_case, latest_open_case_of
from handlers.cases.timing import clock_rules
from handlers.chat import pending
from handlers.chat.case_numbers import parse_case_number
from handlers.chat.commands import (
    Command,
    after_command_word,
    asks_for_progress,
    fold,
    gives_a_reason,
    holds_words,
    is_a_chase,
    is_bare_number,
    is_yes,
    parse_command,
    rating_in_words,
    without_follow_up_words,
    without_words,
    word_characters,
)
from handlers.conversation import follow_ups
from handlers.conversation.case_reference import followed_case, may_be_about_a_case, pointed_at, reports_in
from handlers.places.address import normalise_address, split_home, without_denied
from handlers.points import shop
from handlers.registry import cache as registry
from handlers.points.ledger import award_rating
from handlers.services import Services
from handlers.texts import render
from models import OPEN_STATES, Case, CaseEvent, CaseLink, CaseState, InboundMessage, Resident, Unit

_FOLLOWER_RATEABLE = (CaseState.CLOSED, CaseState.ARCHIVED)
RATINGS = {"satisfied": "satisfied", "basic": "basic", "unsatisfied": "unsatisfied"}
_RATING_DIGITS = {"1": "satisfied", "2": "basic", "3": "unsatisfied"}
PROGRESS_LIST_LIMIT = 10


def run(session: Session, services: Services, resident: Resident, command: Command, now: datetime) -> str | None:
    """The reply to a resident's command; None for 不满意 with a reason when no case waits for their rating (the
    reason is a report of its own: 不满意，灯又坏了 after the case was archived)."""
    if command.name == "progress":
        return _progress(session, resident, command.args)
    if command.name == "withdraw":
        return _withdraw(session, services, resident, command.args, now)
    if command.name in RATINGS:
        number, _, reason = command.args.partition(" ")
        case_id = parse_case_number(number) if number else None
        if case_id is None:
            reason = command.args
            if command.name == "unsatisfied" and reason and _latest_rateable(session, resident) is None:
                return None
        return rate(session, resident, RATINGS[command.name], case_id, command.as_written(reason.strip()), now,
                    late_window=clock_rules(services.config_dir).late_rating_window)
    if command.name == "unlink":
        return _unlink(session, services, resident, command.args, now)
    if command.name == "bind":
        return bind_address(session, services, resident, command.args)
    if command.name == "points":
        return shop.points_reply(session, resident, now)
    if command.name == "redeem":
        return shop.redeem(session, resident.userid, command.args, now)
    return render("replies/help")


def own_case(session: Session, resident: Resident, ref: str) -> Case | None:
    """The resident's case by number; a resident never sees anyone else's cases."""
    case_id = parse_case_number(ref)
    case = session.get(Case, case_id) if case_id else None
    return case if case is not None and case.reporter_userid == resident.userid else None


def _progress(session: Session, resident: Resident, ref: str) -> str:
    if ref:
        case = own_case(session, resident, ref)
        if case is not None:
            return render("replies/progress_detail", case=case)
        case = _followed_case(session, resident, ref)
        if case is None:
            return render("replies/case_not_found", ref=ref)
        return render("replies/progress_detail", case=case, holder=resident.userid)
    cases = session.scalars(
        select(Case).where(Case.reporter_userid == resident.userid).order_by(Case.id.desc()).limit(PROGRESS_LIST_LIMIT)
    ).all()
    return render("replies/progress_list", cases=cases)


def progress_in_words(session: Session, resident: Resident, text: str) -> str | None:
    """Words asking for the progress without the 进度 command (在哪里看进度？, 喺边度睇进度): the resident's cases, as 进度
    lists them; None for other words."""
    return _progress(session, resident, "") if asks_for_progress(text) else None


def _followed_case(session: Session, resident: Resident, ref: str) -> Case | None:
    """The case by number that the resident follows (their report was linked to it): theirs to look at only."""
    case_id = parse_case_number(ref)
    return session.get(Case, case_id) if case_id and _follow(session, resident.userid, case_id) is not None else None


def _linked_report(session: Session, resident: Resident, ref: str) -> Case | None:
    """The resident's report linked to another's case: their case N, or the one following case N, or (no number)
    their latest such report."""
    linked = select(Case).where(Case.reporter_userid == resident.userid, Case.state == CaseState.MERGED)
    if ref:
        case_id = parse_case_number(ref)
        if case_id is None:
            return None
        linked = linked.where(or_(Case.id == case_id, Case.duplicate_of_id == case_id))
    return session.scalars(linked.order_by(Case.id.desc()).limit(1)).first()


def _unlink(session: Session, services: Services, resident: Resident, ref: str, now: datetime) -> str:
    """取消关联 / 不是同一个问题: the resident's report linked to another's case becomes a case of its own."""
    case = _linked_report(session, resident, ref)
    if case is None:
        return render("replies/nothing_to_unlink")
    category = services.classifier().catalogue.get(case.category)
    stand_alone(session, case, Actor.for_resident(resident.userid), category, now, clock_rules(services.config_dir))
    return render("replies/unlinked", case=case)


def _which_to_withdraw(session: Session, resident: Resident, now: datetime, words: str = "") -> str:
    """`撤销` without a number: the open cases its words point at (撤销垃圾站那个), else all of them; with one,
    ask to confirm it; with several, list them."""
    cases = open_cases(session, resident)
    return _offer_withdraw(session, resident, pointed_at(cases, without_follow_up_words(words)) or cases, now)


def _offer_withdraw(session: Session, resident: Resident, cases: list[Case], now: datetime) -> str:
    if len(cases) == 1:
        pending.expect(session, resident.userid, pending.CONFIRM_WITHDRAW, {"case_id": cases[0].id}, now)
    return render("replies/withdraw_which", cases=cases)


def open_cases(session: Session, resident: Resident) -> list[Case]:
    """The resident's own open cases, and their reports linked to an open case of another's, newest first."""
    return reports_in(session, resident.userid, OPEN_STATES)


def offer_withdraw(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> str | None:
    """Words withdrawing one of the resident's open cases without its number, offered to withdraw that case (or
    asked which): 撤销 glued to words naming it (撤销垃圾站那个) or to no matter at all (撤销吧: a bare 撤销), or words
    saying a matter needs nothing any more (路灯的事不用管了). None for words naming none of them that are a report
    (撤销违建的事情怎么说), or that the classifier is sure of; and without an open case."""
    glued = after_command_word(text, "resident", "withdraw")
    if (glued is None and not holds_words(text, "no_longer_needed")) or not may_be_about_a_case(text):
        return None
    cases = open_cases(session, resident)
    named = pointed_at(cases, without_follow_up_words(text if glued is None else glued))
    if not named and glued is not None and content(without_follow_up_words(glued)):
        return None  # 撤销违建的事情怎么说: names none of their cases, a report
    if not named and glued is None and (not cases or services.classifier().classify(text).outcome == "match"):
        return None
    return _offer_withdraw(session, resident, named or cases, now)


def _withdraw(session: Session, services: Services, resident: Resident, ref: str, now: datetime) -> str:
    if parse_case_number(ref) is None:
        return _which_to_withdraw(session, resident, now, ref)
    case = own_case(session, resident, ref) or _linked_report(session, resident, ref)
    if case is None:
        return render("replies/case_not_found", ref=ref)
    followed = followed_case(session, case)
    if not allowed(case.state, "withdraw") or followed.state not in OPEN_STATES:
        return render("replies/cannot_withdraw", case=case)
    if followed is not case:  # their report linked to a neighbour's case: they leave it, the case goes on
        stop_following(session, resident.userid, followed)
    event = apply_action(session, case, "withdraw", actor=resident.userid, now=now)
    pending.finish(session, resident.userid)
    notify_event(session, event, tell_reporter=False)
    release_duplicates(session, case, services.classifier().catalogue, now, clock_rules(services.config_dir))
    return render("replies/withdrawn", case=case)


def _latest_rateable(session: Session, resident: Resident) -> Case | None:
    """The resident's latest closed case, or a case they follow (a merged report) that they have not rated."""
    followed = select(CaseLink.case_id).where(CaseLink.userid == resident.userid, CaseLink.rating.is_(None))
    return session.scalars(
        select(Case).where(or_(
            and_(Case.reporter_userid == resident.userid, Case.state == CaseState.CLOSED),
            and_(Case.id.in_(followed), Case.state.in_(_FOLLOWER_RATEABLE)),
        )).order_by(Case.closed_at.desc(), Case.id.desc()).limit(1)
    ).first()


def _follow(session: Session, userid: str, case_id: int) -> CaseLink | None:
    return session.scalars(select(CaseLink).where(CaseLink.case_id == case_id, CaseLink.userid == userid)).first()


def has_rated(session: Session, case: Case, userid: str) -> bool:
    """Whether `userid` has rated the case: its reporter, or a resident following it."""
    if userid == case.reporter_userid:
        return case.rating is not None
    link = _follow(session, userid, case.id)
    return link is not None and link.rating is not None


def rate(session: Session, resident: Resident, rating: str, case_id: int | None, reason: str,
         now: datetime, *, late_window: timedelta | None = None, ask_reason: bool = True) -> str:
    """满意 / 基本满意 archive the case; 不满意 reopens it to the same worker with the reason (asked for when none is
    given, unless `ask_reason` is off: the words went on to another matter). A follower's rating is recorded without
    moving the case. `late_window`: with no case waiting for the rating, the resident's latest case archived unrated
    (by the clock) and closed within it is the one rated (`_rate_late`)."""
    case = session.get(Case, case_id) if case_id else _latest_rateable(session, resident)
    if case is not None and case.reporter_userid != resident.userid:
        link = _follow(session, resident.userid, case.id)
        if link is not None and link.rating is None and case.state in _FOLLOWER_RATEABLE:
            return _follower_rating(session, resident, case, link, rating, reason, now, ask_reason)
        case = None
    if case is None and case_id is None and late_window is not None:
        case = _latest_archived(session, resident, now - late_window)
    if case is not None and case.state == CaseState.ARCHIVED and case.closed_at is not None:
        return _rate_late(session, case, rating, now)
    if case is None or case.state != CaseState.CLOSED:
        return render("replies/nothing_to_rate")
    if rating == "unsatisfied" and not reason and ask_reason:
        pending.expect(session, resident.userid, pending.RATE,
                            {"case_id": case.id, "rating": "unsatisfied"}, now)
        return render("replies/ask_reason", case=case)
    pending.finish(session, resident.userid)
    case.rating = rating
    action = "reopen" if rating == "unsatisfied" else "rate"
    event = apply_action(session, case, action, actor=resident.userid, now=now, note=reason or None)
    if rating == "unsatisfied":
        case.closed_at = None
        reopen_clock(case, now)
    award_rating(session, case, rating, now)
    notify_event(session, event, tell_reporter=False)
    return render("replies/rated", case=case, rating=rating)


def _latest_archived(session: Session, resident: Resident, since: datetime) -> Case | None:
    """The resident's latest case closed (办结) since `since` and archived since: rated or by the clock."""
    return session.scalars(select(Case).where(
        Case.reporter_userid == resident.userid, Case.state == CaseState.ARCHIVED, Case.closed_at >= since,
    ).order_by(Case.closed_at.desc(), Case.id.desc()).limit(1)).first()


def _rate_late(session: Session, case: Case, rating: str, now: datetime) -> str:
    """A rating of the reporter's case the clock archived unrated: 满意 / 基本满意 are its rating (told to its
    worker, points as for a rating in time); 不满意 cannot reopen an archived case, and a case rated already keeps
    its rating: the reply names the case and how to report the problem again."""
    if rating == "unsatisfied" or case.rating is not None:
        return render("replies/nothing_to_rate", archived=case)
    case.rating = rating
    event = apply_action(session, case, "rate", actor=case.reporter_userid, now=now)
    award_rating(session, case, rating, now)
    notify_event(session, event, tell_reporter=False)
    return render("replies/rated", case=case, rating=rating)


def _follower_rating(session: Session, resident: Resident, case: Case, link: CaseLink, rating: str, reason: str,
                     now: datetime, ask_reason: bool = True) -> str:
    """A resident who follows the case (their report was merged into it) rates it too: kept on their
    follow and on the timeline, told to the assignee; the reporter's rating alone archives or reopens."""
    if rating == "unsatisfied" and not reason and ask_reason:
        pending.expect(session, resident.userid, pending.RATE, {"case_id": case.id, "rating": "unsatisfied"}, now)
        return render("replies/ask_reason", case=case, follower=True, holder=resident.userid)
    pending.finish(session, resident.userid)
    link.rating = rating
    tell_worker(session, case, "note", resident.userid, now, render("notices/follower_rated", rating=rating,
                                                                    reason=reason))
    return render("replies/rated", case=case, rating=rating, follower=True, holder=resident.userid)


def rate_by_digit(session: Session, resident: Resident, text: str, now: datetime) -> str | None:
    """A bare 1, 2 or 3 with nothing asked, from a resident whose case waits for their rating: that rating (the
    close notice asked "回复 1 满意…" while another question of theirs was open); None otherwise."""
    rating = _RATING_DIGITS.get(fold(text))
    case = _latest_rateable(session, resident) if rating is not None else None
    return rate(session, resident, rating, case.id, "", now) if case is not None else None


def continue_answer(session: Session, services: Services, resident: Resident, state: str, data: dict,
                    text: str, now: datetime) -> str | None:
    """The answer to "please rate 1/2/3", to "why not satisfied?" or to "撤销 GB-…？回复 1 确认"."""
    if state == pending.CONFIRM_WITHDRAW:
        pending.finish(session, resident.userid)
        return _withdraw(session, services, resident, str(data["case_id"]), now) if is_yes(text) else None
    if state != pending.RATE:
        return None
    case = session.get(Case, data["case_id"])
    if case is None or not _still_rateable(session, resident, case):
        pending.finish(session, resident.userid)
        return None  # rated meanwhile, reopened by its reporter, or archived by the clock: the words are new
    command = parse_command(text, "resident")  # answered as the command (进度, 满意, 不满意 原因)
    if data.get("rating") == "unsatisfied":  # the reason asked for, in the resident's own words
        if command is not None and command.name != "add":  # 补充 … gives the reason
            return None
        if command is None and is_a_chase(text):  # 催一下 says why nothing: where it stands, and asked again
            follower = case.reporter_userid != resident.userid
            return render("replies/ask_reason", case=case, chased=True, follower=follower,
                          holder=resident.userid if follower else None)
        if command is None and _another_report(session, services, data["case_id"], text):
            return None  # a report of its own; the question stays for the reason
        reason = command.as_written(command.args) if command is not None else text.strip()
        return rate(session, resident, "unsatisfied", data["case_id"], reason, now)
    if command is not None:
        return None
    rating = _rating_answered(services, text)
    if rating is None:
        return follow_ups.on_the_rated_case(session, services, resident, data["case_id"], text, now)
    said = data.get("said", "") if rating == "unsatisfied" else ""  # 还是不亮 said before the 3: the reason
    if rating == "unsatisfied" and not said and gives_a_reason(text):
        said = text.strip()  # 还没弄好，还在冒水: the words are the reason
    return rate(session, resident, rating, data["case_id"], said, now)


def _rating_answered(services: Services, text: str) -> str | None:
    """The rating words answering “请您评价” give without a command word: 1/2/3, the words people use (不太满意 asks
    for the reason, as 3 does), thanks for the fix (修好了，谢谢你们🙏: 满意); None for other words."""
    rating = _RATING_DIGITS.get(fold(text)) or rating_in_words(text)
    return "satisfied" if rating is None and follow_ups.thanks_for_the_fix(services, text) else rating


def rating_of(services: Services, text: str, *, asked: bool) -> tuple[str, str] | None:
    """The rating and reason `text` gives: 满意 / 不满意 原因 (the command, number-less), or, `asked` to rate, the
    words of an answer (`_rating_answered`; 不满意 in other words, 灯还是不行, is its own reason); None for other
    words."""
    command = parse_command(text, "resident")
    if command is not None:
        named = parse_case_number(command.args.partition(" ")[0]) is not None
        return (RATINGS[command.name], command.as_written(command.args)) \
            if command.name in RATINGS and not named else None
    rating = _rating_answered(services, text) if asked else None
    if rating is None:
        return None
    return rating, text.strip() if rating == "unsatisfied" and not is_bare_number(text) else ""


def case_to_rate(session: Session, services: Services, resident: Resident, asked: int | None,
                 now: datetime) -> Case | None:
    """The case a rating from the resident now rates: `asked`, the case whose rating they were asked, while it still
    waits for it; else their latest case waiting for a rating, or archived unrated within the late window."""
    if asked is not None:
        case = session.get(Case, asked)
        return case if case is not None and _still_rateable(session, resident, case) else None
    if has_no_case(session, resident):
        return None  # registered by this very message: no case of theirs, none they follow (no query)
    if (latest := _latest_rateable(session, resident)) is not None:
        return latest
    archived = _latest_archived(session, resident, now - clock_rules(services.config_dir).late_rating_window)
    return archived if archived is not None and archived.rating is None else None


def _still_rateable(session: Session, resident: Resident, case: Case) -> bool:
    """Whether `case`, whose rating the resident was asked, still waits for it: closed, for its reporter; closed or
    archived and not rated by them, for a resident following it (its reporter's 不满意 reopens it)."""
    if case.reporter_userid == resident.userid:
        return case.state == CaseState.CLOSED
    link = _follow(session, resident.userid, case.id)
    return link is not None and link.rating is None and case.state in _FOLLOWER_RATEABLE


def _another_report(session: Session, services: Services, case_id: int, text: str) -> bool:
    """Whether words sent while the reason for 不满意 is asked report a matter of another category than the case's
    (湖景苑3栋楼道的灯坏了 for a case about rubbish): a new report, not why the resident is not satisfied."""
    case = session.get(Case, case_id)
    decision = services.classifier().classify(text)
    return case is not None and decision.outcome == "match" and decision.category != case.category


def offer_new_home(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> str | None:
    """A resident saying they moved (我们家搬到金桂园5栋了) is offered to bind the address their words name (回复 1);
    None for words saying no such thing or naming no address of the registry, and for words that report a matter
    there (我搬到金桂园5栋后发现楼下垃圾桶一直没人清理: the report, placed by its words). Their cases stay theirs."""
    if not holds_words(text, "moved_house") or services.classifier().classify(text).outcome == "match":
        return None
    matches = services.addresses.get(session).match(fold(text), limit=1)
    if not matches or not matches[0].confident:  # 我搬家了 alone: where to is asked; other words stay what they were
        return render("replies/home_address", unit=resident.unit, moved=True) if _only_moved(text) else None
    return _offer_home(session, resident, session.get(Unit, matches[0].unit_id), now)


def offer_home_after_report(session: Session, resident: Resident, text: str, case: Case | None,
                            now: datetime) -> str | None:
    """A report that also says the resident moved (我搬到金桂园5栋后发现楼道灯坏了), opened at the building its words
    name: the offer to bind that building, to follow the report's reply; None when the words say no move, the case
    is placed otherwise (or not yet), the building is their home already, or a question of the report waits."""
    if case is None or not holds_words(text, "moved_house") or case.unit is None or case.place_source != "text":
        return None
    if case.unit_id == resident.unit_id or pending.current(session, resident.userid) is not None:
        return None
    return _offer_home(session, resident, case.unit, now)


def _offer_home(session: Session, resident: Resident, unit: Unit, now: datetime) -> str:
    """Ask whether `unit` is the resident's new home (回复 1 binds it)."""
    pending.expect(session, resident.userid, pending.CONFIRM_BIND, {"unit_id": unit.id}, now)
    return render("replies/confirm_new_home", unit=unit)


PLACE_ALONE_CHARS = 16  # an address alone is this short (我住滨江花园二期4栋); a longer text that reads as a report is one


def address_first(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> str | None:
    """An address and no matter (我住滨江花园二期4栋; the problem follows, perhaps an hour later): where the resident's
    reports go for lifecycle.yaml's qr_arrival_window, as a building's code is, with binding it offered (回复 1) when
    it is not their home already. None for other words: a report the classifier is sure of, words naming no address
    of the registry or a matter beside it, and words from a resident with an open case (a place for it: its worker
    hears them)."""
    long_for_a_place = len(word_characters(text)) > PLACE_ALONE_CHARS  # a short one may be a name read as a matter
    if long_for_a_place and services.classifier().classify(text).outcome == "match" or \
            latest_open_case_of(session, resident):
        return None
    unit = only_a_place(session, services, text)
    if unit is None:
        return None
    rules = clock_rules(services.config_dir)
    resident.arrival_unit, resident.arrived_at = unit, now
    offer_bind = resident.unit != unit
    if offer_bind:
        pending.expect(session, resident.userid, pending.CONFIRM_BIND, {"unit_id": unit.id}, now)
    return render("replies/address_noted", address=unit.address, grid=unit.grid, offer_bind=offer_bind,
                  window=rules.qr_arrival_window)


def only_a_place(session: Session, services: Services, text: str) -> Unit | None:
    """The unit of the registry `text` names when it names a place and no matter (工人新村4栋, 我住滨江花园二期4栋): the
    words beside the place (and beside where the resident says they live) report nothing to the classifier, whatever
    it reads in the place's own name (工人新村: 工人). None for other words."""
    matches = services.addresses.get(session).match(without_denied(fold(text)), limit=1)
    if not matches or not matches[0].confident:
        return None
    unit = registry.unit(session, matches[0].unit_id)  # with its grid, from the registry cache: no SQL
    matter = content(normalise_address(split_home(text)[1]), place_words(unit.address, unit.grid.name))
    return unit if not matter or services.classifier().classify(matter).outcome == "none" else None


_MOVED_FILLERS = re.compile(r"[我们家已经了啦吧啊呀]")


def _only_moved(text: str) -> bool:
    """Whether `text` says only that the resident moved (我搬家了, 我们已经搬家啦), nothing more."""
    return not _MOVED_FILLERS.sub("", word_characters(without_words(text, "moved_house")))


def home_told(services: Services, resident: Resident, text: str) -> str | None:
    """A resident asking which address they bound (我绑定的地址是哪里) hears it and how to change it; None for other
    words, and for a report that names its place (我的住址楼下垃圾桶满了)."""
    if not holds_words(text, "my_address") or services.classifier().classify(text).outcome == "match":
        return None
    return render("replies/home_address", unit=resident.unit)


def bind_address(session: Session, services: Services, resident: Resident, address: str) -> str:
    """`绑定 地址`: the resident's unit, used to route every later report."""
    if not address:
        return render("replies/bind_usage")
    matches = services.addresses.get(session).match(fold(address), limit=1)
    if not matches or not matches[0].confident:
        return render("replies/bind_not_found", address=address)
    resident.unit = session.get(Unit, matches[0].unit_id)
    return render("replies/bound", unit=resident.unit)


def recalled(session: Session, resident: Resident, msg_key: str, now: datetime) -> None:
    """The resident took back (撤回) a message: a case opened from it stays open (its worker may be on the way, and
    a slip of the finger is no withdrawal: that is 撤销), and its timeline and worker hear of it, once, so the worker
    can check with the resident. Nothing is answered: WeCom's event is no message of theirs."""
    case = session.scalars(select(Case).join(InboundMessage, InboundMessage.case_id == Case.id).where(
        InboundMessage.msg_key == msg_key, InboundMessage.from_userid == resident.userid)).first()
    if case is None or case.state not in OPEN_STATES:
        return None
    note = render("notices/recalled_note")
    if session.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case.id, CaseEvent.actor == resident.userid,
                                                 CaseEvent.note == note).limit(1)) is not None:
        return None
    tell_worker(session, case, "note", resident.userid, now, note)
    return None
