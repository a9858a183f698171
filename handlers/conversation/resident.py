"""The resident conversation: a report becomes a case; media, places and questions follow it.

No report is dropped: a message that answers no open question, or that moves on from one, is
handled as new, and a report still waiting for its category is opened first (handlers.conversation.drafts).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from handlers.cases.case_notices import tell_worker
from handlers.cases.duplicates import content, place_words
from handlers.cases.lifecycle import allowed
from handlers.cases.records import Place, has_no_case, latest_open_case
from handlers.cases.timing import clock_rules
from handlers.chat import pending
from handlers.chat.case_numbers import parse_case_number
from handlers.chat.commands import (
    Command,
    after_command_word,
    asks_about_us,
    fold,
    holds_words,
    is_anger,
    is_bare_number,
    is_chitchat,
    is_every_place,
    is_greeting,
    is_never_mind,
    is_opener,
    is_same_place,
    is_thanks,
    is_yes,
    parse_command,
    says_only_near_here,
    says_only_where,
    split_number,
    word_characters,
)
from handlers.chat.inbound import MEDIA_KINDS, SHARED_KINDS, Inbound, attachment_of
from handlers.classify import Decision
from handlers.conversation import contact, drafts, follow_ups, place_fix, resident_requests, where_first
from handlers.conversation.matters import (
    a_matter_apart,
    clear_report,
    later_clauses,
    matter_rules,
    parts_of,
    report_after,
)
from handlers.conversation.opening import (
    TIED_UNITS,
    ask_place,
    estate_place,
    located,
    named_place,
    open_matters,
    open_report,
    place_at_each,
    place_report,
    resident_and_conversation,
)
from handlers.places.address import (
    Designators,
    chosen_place,
    corrected,
    designators,
    in_estate,
    names_a_spot,
    normalise_address,
    says_only_spot,
    spot_words,
    turn_of,
    without_denied,
    without_positions,
)
from handlers.places.address_index import AddressMatch
from handlers.registry import cache as registry
from handlers.services import Services
from handlers.texts import render
from models import Case, CaseState, Conversation, InboundMessage, Resident, Unit
from models.outbox import keep_media
from models.rows import flush_pending
from models.statements import fetch_all

_UNIT_BY_CODE = select(Unit).where(Unit.code == bindparam("code"))
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
BIND_ANSWER = "1"  # the greeting's 回复“1”可把这里绑定为您的住址
RECENT_REPORTS = 5  # the resident's latest cases a report sent again is compared with
# Found on the resident's own cases (ix_cases_resident_id): by reporter and time alone, SQLite read every case of the
# window (a burst's thousands), on every report. Their ids, words and decisions (one matter of a split message keeps the
# whole message there) only, through the driver (`fetch_all`): asked on every report and nearly always empty, the ORM
# query cost ~0.2 ms of setting up what it would load.
_RECENT_REPORTS = (select(Case.id, Case.text, Case.classification)
                   .where(Case.resident_id == bindparam("resident_id"), Case.reporter_userid == bindparam("userid"),
                          Case.created_at >= bindparam("since"), Case.state != CaseState.WITHDRAWN)
                   .order_by(Case.id.desc()).limit(RECENT_REPORTS))


def handle(session: Session, services: Services, inbound: Inbound, record: InboundMessage) -> str | None:
    """The reply to one resident message (None: answer with an empty 200)."""
    resident, convo = resident_and_conversation(session, inbound.userid)
    if inbound.kind == "text":
        return _handle_text(session, services, resident, convo, inbound.text, record, services.clock())
    if inbound.kind == "location":
        return _handle_location(session, services, resident, convo, inbound)
    if inbound.kind in MEDIA_KINDS or inbound.kind in SHARED_KINDS:
        return _handle_media(session, services, resident, convo, inbound)
    if inbound.kind == "merged":
        return _handle_records(session, services, resident, convo, inbound, record)
    if inbound.kind == "card":  # a contact's card is nothing to act on; it stays in the message record
        return render("replies/card_kept")
    if inbound.kind == "event" and inbound.event == "enter_session":
        return _arrived(session, services, resident, convo, inbound)
    if inbound.kind == "event" and inbound.recalled is not None:
        return resident_requests.recalled(session, resident, inbound.recalled, services.clock())
    if inbound.kind == "event":
        return render("replies/welcome") if inbound.event in ("subscribe", "enter_agent") else None
    return render("replies/unsupported_kind")  # a kind WeCom added later: kept (the record), answered


def _arrived(session: Session, services: Services, resident: Resident, convo: Conversation | None,
             inbound: Inbound) -> str | None:
    """The resident opened the chat, perhaps through a building's QR code (`arrival` = its unit code):
    later reports go to that building, and a greeting offers once to bind it as their address, unless
    gridbot still waits for another answer (a report asked back): that question stays the one answered. A report
    waiting for its place is placed at that building."""
    unit = session.scalars(_UNIT_BY_CODE, {"code": inbound.arrival}).first() if inbound.arrival else None
    now = services.clock()
    if unit is not None:
        resident.arrival_unit, resident.arrived_at = unit, now
    if inbound.channel == "kf" and not inbound.welcome_code:  # WeCom gives no way to greet now (the resident wrote
        # within 48 hours): no greeting, but a report waiting for its place is placed at the building, told in the window
        return _placed_by_arrival(session, services, resident, convo, unit, now) if unit is not None else None
    asking = convo is not None and convo.state not in (pending.CONFIRM_BIND, pending.WHERE_SAID)  # no question asked
    offer_bind = unit is not None and resident.unit is None and not asking
    if offer_bind:
        pending.expect(session, resident.userid, pending.CONFIRM_BIND, {"unit_id": unit.id}, now)
    bound_elsewhere = resident.unit if unit is not None and resident.unit not in (None, unit) else None
    welcome = render("replies/welcome", unit=unit, offer_bind=offer_bind, bound=bound_elsewhere,
                     window=clock_rules(services.config_dir).qr_arrival_window)
    placed = _placed_by_arrival(session, services, resident, convo, unit, now) if unit is not None else None
    return f"{welcome}\n{placed}" if placed else welcome


def _placed_by_arrival(session: Session, services: Services, resident: Resident, convo: Conversation | None,
                       unit: Unit, now: datetime) -> str | None:
    """The report whose place is being asked, placed at the building whose code the resident just came through (the
    greeting tells them reports are recorded there); None when no place is asked."""
    if convo is None or convo.state not in (pending.AWAIT_ADDRESS, pending.CONFIRM_ADDRESS):
        return None
    case = session.get(Case, convo.data["case_id"])
    if case is None or case.state != CaseState.AWAITING_PLACE or case.reporter_userid != resident.userid:
        return None
    return place_report(session, services, resident, case, Place(unit.grid, unit, "qr"), now)


def _handle_text(session: Session, services: Services, resident: Resident, convo: Conversation | None, text: str,
                 record: InboundMessage | None, now: datetime) -> str:
    if (both := _rated_and_reported(session, services, resident, convo, text, record, now)) is not None:
        return both
    text = _past_a_remark(services, text)
    if convo is not None:
        reply = _continue(session, services, resident, convo.state, convo.data, text, record, now)
        if reply is not None:
            return reply
    return _fresh(session, services, resident, text, record, now)


def _rated_and_reported(session: Session, services: Services, resident: Resident, convo: Conversation | None,
                        text: str, record: InboundMessage | None, now: datetime) -> str | None:
    """A rating whose words go on to a matter of its own (不满意，另外5栋门口的垃圾也没人收; 满意，不过楼下路灯也坏了; 修好了
    谢谢，还有个事，5栋…): the case rated, its reason the words before the matter (不满意 reopens it even with none),
    and the matter reported as a case of its own; the resident is told both. Words saying the case is still wrong
    (灯还是不亮，另外…) are kept on it, its rating asked again; a rating going on to say more is coming (满意，还有个事…)
    is answered “请说”. None for other words (only words answering “请您评价”, or a rating command, are looked into)."""
    asked = convo.data.get("case_id") if convo is not None and convo.state == pending.RATE else None
    command = parse_command(text, "resident") if asked is None else None
    if asked is None and (command is None or command.name not in resident_requests.RATINGS):
        return None
    case = resident_requests.case_to_rate(session, services, resident, asked, now)
    if case is None:
        return None
    reason_asked = asked is not None and convo.data.get("rating") == "unsatisfied"
    rules = matter_rules(services.config_dir)
    for before, said, clause in later_clauses(text, rules):
        head, tail = text[:before].strip(), text[said:]
        rating = _rating_before(services, case, head, asked is not None, reason_asked)
        if rating is None:
            continue
        if a_matter_apart(services.classifier(), tail, clause, case.category, case.text, rules,
                          done=rating[0] not in (None, "unsatisfied")):
            rated = _rated(session, services, resident, case, rating, now)
            return "\n".join(filter(None, [rated, report(session, services, resident, tail, record, now)]))
        if rating[0] is not None and is_opener(tail):
            return f"{_rated(session, services, resident, case, rating, now)}\n{render('replies/go_ahead')}"
    return None


def _past_a_remark(services: Services, text: str) -> str:
    """Words that read as no report but open with a remark before one (修好了谢谢，还有个事，湖景苑3栋楼道的灯坏了: the
    thanks first, and the whole read as thanks): the words from the report on, handled as they are; else `text`. A
    command's words stay whole."""
    if services.classifier().classify(text).outcome != "none" or parse_command(text, "resident") is not None:
        return text
    return report_after(services.classifier(), text, matter_rules(services.config_dir)) or text


def _rating_before(services: Services, case: Case, head: str, asked: bool, reason_asked: bool) -> \
        tuple[str | None, str] | None:
    """The rating and reason the words before another matter give (`resident_requests.rating_of`; the reason asked
    for: the words are it); (None, words) for words saying the case is still wrong, no rating (灯还是不亮); None for
    other words."""
    if reason_asked:
        return ("unsatisfied", head) if head and parse_command(head, "resident") is None else None
    rating = resident_requests.rating_of(services, head, asked=asked)
    return rating if rating is not None or not asked or not follow_ups.still_wrong(case, head) else (None, head)


def _rated(session: Session, services: Services, resident: Resident, case: Case, rating: tuple[str | None, str],
           now: datetime) -> str | None:
    """The case rated as `rating` says (不满意 reopens it even with no reason: the words went on to another matter),
    or the words saying it is still wrong kept on it (None: it no longer waits for them)."""
    if rating[0] is None:
        return follow_ups.on_the_rated_case(session, services, resident, case.id, rating[1], now)
    return resident_requests.rate(session, resident, rating[0], case.id, rating[1], now, ask_reason=False)


def _fresh(session: Session, services: Services, resident: Resident, text: str,
           record: InboundMessage | None, now: datetime, where: str = "") -> str:
    """A message that answers no question: a command, a greeting or a report (read with `where`, the words saying only
    where that the resident sent before it, when given)."""
    command = parse_command(text, "resident")
    if (command is None or command.name == "add") and \
            (moved := place_fix.moved(session, services, resident, text, now)) is not None:
        return moved  # 说错了 应该是8栋, 是8栋门口，不是6栋: the place of the case just reported corrected
    if command is not None and command.name == "add":
        return _add(session, services, resident, command, record, now)
    if command is not None and (answered := resident_requests.run(session, services, resident, command, now)):
        return answered
    if is_thanks(text):
        return render("replies/thanks")
    if (rated := resident_requests.rate_by_digit(session, resident, text, now)) is not None:
        return rated  # the 1 a close notice asked for comes before the greeting's offer to bind
    if (sorted_late := drafts.late_choice(session, services, resident, text, now)) is not None:
        return sorted_late  # the ask-back's answer after its time ran out: no new report, no binding
    if _binds_the_scanned_building(resident, text):
        resident.unit = resident.arrival_unit
        return render("replies/bound", unit=resident.unit)
    if (phone := contact.phone_alone(text)) is not None:  # 13812345678: the resident's contact, not a report
        return contact.keep_contact(session, resident, phone, now)
    if is_bare_number(text):  # a 2 with nothing asked: no report, nothing for a case's worker
        return render("replies/bare_number", number=word_characters(fold(text)),
                      cases=resident_requests.open_cases(session, resident)[:BARE_NUMBER_CASES])
    if is_anger(text):  # 😡😡😡: what happened, not the help text
        return render("replies/anger", cases=resident_requests.open_cases(session, resident)[:BARE_NUMBER_CASES])
    if is_greeting(text) or is_yes(text):  # a bare 对 or 好 with nothing asked is no report
        return render("replies/help")
    if is_opener(text):  # 有个事想问一下: the matter is still to come
        return render("replies/go_ahead")
    again = _sent_again(session, resident, text, now, clock_rules(services.config_dir).double_tap)
    if again is not None:
        return _told_again(session, resident, again, record, now)
    if (moved := resident_requests.offer_new_home(session, services, resident, text, now)) is not None:
        return moved  # 我们家搬到金桂园5栋了: bind it?
    if (home := resident_requests.home_told(services, resident, text)) is not None:
        return home  # 我绑定的地址是哪里
    if (noted := resident_requests.address_first(session, services, resident, text, now)) is not None:
        return noted  # 我住滨江花园二期4栋: where the problem that follows is
    if (offered := resident_requests.offer_withdraw(session, services, resident, text, now)) is not None:
        return offered  # 路灯的事不用管了: withdraw the lamp's case?
    if is_never_mind(text):  # 不用了 with nothing asked: no report; an open case is said how to withdraw
        return render("replies/never_mind", cases=resident_requests.open_cases(session, resident)[:BARE_NUMBER_CASES])
    if (thanks := follow_ups.thanked(session, services, resident, text, now)) is not None:
        return thanks  # 路灯的事谢谢你们: no new report of the lamp
    if (followed := follow_ups.answer(session, services, resident, text, now)) is not None:
        return followed  # 那个路灯的事怎么样了: the lamp's case, not a new one
    if (back := follow_ups.back_again(session, services, resident, text, record, now)) is not None:
        return back  # 又坏了！扶手又掉了 after the handrail's case was archived: a case there again
    if (listed := resident_requests.progress_in_words(session, resident, text)) is not None:
        return listed  # 在哪里看进度？: the 进度 list, no report
    if where:  # 东门那边, then 垃圾桶满了: one report typed in pieces
        pending.finish(session, resident.userid)
        text = where_first.joined(session, services, where, text.strip())
    reported = report(session, services, resident, text.strip(), record, now)
    opened = session.get(Case, record.case_id) if record is not None and record.case_id is not None else None
    moved = resident_requests.offer_home_after_report(session, resident, text, opened, now)
    return f"{reported}\n{moved}" if moved else reported  # 我搬到金桂园5栋后发现…: the report, then bind it?


def _binds_the_scanned_building(resident: Resident, text: str) -> bool:
    """Whether `text` is the 1 the greeting asked for to bind the scanned building, sent after the offer ended (the
    resident reported first): a resident bound nowhere who scanned a building's code."""
    return word_characters(fold(text)) == BIND_ANSWER and resident.unit is None and resident.arrival_unit is not None


BARE_NUMBER_CASES = 3  # the open cases a bare number is answered with


def _sent_again(session: Session, resident: Resident, text: str, now: datetime, window: timedelta) -> Case | None:
    """The resident's case opened from these very words less than `window` ago: the report sent again (no
    answer yet, or a tap on resend; a new MsgId, so the inbox cannot tell). A withdrawn case is reported anew."""
    if has_no_case(session, resident):
        return None
    flush_pending(session, Case)
    recent = fetch_all(session, _RECENT_REPORTS, {"resident_id": resident.id, "userid": resident.userid,
                                                  "since": now - window})
    case_id = next((case_id for case_id, words, classification in recent
                    if _same_words(_reported_words(words, classification), text)), None)
    return session.get(Case, case_id) if case_id is not None else None


def _reported_words(text: str, classification: dict | None) -> str:
    """The message a case was opened from: its `text`, or the whole message of which it is one matter."""
    return ((classification or {}).get("split") or {}).get("message", text)


def _told_again(session: Session, resident: Resident, case: Case, record: InboundMessage | None,
                now: datetime) -> str:
    """The case a report sent again already is; the place is asked again when it still waits for one."""
    if record is not None:
        record.case_id = case.id
    if case.state == CaseState.AWAITING_PLACE:
        pending.expect(session, resident.userid, pending.AWAIT_ADDRESS, {"case_id": case.id}, now)
    return render("replies/report_repeated", case=case)


PIECE_CHARS = 8  # a report asked back this short (我们楼下) is a piece of one typed in several messages
FOLLOW_UP_CHARS = 6  # a text this short, just after a report itself short, may be more of it (满了好几天了);
# a longer one is a sentence of its own (院子里天天有野猫出没), a report of its own
SHORT_REPORT_CHARS = 16  # ... a report this short may go on in the next messages; a whole one is done


def _a_piece(services: Services, asked: str, text: str) -> bool:
    """Whether words sent while the report `asked` is asked back are more of it: no command, greeting, yes or
    thanks; and either `asked` is a mere piece (我们楼下, then 那个垃圾桶) or the words are no report the classifier
    is sure of on their own (one it is sure of, after a whole report, is new: the resident moved on)."""
    if parse_command(text, "resident") is not None or is_greeting(text) or is_yes(text) or is_thanks(text):
        return False
    return len(word_characters(asked)) <= PIECE_CHARS or services.classifier().classify(text).outcome != "match"


def _a_question_to_us(services: Services, text: str) -> bool:
    """Whether `text` is a question to gridbot (你们多久能来？, 你们是谁) rather than more of a report: question words
    and no matter the classifier reads in them."""
    return holds_words(text, "question") and services.classifier().classify(text).outcome == "none"


def _only_a_greeting(text: str) -> bool:
    """Whether `text` greets and says nothing else (你好, 喂, 在吗): no yes (好的, 对) nor thanks, which answer a question."""
    return is_greeting(text) and not is_yes(text) and not is_thanks(text)


def _a_closing_remark(services: Services, text: str) -> bool:
    """Whether `text` thanks us or says a matter is sorted in more than a greeting (灯修好了，谢谢师傅, 好了，谢谢) and
    reports nothing: thanks or sorted words, nothing still wrong (还没修好), and no report the classifier reads in it."""
    return not (is_thanks(text) or is_greeting(text)) and follow_ups.closing_remark(services, text)


def _same_words(first: str, second: str) -> bool:
    """Whether two texts say the same, leaving out punctuation, spaces, full-width and traditional forms."""
    return word_characters(fold(first)) == word_characters(fold(second))


def report(session: Session, services: Services, resident: Resident, text: str,
           record: InboundMessage | None, now: datetime, attachments: list | None = None) -> str:
    """Open a report's case when the classifier is sure — one case per matter when the words report several, or one
    matter at several places (handlers.conversation.matters; with media the words stay one report) —; else ask back (top three plus 其他).
    Words the model is sure are no report, from a resident with an open case, are added to that case (a correction
    such as "不是3栋，是5栋"); only chit-chat without media gets the help text: a report is never answered with "not
    understood"."""
    decision = services.classifier().classify(text)
    if record is not None:
        record.category = decision.category
    if (decision.outcome != "none" or says_only_where(text)) and not attachments and (piece_of := _just_reported(
            session, services, resident, text, now, decision)) is not None:
        return follow_ups.supplement(session, resident, piece_of, text, now)  # 满了好几天了, 东门那边: where it is
    if not attachments and (kept := where_first.keep(session, services, resident, text, decision, now)) is not None:
        if record is not None:
            record.category = None  # no report (东门那边 may read like one): the words that follow are read with it
        return kept
    rules = matter_rules(services.config_dir)
    if not attachments and (parts := parts_of(services.classifier(), services.addresses.get(session), text, decision,
                                              rules)):
        return open_matters(session, services, resident, text, parts, record, now)
    if decision.outcome == "match" and decision.category is not None:
        category = services.classifier().catalogue.get(decision.category)
        return open_report(session, services, resident, text, category, decision.stored(), record, now,
                           attachments=attachments).reply
    no_report = decision.outcome == "none" and decision.decided_by == "model"  # the model, trained on chit-chat too
    if no_report and not attachments and not is_chitchat(text) and _says_something(text):
        case = latest_open_case(session, resident.userid)
        if case is not None:  # words about their case ("不是3栋，是5栋"): kept on it, not answered with the help
            return follow_ups.supplement(session, resident, case, text, now)
    if (no_report or is_chitchat(text)) and not attachments:  # thanks in more words (灯修好了，谢谢师傅) are thanked
        if asks_about_us(text):  # 你们是机器人吗？: who answers, honestly, and how to report
            return render("replies/about_us")
        return render("replies/thanks" if _a_closing_remark(services, text) else "replies/help")
    return drafts.ask_category(session, services, resident, text, decision, record, now, attachments)


def _just_reported(session: Session, services: Services, resident: Resident, text: str, now: datetime,
                   alone: Decision | None = None) -> Case | None:
    """The case the resident reported moments ago (lifecycle.yaml's pieces_window) in a few words that `text` is
    more of: a short text (满了好几天了, 都没人来收) naming no place of its own, no clear report of another category on
    its own (停水了 after a street lamp: `alone`, the text's decision when known), with which the case's words still
    read as its category. A report typed in several messages is one case, not one per line; after a whole report
    (more than SHORT_REPORT_CHARS) a new short text is a new report. A case the resident reopened (不满意) moments ago
    takes any few words naming no place (还在漏: why it is not done)."""
    if len(word_characters(text)) > FOLLOW_UP_CHARS:
        return None
    case = latest_open_case(session, resident.userid)
    window = clock_rules(services.config_dir).pieces_window
    if case is not None and _reopened_by(case, resident.userid, now - window):
        return None if services.addresses.get(session).match(fold(text), limit=1) else case
    if case is None or now - case.created_at > window or len(word_characters(case.text)) > SHORT_REPORT_CHARS:
        return None
    if services.addresses.get(session).match(fold(text), limit=1):
        return None  # a place of its own: another report, or the answer to the address question
    alone, rules = alone or services.classifier().classify(text), matter_rules(services.config_dir)
    if alone.category != case.category and clear_report(alone, rules.part_sure, rules.model_sure) and \
            not says_only_where(text):
        return None  # a new matter of its own (电梯坏了, 水管爆了 after a street lamp), however short; not 东门那边
    return case if services.classifier().classify(f"{case.text} {text}").category == case.category else None


def _reopened_by(case: Case, userid: str, since: datetime) -> bool:
    """Whether `userid` reopened `case` (不满意) since `since`."""
    return case.state == CaseState.IN_PROGRESS and any(
        event.action == "reopen" and event.actor == userid and event.at >= since for event in case.events[-3:])


def _says_something(text: str) -> bool:
    """Whether words can be about a case: Chinese with a number (是5栋, 302室) or five characters or more; not
    嗯嗯, 好 or 发错了, which would only ping the worker."""
    bare = word_characters(text)
    return _CHINESE.search(bare) is not None and (len(bare) >= 5 or any(ch.isdigit() for ch in bare))


def _add(session: Session, services: Services, resident: Resident, command: Command, record: InboundMessage | None,
         now: datetime) -> str:
    """`补充 [N] 内容`: the words added to the resident's case N, else their latest open case; with no case
    they are a report."""
    ref, rest = split_number(command.args)
    named = parse_case_number(ref) is not None
    case = resident_requests.own_case(session, resident, ref) if named else latest_open_case(session, resident.userid)
    if named and case is None:
        return render("replies/case_not_found", ref=ref)
    words = command.as_written(rest if named else command.args)
    if not words:
        return render("replies/help")
    if case is None:
        return report(session, services, resident, words, record, now)
    return follow_ups.supplement(session, resident, case, words, now)


def _continue(session: Session, services: Services, resident: Resident, state: str, data: dict,
              text: str, record: InboundMessage | None, now: datetime) -> str | None:
    """Answer what gridbot asked last; None when the text is not an answer to it (it is then handled as new)."""
    if state == pending.CONFIRM_BIND:
        pending.finish(session, resident.userid)
        unit = session.get(Unit, data["unit_id"])
        if not is_yes(text) or unit is None:
            return None
        resident.unit = unit
        return render("replies/bound", unit=unit)
    if state == pending.CHOOSE_CATEGORY:
        chosen = drafts.read_choice(text, data["choices"])
        if chosen is not None:
            return drafts.answer_choice(session, services, resident, data, chosen, record, now)
        if _same_words(text, data["text"]) or is_bare_number(text):  # sent again, or a number not offered
            return drafts.ask_again(services, data)
        if _a_question_to_us(services, text) or _only_a_greeting(text):  # 你们多久能来？, 喂: no more of the report,
            return drafts.ask_again(services, data, questioned=True)  # answered; the question stands
        if is_never_mind(text) or _withdraws_the_draft(text):  # 不用了, 撤销: the report taken back before it is opened
            pending.finish(session, resident.userid)
            return render("replies/draft_dropped", text=data["text"])
        if _a_closing_remark(services, text):  # 灯修好了，谢谢师傅: no more of the report; it may need nothing now
            return drafts.ask_again(services, data, thanked=True)
        if _a_piece(services, data["text"], text) and not where_first.names_only_a_place(session, services, text):
            return drafts.join(session, services, resident, data, text, record, now)
        return _moved_on(session, services, resident, data, text, record, now)
    if state == pending.AWAIT_WORDS:
        if is_greeting(text) and parse_command(text, "resident") is None:  # 你好 after a voice: the words may follow
            return drafts.still_waiting_for_words(session, services, resident, data, now)
        pending.finish(session, resident.userid)
        if parse_command(text, "resident") is not None:
            return _moved_on(session, services, resident, data, text, record, now)
        return report(session, services, resident, text.strip(), record, now, attachments=data["attachments"])
    if state == pending.WHERE_SAID:  # 东门那边 or 阳光小区二期 sent first: the report that follows is read with it
        if is_greeting(text) and not is_thanks(text):  # 在吗: the matter is still to come
            return render("replies/go_ahead")
        return _fresh(session, services, resident, text, record, now, where=data["text"])
    if state in (pending.AWAIT_ADDRESS, pending.CONFIRM_ADDRESS):
        placed = _answer_address(session, services, resident, state, data, text, now)
        if placed is not None or pending.current(session, resident.userid) is not None:
            return placed  # answered; or words such as 进度 beside the question, which stands
        return _place_asked_again(session, resident, data["case_id"],
                                  _fresh(session, services, resident, text, record, now), record, now)
    return resident_requests.continue_answer(session, services, resident, state, data, text, now)


def _place_asked_again(session: Session, resident: Resident, case_id: int, reply: str, record: InboundMessage | None,
                       now: datetime) -> str:
    """The reply to words that interrupted the place question of `case_id` (a report of another matter): when that
    case still waits for its place and the words asked nothing of their own, the question stands again and the reply
    says so; else the next address would be taken for a note on the case just reported. An answer such as 一样 is
    the place of the case the words opened (`record`'s), when it has one."""
    case = session.get(Case, case_id)
    if case is None or case.state != CaseState.AWAITING_PLACE or pending.current(session, resident.userid) is not None:
        return reply
    opened = session.get(Case, record.case_id) if record is not None and record.case_id is not None else None
    after = opened if opened is not None and opened.grid_id is not None else None
    pending.expect(session, resident.userid, pending.AWAIT_ADDRESS,
                   {"case_id": case.id} | ({"after": after.id} if after else {}), now)
    return f"{reply}\n{render('replies/place_still_asked', case=case, after=after)}"


def _withdraws_the_draft(text: str) -> bool:
    """Whether `text` is 撤销 naming nothing (撤销, 撤销吧, 撤回这个): while a report waits for its category, that report."""
    command = parse_command(text, "resident")
    words = command.args if command is not None and command.name == "withdraw" else \
        after_command_word(text, "resident", "withdraw")
    return words is not None and not content(words)


def _moved_on(session: Session, services: Services, resident: Resident, draft: dict, text: str,
              record: InboundMessage | None, now: datetime) -> str:
    """The resident wrote something else instead of answering: open the waiting report as 其他 and handle
    the new words as new (the opened report is told in a message of its own); after a mere yes (对, 好的) or thanks
    the reply is the opened report, and a place it lacks is taken as its place."""
    pending.finish(session, resident.userid)
    if is_greeting(text) or is_yes(text):
        return drafts.open_other(session, services, resident, draft, record, now).reply
    opened = drafts.open_other(session, services, resident, draft, None, now)
    if opened.case.state == CaseState.AWAITING_PLACE and where_first.names_only_a_place(session, services, text):
        asked = session.get(Conversation, resident.userid).data  # the opened report asks for its place: this is it
        placed = _answer_address(session, services, resident, pending.AWAIT_ADDRESS, asked, text, now)
        if placed is not None:
            return placed
    reply = _fresh(session, services, resident, text, record, now)
    drafts.tell_apart(session, resident, opened)  # after the new words: they may ask a question of their own
    return reply


def _answer_address(session: Session, services: Services, resident: Resident, state: str, data: dict,
                    text: str, now: datetime) -> str | None:
    """The place of a case waiting for it; None when the text is something else (the case keeps waiting,
    and a location or the worker can still place it)."""
    case = session.get(Case, data["case_id"])
    if case is None or case.state != CaseState.AWAITING_PLACE:
        pending.finish(session, resident.userid)
        return None
    if state == pending.CONFIRM_ADDRESS and is_yes(text):
        unit = registry.unit(session, data["unit_id"])
        if data.get("whole"):  # the estate, in one grid, was asked about: its grid, whichever building
            return place_report(session, services, resident, case, estate_place(unit, data["estate"], "text"), now)
        if data.get("estate"):  # which part of the estate was asked: a yes says none
            return render("replies/ask_estate_part", case=case, estate=data["estate"])
        return place_report(session, services, resident, case, Place(unit.grid, unit, "text"), now)
    if data.get("after") and is_same_place(text) and (place := _place_of(session, data["after"])) is not None:
        return place_report(session, services, resident, case, place, now)  # 一样: where the case before it is
    if (command := parse_command(text, "resident")) is not None:
        text = _place_added(session, services, command)  # 说错了，是5栋 / 补充 湖景苑5栋: the place asked for
        if text is None:
            return None
    folded, choices = corrected(without_denied(fold(text))), data.get("choices", ())
    if data.get("estate"):  # which part of the estate was asked: 二期 is the part of the building reported
        folded = _with_reported_building(case, folded)
    if data.get("spot") and not names_a_spot(folded):  # 桃源居, asked whose 3栋 it is: 桃源居3栋
        folded = f"{folded}{data['spot']}"
    if choices and (turn_of(choices, folded) or 0) > len(choices):  # 第三个 of two: the choices, asked again
        return render("replies/ask_which_place", case=case, choices=choices, beyond=True)
    if len(choices) > 1 and is_every_place(text) and not (case.classification or {}).get("split"):
        return place_at_each(session, services, resident, case, choices, now) or render(
            "replies/ask_which_place", case=case, choices=choices)  # 两个都是: a case at each place
    matches = services.addresses.get(session).match(chosen_place(choices, folded), limit=TIED_UNITS)
    if not (matches and matches[0].confident):
        matches = _in_places_asked(session, services, _places_asked(session, state, data), folded) or matches
    if not matches:
        if is_greeting(text):  # 在吗, 喂: answered as one, the question stands (no words for the case's worker)
            return render("replies/address_still_asked", case=case)
        if says_only_spot(text):  # 3号楼那边: which estate's is asked, the building kept for the answer
            spot = spot_words(text)
            pending.expect(session, resident.userid, state, {**data, "spot": spot}, now)
            return render("replies/ask_estate_of_spot", case=case, spot=spot)
        if _just_reported(session, services, resident, text, now) is case:  # more of it: the question stands
            return follow_ups.supplement(session, resident, case, text, now)
        if services.classifier().classify(text).outcome != "none" and not says_only_near_here(text):
            pending.finish(session, resident.userid)
            return None  # a new report, not an address (就在我家楼下 is neither: the estate is asked)
        if is_chitchat(text) or holds_words(text, "question"):  # 你们是谁？ 要多久？
            return render("replies/address_still_asked", case=case)
        return render("replies/address_not_found", case=case)
    unit = registry.unit(session, matches[0].unit_id)
    matter = _matter_words(text, unit)
    if _another_matter(services, case, without_positions(matter)):  # a new report naming its own place: this case
        # keeps waiting (not 湖景苑5栋，就是我家楼下: where the place is, no matter of its own)
        pending.finish(session, resident.userid)
        return None
    named = named_place(session, matches, "asked")
    told_more = len(matter) >= MATTER_MIN_CHARS  # 湖景苑3栋楼道灯坏了 for a photo: its words stay on the case
    if named.place is None:
        if told_more:
            follow_ups.supplement(session, resident, case, text, now)
        return ask_place(session, resident.userid, case, named, now)
    reply = place_report(session, services, resident, case, named.place, now)
    handled = session.get(Case, case.duplicate_of_id) if case.duplicate_of_id else case  # placed, it may follow a
    # neighbour's case of the matter (merged: nothing more is added to it)
    if told_more and handled is not None and allowed(handled.state, "attach"):  # after placing: the worker, now
        follow_ups.supplement(session, resident, handled, text, now)  # known, is told them
    return reply


def _place_of(session: Session, case_id: int) -> Place | None:
    """Where case `case_id` is, as the place an answer gives (None: it has none)."""
    case = session.get(Case, case_id)
    return Place(case.grid, case.unit, "asked", case.location) if case is not None and case.grid is not None else None


def _with_reported_building(case: Case, answer: str) -> str:
    """An answer naming a part of an estate and no building (二期, to which part of 阳光小区 its 3栋 is) with the building
    the report named (二期3栋), when it named one: else the building was lost and the case placed at the part at large."""
    asked = designators(normalise_address(answer))
    if not asked.phases or asked.buildings:
        return answer
    words = ((case.classification or {}).get("split") or {}).get("where") or case.text
    buildings = designators(normalise_address(corrected(words))).buildings
    return f"{answer}{next(iter(buildings))}栋" if len(buildings) == 1 else answer


def _place_added(session: Session, services: Services, command: Command) -> str | None:
    """The words of `补充 …` / `说错了，…` (no case number) when they name a place of the registry: the answer to the
    place question, not a note beside it; None for any other command."""
    if command.name != "add" or parse_case_number(split_number(command.args)[0]) is not None:
        return None
    words = command.as_written(command.args)
    return words if services.addresses.get(session).match(without_denied(fold(words)), limit=1) else None


def _places_asked(session: Session, state: str, data: dict) -> list[str]:
    """The addresses the place question offered: the guessed unit's, or the places to choose from."""
    guess = registry.unit(session, data["unit_id"]) if state == pending.CONFIRM_ADDRESS else None
    return [guess.address] if guess is not None else list(data.get("choices", ()))


def _in_places_asked(session: Session, services: Services, addresses: list[str], text: str) -> list[AddressMatch]:
    """An answer that names only a number (5栋, 不是，是5号楼, 二期) read in the estates the question offered: the
    guessed unit's (its phase too was a guess), or whichever of the places to choose from it fits best (二期 to
    阳光小区 or 湖景苑5-6栋: 阳光小区, which has one); [] for an answer without a number, or one that fits two alike."""
    if not addresses or designators(normalise_address(text)) == Designators():
        return []
    index = services.addresses.get(session)
    found = [matches for address in addresses if (matches := index.match(in_estate(address, text, False), TIED_UNITS))]
    found.sort(key=lambda matches: -matches[0].score)
    return found[0] if found and (len(found) == 1 or found[1][0].score < found[0][0].score) else []


MATTER_MIN_CHARS = 4  # words left beside the place, fewer than this are no matter of their own (就路灯)


def _matter_words(text: str, unit: Unit) -> str:
    """The words of an answer that names `unit` beside the place (read as addresses are: 阳光小去2期5洞 is
    阳光小区2期5栋)."""
    return content(normalise_address(text), place_words(unit.address, unit.grid.name if unit.grid else ""))


def _another_matter(services: Services, case: Case, rest: str) -> bool:
    """Whether an answer to `case`'s place question whose words beside the place are `rest` reports another
    matter than `case`'s (湖景苑3栋门口垃圾桶满了 while a street lamp's place is asked) rather than giving its place:
    `rest` is classified (an address alone may look like a report to the model); a case to be sorted takes any
    matter."""
    if case.category == drafts.OTHER or len(rest) < MATTER_MIN_CHARS:
        return False
    decision = services.classifier().classify(rest)
    if decision.outcome == "match":
        return decision.category != case.category
    choices = drafts.choices_for(decision, services.classifier().catalogue)
    return decision.outcome == "ask" and case.category not in choices


def _handle_location(session: Session, services: Services, resident: Resident, convo: Conversation | None,
                     inbound: Inbound) -> str:
    """A location places the case waiting for its place; else it joins a waiting report (it becomes its place
    when nothing else gives one) or the latest open case; with none of them it waits for words, as media does."""
    now = services.clock()
    location = {"lat": inbound.lat, "lng": inbound.lng, "label": inbound.label}
    if convo is not None and convo.state in (pending.CHOOSE_CATEGORY, pending.AWAIT_WORDS):
        return drafts.add_attachment(session, convo, {"kind": "location", **location}, now)
    case = latest_open_case(session, resident.userid)
    if case is None:
        return drafts.wait_for_words(session, services, resident, {"kind": "location", **location}, now)
    place = located(session, location) if case.state == CaseState.AWAITING_PLACE else None
    if place is not None:
        return place_report(session, services, resident, case, place, now)
    case.location = location
    attached = _attached(session, resident, case, {"kind": "location", **location}, inbound.label, now)
    if case.state != CaseState.AWAITING_PLACE:
        return attached
    return _place_by_name(session, services, resident, case, inbound.label, now)


def _place_by_name(session: Session, services: Services, resident: Resident, case: Case, name: str | None,
                   now: datetime) -> str:
    """A pin that places nothing (WeCom gave it without coordinates, or it lies outside the district) for a case
    waiting for its place: its name, when a registry address, places the case; else the address is asked again."""
    matches = services.addresses.get(session).match(without_denied(fold(name)), limit=TIED_UNITS) if name else []
    if not matches:
        return render("replies/address_not_found", case=case)
    named = named_place(session, matches, "asked")
    if named.place is None:
        return ask_place(session, resident.userid, case, named, now)
    return place_report(session, services, resident, case, named.place, now)


def _handle_media(session: Session, services: Services, resident: Resident, convo: Conversation | None,
                  inbound: Inbound) -> str:
    """Media, or something shared (a link, a mini-program card, a 视频号 post), joins a waiting report, else the
    latest open case; with neither it waits for words."""
    now = services.clock()
    attachment, note = attachment_of(inbound), None
    if inbound.kind in MEDIA_KINDS:
        keep_media(session, attachment)
    else:  # shared, or chat records without words: its title and address are what the worker opens or looks up
        note = " ".join(filter(None, (inbound.title, inbound.url))) or None
    if convo is not None and convo.state in (pending.CHOOSE_CATEGORY, pending.AWAIT_WORDS):
        return drafts.add_attachment(session, convo, attachment, now)
    case = latest_open_case(session, resident.userid)
    if case is None:
        return drafts.wait_for_words(session, services, resident, attachment, now)
    return _attached(session, resident, case, attachment, note, now)


def _handle_records(session: Session, services: Services, resident: Resident, convo: Conversation | None,
                    inbound: Inbound, record: InboundMessage) -> str:
    """Forwarded chat records (合并转发), e.g. neighbours' complaints: their words are the resident's report, marked as
    forwarded (never a command); sent moments after a report of the same matter, they add to it. Records with no
    words are kept like something shared."""
    if not inbound.text.strip():
        return _handle_media(session, services, resident, convo, inbound)
    now = services.clock()
    words = render("notices/merged_text", text=inbound.text.strip())
    case = latest_open_case(session, resident.userid) if convo is None else None
    if case is not None and now - case.created_at <= clock_rules(services.config_dir).pieces_window \
            and services.classifier().classify(words).category in (None, case.category):
        return follow_ups.supplement(session, resident, case, words, now)
    return _handle_text(session, services, resident, convo, words, record, now)


def _attached(session: Session, resident: Resident, case: Case, attachment: dict, note: str | None,
              now: datetime) -> str:
    """Media or a location added to the resident's case and told to its worker (a voice message may hold the
    report's details), as words added with 补充 are."""
    tell_worker(session, case, "attach", resident.userid, now, note, [attachment])
    return render("replies/attached", case=case, kind=attachment["kind"])
