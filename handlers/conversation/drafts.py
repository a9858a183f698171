"""Reports waiting for the resident: the ask-back (which category?) and media waiting for words.

Nobody is bounced (首问负责). A report the classifier is not sure of is asked back with its top
three categories plus 其他; words that are no report of their own join it (a report typed in pieces, `join`);
the answer 其他, no answer within `ask_back_timeout`, or a report about something else opens it as 居民诉求-其他,
placed and routed like any other, for the grid worker to re-categorise (改类). A voice message, photo, video, file,
location or something shared (a link, a mini-program card, a 视频号 post) with no case and no text waits
`media_wait` for words that may follow, then opens the same way with the media attached (a location is
its place when nothing else gives one). The timeouts are
applied by the clock pass (`settle_due`), so a restart loses nothing.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.cases import case_work
from handlers.cases.authority import Actor
from handlers.cases.case_notices import tell_worker
from handlers.cases.corrections import record_correction
from handlers.cases.records import latest_open_case_of
from handlers.cases.timing import clock_rules
from handlers.chat import pending
from handlers.chat.commands import fold, word_characters
from handlers.classify import CAPITAL_NUMERALS, Catalogue, Decision, chinese_number
from handlers.conversation.matters import matter_rules
from handlers.conversation.opening import Opened, ensure_resident, open_report
from handlers.conversation.report_pieces import PIECE_CHARS
from handlers.places.routing import pick_assignee
from handlers.services import Services
from handlers.texts import render
from models import OPEN_STATES, Case, CaseState, Conversation, InboundMessage, Resident, resident_channel
from models.outbox import queue_notice

log = logging.getLogger("gridbot.drafts")

OTHER = "居民诉求-其他"
OTHER_WORDS = frozenset({"其他", "其它", "都不是", "不知道", "不清楚", "不确定", "随便", "其他由网格员判断"})
# The resident cannot tell which (不知道属于哪类, 我也不清楚是哪一种, 说不好): 其他, for the grid worker to sort.
_DONT_KNOW = re.compile(r"(?:我也|我)?(?:不知道|不清楚|不确定|说不清|说不好|分不清|搞不清)(?:楚)?(?:属于|是|算|选)?"
                        r"(?:哪|什么)?(?:一)?(?:类|个|种|项)?(?:的)?(?:啊|呢|吧|呀|哦)?")
_PARTICLES = re.compile(r"(?<=.)[吧啊呀哦嘛呢哈啦]+$")  # 第一个吧, 不知道啊: the answer said the way people say it
MAX_CHOICES = 3
# A choice by its number, as people write it: 1, 一, 壹 (capital numerals), 第一个, 选1, 1号, perhaps with the
# choice's name after it, as when the whole line of the question is copied back ("1 噪音扰民").
_PICKED = re.compile(r"(?:我选|选择|选|第)?([0-9]+|[一二两三四五六七八九十]+)(?:个|项|类|种|号|条)?(.*)")


def choices_for(decision: Decision, catalogue: Catalogue) -> list[str]:
    """The ask-back's choices: the classifier's best categories, at most three, 其他 left out (it comes last)."""
    ranked = [decision.category, *(c.category for c in decision.candidates)]
    names = set(catalogue.names())
    return [name for name in dict.fromkeys(ranked) if name in names and name != OTHER][:MAX_CHOICES]


def ask_category(session: Session, services: Services, resident: Resident, text: str, decision: Decision,
                 record: InboundMessage | None, now: datetime, attachments: list | None = None) -> str:
    """Ask which category (top three plus 其他); with no candidate at all, open it as 其他 at once."""
    choices = choices_for(decision, services.classifier().catalogue)
    draft = {"text": text, "choices": choices, "attachments": attachments or [], "first": decision.category,
             "record_id": record.id if record is not None else None}
    if not choices:
        return open_other(session, services, resident, draft, record, now).reply
    pending.expect(session, resident.userid, pending.CHOOSE_CATEGORY, draft, now)
    return ask_again(services, draft)


def ask_again(services: Services, draft: dict, questioned: bool = False, thanked: bool = False,
              added: str = "") -> str:
    """The ask-back's question for a waiting report (`questioned`: after the resident's question to us, who we are
    first; `thanked`: after their thanks or word that a matter is sorted, how to say the report needs nothing;
    `added`: the words they just added to it, said to be noted)."""
    catalogue = services.classifier().catalogue
    hints = {name: hint_of(catalogue.get(name).description)
             for name in draft["choices"] if name in catalogue.categories}
    return render("replies/ask_category", choices=draft["choices"], hints=hints, questioned=questioned,
                  thanked=thanked, added=added, text=draft["text"],
                  wait=clock_rules(services.config_dir).ask_back_timeout)


HINT_ITEMS = 3  # the examples of a category the ask-back names beside it


def hint_of(description: str) -> str:
    """What a category holds, in the resident's words, for the ask-back: its description's first few examples
    (路灯、井盖、道路、… → 路灯、井盖、道路等); empty without a description."""
    items = [item for item in description.split("、") if item]
    return "、".join(items[:HINT_ITEMS]) + ("等" if len(items) > HINT_ITEMS else "") if items else ""


def join(session: Session, services: Services, resident: Resident, draft: dict, text: str,
         record: InboundMessage | None, now: datetime) -> str:
    """More words for a report asked back, typed in pieces (我们楼下 / 那个垃圾桶 / 满了好几天了): the report is
    the words together, classified again: opened when now sure, else asked again with the choices they give."""
    whole = f"{draft['text']} {text.strip()}"
    decision = services.classifier().classify(whole)
    if decision.outcome == "match" and decision.category is not None:
        pending.finish(session, resident.userid)
        category = services.classifier().catalogue.get(decision.category)
        return open_report(session, services, resident, whole, category, decision.stored(),
                           _origin(session, draft, record), now, attachments=draft.get("attachments")).reply
    choices = choices_for(decision, services.classifier().catalogue) or draft["choices"]
    joined = {**draft, "text": whole, "choices": choices, "first": decision.category or draft.get("first")}
    pending.expect(session, resident.userid, pending.CHOOSE_CATEGORY, joined, now)
    return ask_again(services, joined, added=text.strip())


def read_choice(answer: str, choices: list[str]) -> str | None:
    """The category an answer to the ask-back names: its number however written (2, ２, 二, 贰, 第二个, 选2,
    "2、"), its name (also in traditional characters), both ("2 市政设施") or 其他, perhaps with a particle after it
    (第一个吧, 不知道啊); None: not an answer."""
    bare = _PARTICLES.sub("", word_characters(fold(answer)).translate(CAPITAL_NUMERALS))
    named = _named(bare, choices)
    if named is not None or not bare:
        return named
    picked = _PICKED.fullmatch(bare)
    if picked is None:
        return None
    numeral, name = picked.groups()
    number = int(numeral) if numeral.isdigit() else chinese_number(numeral)
    options = [*choices, OTHER]
    chosen = options[number - 1] if 1 <= number <= len(options) else None
    return chosen if chosen is not None and (not name or _named(name, choices) == chosen) else None


def choice_in_words(session: Session, services: Services, answer: str, choices: list[str]) -> str | None:
    """The offered category a short answer names in words (就是路灯啊, 应该是物业管理吧, 是物业的事: the classifier's
    match for them); None for longer words, words naming a place, a thing and what is wrong with it (电梯坏了: a rule
    needing both fired) or a thing that is “too” in trouble (电梯也坏了): a matter of its own."""
    if len(word_characters(answer)) > PIECE_CHARS or matter_rules(services.config_dir).also.search(answer) or \
            services.addresses.get(session).match(fold(answer), limit=1):
        return None
    decision = services.classifier().classify(answer)
    if decision.outcome != "match" or decision.category not in choices:
        return None
    return None if any(rule["kind"] == "all" for rule in decision.rules) else decision.category


def _named(bare: str, choices: list[str]) -> str | None:
    """The choice (or 其他) whose name `bare` is, written without punctuation."""
    if bare in OTHER_WORDS or _DONT_KNOW.fullmatch(bare):
        return OTHER
    return next((choice for choice in choices if word_characters(choice) == bare), None)


def answer_choice(session: Session, services: Services, resident: Resident, draft: dict, chosen: str,
                  record: InboundMessage | None, now: datetime) -> str:
    """The resident chose: open the report in that category and keep the answer as a labelled example."""
    pending.finish(session, resident.userid)
    category = services.classifier().catalogue.get(chosen)
    sorted_later = chosen == OTHER
    classification = {"chosen_by_resident": chosen, **({"sorted_later": True} if sorted_later else {})}
    opened = open_report(session, services, resident, draft["text"], category, classification,
                         _origin(session, draft, record), now, attachments=draft.get("attachments"),
                         sorted_later=sorted_later)
    record_correction(session, text=draft["text"], label=chosen, previous=draft.get("first"), source="ask_back",
                      actor=resident.userid, now=now, case_id=opened.case.id if opened.case else None)
    return opened.reply


def _origin(session: Session, draft: dict, record: InboundMessage | None) -> InboundMessage | None:
    """The message whose words a draft holds (its case links to that message), else `record`."""
    record_id = draft.get("record_id")
    return session.get(InboundMessage, record_id) if record_id is not None else record


def wait_for_words(session: Session, services: Services, resident: Resident, attachment: dict,
                   now: datetime, where: str | None = None) -> str:
    """Media with no case and no text: keep it and wait a little for words that may follow; `where`, the words saying
    only where the resident sent before it (东门那边), are kept as the report's words so far."""
    draft = {"attachments": [attachment], **({"text": where} if where else {})}
    pending.expect(session, resident.userid, pending.AWAIT_WORDS, draft, now)
    return render("replies/media_waiting", kind=attachment["kind"],
                  wait=clock_rules(services.config_dir).media_wait)


def still_waiting_for_words(session: Session, services: Services, resident: Resident, draft: dict,
                            now: datetime) -> str:
    """A greeting after media waiting for words (a voice, then 你好): the words may still follow; the wait starts
    again and the resident is asked for them."""
    pending.expect(session, resident.userid, pending.AWAIT_WORDS, draft, now)
    kinds = [attachment["kind"] for attachment in draft.get("attachments", [])]
    return render("replies/media_waiting", kind=kinds[-1] if kinds else "file", greeted=True,
                  wait=clock_rules(services.config_dir).media_wait)


def add_attachment(session: Session, convo: Conversation, attachment: dict, now: datetime) -> str:
    """More media for a waiting report; media waiting for words waits afresh."""
    data = {**convo.data, "attachments": [*convo.data.get("attachments", []), attachment]}
    pending.expect(session, convo.userid, convo.state, data,
                   now if convo.state == pending.AWAIT_WORDS else convo.updated_at)
    key = "attached_draft" if convo.state == pending.CHOOSE_CATEGORY else "attached_waiting"
    return render(f"replies/{key}", kind=attachment["kind"])


def open_other(session: Session, services: Services, resident: Resident, draft: dict,
               record: InboundMessage | None, now: datetime) -> Opened:
    """A waiting report opened as 居民诉求-其他 without the resident's choice (media only: a placeholder text)."""
    attachments = draft.get("attachments") or []
    text = draft.get("text") or render("notices/media_only_text", attachments=attachments)
    category = services.classifier().catalogue.get(OTHER)
    asked = {"asked": draft["choices"], "first": draft.get("first")} if draft.get("choices") else {}
    return open_report(session, services, resident, text, category, {"sorted_later": True, **asked},
                       _origin(session, draft, record), now, attachments=attachments, sorted_later=True)


def late_choice(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> str | None:
    """The ask-back's answer after its report was opened as 其他 without it (time-out, or the resident wrote about
    something else), within `late_choice_window`: the case takes the chosen category and is routed for it, unless a
    worker set one meanwhile (the resident is told which); a department's matter is left to the worker, with the
    answer on the case. None: `text` answers no such question."""
    case = latest_open_case_of(session, resident)
    asked = (case.classification or {}).get("asked") if case is not None and case.state in OPEN_STATES else None
    if not asked or now - case.created_at > clock_rules(services.config_dir).late_choice_window:
        return None
    chosen = read_choice(text, asked)
    in_words = chosen is None
    chosen = chosen or choice_in_words(session, services, text, asked)  # 是路灯
    if chosen is None:
        return None
    if chosen == OTHER or case.category != OTHER:  # nothing to change, or a worker sorted it already
        return render("replies/late_choice", case=case, chosen=chosen, outcome="kept", unsorted=case.category == OTHER)
    category = services.classifier().catalogue.get(chosen)
    note = render("notices/late_choice_note", chosen=chosen, words=text.strip() if in_words else "")
    if not category.grid_matter:
        tell_worker(session, case, "attach", resident.userid, now, note)
        return render("replies/late_choice", case=case, chosen=chosen, outcome="noted")
    assignee = pick_assignee(session, case.grid_id, category.name, urgent=category.urgent) if case.grid_id else None
    case_work.recategorize(session, case, Actor.for_resident(resident.userid), category, assignee, now,
                           source="ask_back", note=note, tell_reporter=False)
    if case.duplicate_of_id is not None:  # in its category, a neighbour's open case of the same matter there
        return render("replies/duplicate_linked", case=case, original=session.get(Case, case.duplicate_of_id))
    return render("replies/late_choice", case=case, chosen=chosen, outcome="sorted",
                  earlier=case_work.repeat_of_their_own(session, case))


def set_aside(session: Session, services: Services, resident: Resident, draft: dict, now: datetime) -> None:
    """Open a waiting report as 其他 and tell the resident in a message of its own (they moved on, or went quiet)."""
    tell_apart(session, resident, open_other(session, services, resident, draft, None, now))


def tell_apart(session: Session, resident: Resident, opened: Opened) -> None:
    """Tell the resident of a report opened without their answer, in a message of its own: a case waiting for its
    place asks it only while that is the question standing (a report sent instead may ask its own), else staff find
    it (the clock hands it over), one question at a time."""
    asking = pending.current(session, resident.userid)
    text = opened.reply
    if opened.case.state == CaseState.AWAITING_PLACE and (asking is None or
                                                          (asking.data or {}).get("case_id") != opened.case.id):
        text = render("notices/place_found_later", case=opened.case)
    queue_notice(session, channel=resident_channel(resident.userid), recipient=resident.userid, text=text,
                 dedupe_key=f"draft:{opened.case.id}:{resident.userid}", case_id=opened.case.id)


def settle_due(session: Session, services: Services, now: datetime) -> int:
    """Open every report whose ask-back or media wait ran out (the clock pass); how many were opened."""
    rules = clock_rules(services.config_dir)
    waits = {pending.CHOOSE_CATEGORY: rules.ask_back_timeout, pending.AWAIT_WORDS: rules.media_wait}
    settled = 0
    for state, wait in waits.items():
        due = session.execute(select(Conversation.userid, Conversation.updated_at, Conversation.data).where(
            Conversation.state == state, Conversation.updated_at <= now - wait).order_by(Conversation.updated_at))
        for userid, updated_at, draft in due.all():
            try:
                with session.begin_nested():
                    if not pending.claim(session, userid, state, updated_at):
                        continue  # answered meanwhile, or another clock process took it
                    set_aside(session, services, ensure_resident(session, userid), draft, now)
                    settled += 1
            except Exception:
                log.exception("a waiting report could not be opened", extra={"state": state})
    return settled
