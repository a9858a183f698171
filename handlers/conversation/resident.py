"""The resident conversation: a report becomes a case; media, places and questions follow it.

No report is dropped: a message that answers no open question, or that moves on from one, is
handled as new, and a report still waiting for its category is opened first (handlers.conversation.drafts).
Modules beside it hold the rest: the chat opened (arrival), media and locations (media), answers to the place
question (place_answers), a remark before a report (remark_first), a report typed in pieces (report_pieces).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from handlers.cases.duplicates import content
from handlers.cases.records import has_no_case, latest_open_case
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
    is_greeting,
    is_never_mind,
    is_opener,
    is_same_place,
    is_thanks,
    is_yes,
    parse_command,
    says_dont_know,
    says_only_where,
    split_number,
    word_characters,
)
from handlers.chat.inbound import MEDIA_KINDS, SHARED_KINDS, Inbound
from handlers.conversation import (
    arrival,
    contact,
    drafts,
    follow_ups,
    media,
    place_answers,
    place_fix,
    remark_first,
    resident_requests,
    where_first,
)
from handlers.conversation.matters import matter_rules, parts_of
from handlers.conversation.opening import open_matters, open_report, resident_and_conversation
from handlers.conversation.report_pieces import a_piece, just_reported
from handlers.services import Services
from handlers.texts import render
from models import Case, CaseState, Conversation, InboundMessage, Resident, Unit
from models.rows import flush_pending
from models.statements import fetch_all

_CHINESE = re.compile(r"[\u4e00-\u9fff]")
BIND_ANSWER = "1"  # the greeting's 回复“1”可把这里绑定为您的住址
RECENT_REPORTS = 5  # the resident's latest cases a report sent again is compared with
# Found on the resident's own cases (ix_cases_resident_id): by reporter and time alone, SQLite read every case of the
# window (a burst's thousands), on every report. Their ids, words and decisions (one matter of a split message keeps the
# whole message there) only, through the driver (`fetch_all`): asked on every report and nearly always empty, the ORM
# query cost ~0.2 ms of setting up what it would load.
_RECENT_REPORTS = (select(Case.id, Case.text, Case.classification, Case.created_at)
                   .where(Case.resident_id == bindparam("resident_id"), Case.reporter_userid == bindparam("userid"),
                          Case.created_at >= bindparam("since"), Case.state != CaseState.WITHDRAWN)
                   .order_by(Case.id.desc()).limit(RECENT_REPORTS))


def handle(session: Session, services: Services, inbound: Inbound, record: InboundMessage) -> str | None:
    """The reply to one resident message (None: answer with an empty 200)."""
    resident, convo = resident_and_conversation(session, inbound.userid)
    if inbound.kind == "text":
        return _handle_text(session, services, resident, convo, inbound.text, record, services.clock())
    if inbound.kind == "location":
        return media.handle_location(session, services, resident, convo, inbound)
    if inbound.kind in MEDIA_KINDS or inbound.kind in SHARED_KINDS:
        return media.handle_media(session, services, resident, convo, inbound)
    if inbound.kind == "merged":
        return _handle_records(session, services, resident, convo, inbound, record)
    if inbound.kind == "card":  # a contact's card is nothing to act on; it stays in the message record
        return render("replies/card_kept")
    if inbound.kind == "event" and inbound.event == "enter_session":
        return arrival.arrived(session, services, resident, convo, inbound)
    if inbound.kind == "event" and inbound.recalled is not None:
        return resident_requests.recalled(session, resident, inbound.recalled, services.clock())
    if inbound.kind == "event":
        return render("replies/welcome") if inbound.event in ("subscribe", "enter_agent") else None
    return render("replies/unsupported_kind")  # a kind WeCom added later: kept (the record), answered


def _handle_text(session: Session, services: Services, resident: Resident, convo: Conversation | None, text: str,
                 record: InboundMessage | None, now: datetime) -> str:
    command = parse_command(text, "resident")  # parsed once here, passed down with the words it was read from
    if (rated := remark_first.rated_first(session, services, resident, convo, text, command, now)) is not None:
        reply, matter = rated  # the rating first, then the matter its words went on to as a case of its own
        reported = report(session, services, resident, matter, record, now) if matter is not None else None
        return "\n".join(filter(None, [reply, reported]))
    if (parts := remark_first.command_first(services, text, command)) is not None:  # 进度，另外…: the progress,
        return "\n".join(filter(None, (_handle_text(session, services, resident,  # then the report
                                                     pending.current(session, resident.userid), words, record, now)
                                        for words in parts)))
    if (past := remark_first.past_a_remark(services, text, command)) != text:
        text, command = past, parse_command(past, "resident")
    if convo is not None:
        reply = _continue(session, services, resident, convo.state, convo.data, text, command, record, now)
        if reply is not None:
            return reply
    return _fresh(session, services, resident, text, command, record, now)


def _fresh(session: Session, services: Services, resident: Resident, text: str, command: Command | None,
           record: InboundMessage | None, now: datetime, where: str = "") -> str:
    """A message that answers no question: a command (`command`, parsed from `text`), a greeting or a report (read
    with `where`, the words saying only where that the resident sent before it, when given)."""
    if (command is None or command.name == "add") and \
            (moved := place_fix.moved(session, services, resident, text, now)) is not None:
        return moved  # 说错了 应该是8栋, 是8栋门口，不是6栋: the place of the case just reported corrected
    if command is None and (placed := place_answers.unasked_place(session, services, resident, text, now)):
        return placed  # 湖景苑5栋 while a report waits for its place, another question having come between
    if command is None and (told := place_fix.on_linked(session, services, resident, text, now)) is not None:
        return told  # 在3栋 after the report was linked to a neighbour's case: for that case's worker
    if command is None and (fixed := follow_ups.thing_corrected(session, resident, text, now)) is not None:
        return fixed  # 不是路灯，是楼道里的灯: what the thing of the case just reported is, for its worker
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
    if is_greeting(text) or is_yes(text) or is_same_place(text):  # a bare 对, 好 or 一样 with nothing asked: no report
        return render("replies/help")
    if is_opener(text):  # 有个事想问一下: the matter is still to come
        return render("replies/go_ahead")
    rules = clock_rules(services.config_dir)
    again, when = _sent_again(session, resident, text, now, rules.resend_window) or (None, None)
    if again is not None and now - when <= rules.double_tap:
        return _told_again(session, resident, again, record, now)
    if again is not None and (chased := follow_ups.resent(session, resident, again, text, record, now)) is not None:
        return chased  # the same words hours later, nothing seen done: asking after that case
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
    if says_dont_know(text):  # 不清楚是几栋 with nothing asked: no report; words for the open case's worker
        case = latest_open_case(session, resident.userid)
        return follow_ups.supplement(session, resident, case, text, now) if case is not None else render("replies/help")
    if (thanks := follow_ups.thanked(session, services, resident, text, now)) is not None:
        return thanks  # 路灯的事谢谢你们: no new report of the lamp
    if (followed := follow_ups.answer(session, services, resident, text, now)) is not None:
        return followed  # 那个路灯的事怎么样了: the lamp's case, not a new one
    if (kept := follow_ups.still_wrong_when_closed(session, services, resident, text, now)) is not None:
        return kept  # 灯还是不亮 after the lamp's case was closed: on it, its rating asked again
    if (back := follow_ups.back_again(session, services, resident, text, record, now)) is not None:
        return back  # 又坏了！扶手又掉了 after the handrail's case was archived: a case there again
    if (worse := follow_ups.developed(session, services, resident, text, now)) is not None:
        return worse  # 味道越来越大了 after the drain's report: more of that case, for its worker
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


def _sent_again(session: Session, resident: Resident, text: str, now: datetime,
                window: timedelta) -> tuple[Case, datetime] | None:
    """The resident's case opened from these very words less than `window` ago, and when: the report sent again (no
    answer yet, a tap on resend, or no reply seen; a new MsgId, so the inbox cannot tell). A withdrawn case is
    reported anew."""
    if has_no_case(session, resident):
        return None
    flush_pending(session, Case)
    recent = fetch_all(session, _RECENT_REPORTS, {"resident_id": resident.id, "userid": resident.userid,
                                                  "since": now - window})
    again = _words(text)  # folded once, not once per recent case
    found = next(((case_id, created) for case_id, words, classification, created in recent
                  if _said_again(_words(_reported_words(words, classification)), again)), None)
    return (session.get(Case, found[0]), found[1]) if found is not None else None


AGAIN_MIN_CHARS = 6  # words this long that a report ends with are its last piece sent again, not a word of it


def _said_again(said: str, again: str) -> bool:
    """Whether words `again` are the report `said` sent again (both as `_words` gives them): the same words, or the
    last piece of one typed in pieces (我们楼下 + 楼下的路灯不亮好几天了, then 楼下的路灯不亮好几天了)."""
    return said == again or len(again) >= AGAIN_MIN_CHARS and said.endswith(again)


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
    return _words(first) == _words(second)


def _words(text: str) -> str:
    """What texts are compared on: their word characters, full-width and traditional forms folded."""
    return word_characters(fold(text))


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
    if (decision.outcome != "none" or says_only_where(text)) and not attachments and (piece_of := just_reported(
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
              text: str, command: Command | None, record: InboundMessage | None, now: datetime) -> str | None:
    """Answer what gridbot asked last (`command`: the one `text` opens with); None when the text is not an answer to
    it (it is then handled as new)."""
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
        if (chosen := drafts.choice_in_words(session, services, text, data["choices"])) is not None:  # 就是路灯啊:
            said = {**data, "text": f"{data['text']} {text.strip()}"}  # its words kept, lest they said more
            return drafts.answer_choice(session, services, resident, said, chosen, record, now)
        if _same_words(text, data["text"]) or is_bare_number(text):  # sent again, or a number not offered
            return drafts.ask_again(services, data)
        if _a_question_to_us(services, text) or _only_a_greeting(text):  # 你们多久能来？, 喂: no more of the report,
            return drafts.ask_again(services, data, questioned=True)  # answered; the question stands
        # 不用了, 撤销: the report taken back before it is opened
        if is_never_mind(text) or _withdraws_the_draft(text, command):
            pending.finish(session, resident.userid)
            return render("replies/draft_dropped", text=data["text"])
        if _a_closing_remark(services, text):  # 灯修好了，谢谢师傅: no more of the report; it may need nothing now
            return drafts.ask_again(services, data, thanked=True)
        if a_piece(services, data["text"], text) and not where_first.names_only_a_place(session, services, text):
            return drafts.join(session, services, resident, data, text, record, now)
        return _moved_on(session, services, resident, data, text, command, record, now)
    if state == pending.AWAIT_WORDS:
        if is_greeting(text) and command is None:  # 你好 after a voice: the words may follow
            return drafts.still_waiting_for_words(session, services, resident, data, now)
        pending.finish(session, resident.userid)
        if command is not None:
            return _moved_on(session, services, resident, data, text, command, record, now)
        words = where_first.joined(session, services, data["text"], text.strip()) if data.get("text") else text.strip()
        if where_first.names_only_a_place(session, services, words):  # a photo, then 湖景苑3栋: no matter to ask
            return drafts.open_other(session, services, resident, {**data, "text": words}, record, now).reply
        return report(session, services, resident, words, record, now, attachments=data["attachments"])
    if state == pending.WHERE_SAID:  # 东门那边 or 阳光小区二期 sent first: the report that follows is read with it
        if is_greeting(text) and not is_thanks(text):  # 在吗: the matter is still to come
            return render("replies/go_ahead")
        return _fresh(session, services, resident, text, command, record, now, where=data["text"])
    if state in (pending.AWAIT_ADDRESS, pending.CONFIRM_ADDRESS):
        placed = place_answers.answer_address(session, services, resident, state, data, text, now)
        if placed is not None or pending.current(session, resident.userid) is not None:
            return placed  # answered; or words such as 进度 beside the question, which stands
        return place_answers.place_asked_again(session, resident, data["case_id"],
                                  _fresh(session, services, resident, text, command, record, now), record, now)
    return resident_requests.continue_answer(session, services, resident, state, data, text, now)


def _withdraws_the_draft(text: str, command: Command | None) -> bool:
    """Whether `text` (opening with `command`) is 撤销 naming nothing (撤销, 撤销吧, 撤回这个): while a report waits for
    its category, that report."""
    words = command.args if command is not None and command.name == "withdraw" else \
        after_command_word(text, "resident", "withdraw")
    return words is not None and not content(words)


def _moved_on(session: Session, services: Services, resident: Resident, draft: dict, text: str,
              command: Command | None, record: InboundMessage | None, now: datetime) -> str:
    """The resident wrote something else instead of answering: open the waiting report as 其他 and handle
    the new words as new (the opened report is told in a message of its own); after a mere yes (对, 好的) or thanks
    the reply is the opened report, and a place it lacks is taken as its place."""
    pending.finish(session, resident.userid)
    if is_greeting(text) or is_yes(text):
        return drafts.open_other(session, services, resident, draft, record, now).reply
    opened = drafts.open_other(session, services, resident, draft, None, now)
    if opened.case.state == CaseState.AWAITING_PLACE and where_first.names_only_a_place(session, services, text):
        asked = session.get(Conversation, resident.userid).data  # the opened report asks for its place: this is it
        placed = place_answers.answer_address(session, services, resident, pending.AWAIT_ADDRESS, asked, text, now)
        if placed is not None:
            return placed
    reply = _fresh(session, services, resident, text, command, record, now)
    drafts.tell_apart(session, resident, opened)  # after the new words: they may ask a question of their own
    return reply


def _handle_records(session: Session, services: Services, resident: Resident, convo: Conversation | None,
                    inbound: Inbound, record: InboundMessage) -> str:
    """Forwarded chat records (合并转发), e.g. neighbours' complaints: their words are the resident's report, marked as
    forwarded (never a command); sent moments after a report of the same matter, they add to it. Records with no
    words are kept like something shared."""
    if not inbound.text.strip():
        return media.handle_media(session, services, resident, convo, inbound)
    now = services.clock()
    words = render("notices/merged_text", text=inbound.text.strip())
    case = latest_open_case(session, resident.userid) if convo is None else None
    if case is not None and now - case.created_at <= clock_rules(services.config_dir).pieces_window \
            and services.classifier().classify(words).category in (None, case.category):
        return follow_ups.supplement(session, resident, case, words, now)
    return _handle_text(session, services, resident, convo, words, record, now)
