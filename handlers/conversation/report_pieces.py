"""A report typed in several messages: which short texts sent after it, or while it is asked back, are more of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.cases.records import has_no_case, latest_open_case
from handlers.cases.timing import clock_rules
from handlers.chat.commands import (
    announces_a_matter,
    clarifies,
    fold,
    is_greeting,
    is_thanks,
    is_yes,
    parse_command,
    says_only_where,
    spread_subject,
    word_characters,
)
from handlers.classify import Decision
from handlers.conversation.matters import clear_report, later_clauses, matter_rules
from handlers.services import Services
from models import Case, CaseState, Resident

PIECE_CHARS = 8  # a report asked back this short (我们楼下) is a piece of one typed in several messages
FOLLOW_UP_CHARS = 6  # a text this short, just after a report itself short, may be more of it (满了好几天了);
# a longer one is a sentence of its own (院子里天天有野猫出没), a report of its own
SHORT_REPORT_CHARS = 16  # ... a report this short may go on in the next messages; a whole one is done


def a_piece(services: Services, asked: str, text: str) -> bool:
    """Whether words sent while the report `asked` is asked back are more of it: no command, greeting, yes or
    thanks; and either `asked` is a mere piece (我们楼下, then 那个垃圾桶) or a matter announced (想投诉一下楼下烧烤店的事,
    then its details) or the words say what it was (就是空调外机，嗡嗡的) or are no report the classifier is sure of on
    their own (one it is sure of, after a whole report, is new: the resident moved on)."""
    if parse_command(text, "resident") is not None or is_greeting(text) or is_yes(text) or is_thanks(text):
        return False
    return len(word_characters(asked)) <= PIECE_CHARS or announces_a_matter(asked) or clarifies(text) or \
        services.classifier().classify(text).outcome != "match"


def just_reported(session: Session, services: Services, resident: Resident, text: str, now: datetime,
                  alone: Decision | None = None) -> Case | None:
    """The case the resident reported moments ago (lifecycle.yaml's pieces_window) in a few words that `text` is
    more of: a short text (满了好几天了, 都没人来收) naming no place of its own, no clear report of another category on
    its own (停水了 after a street lamp: `alone`, the text's decision when known), with which the case's words still
    read as its category; or a longer one the classifier cannot read as a report of its own (晚上黑漆漆的老人家不敢出门
    after 金桂园3栋楼下路灯坏了: it would be asked back) and no rule of another category reads. A report typed in
    several messages is one case, not one per line; after a whole report (more than SHORT_REPORT_CHARS) a new short text is a new report. A case the resident
    reopened (不满意) moments ago takes any few words naming no place (还在漏: why it is not done); so does one
    whose matter the words say has spread (`_spread_from`: 水都漫到一楼了 after a burst pipe's report)."""
    if (spread := _spread_from(session, services, resident, text, now)) is not None:
        return spread
    longer = len(word_characters(text)) > FOLLOW_UP_CHARS
    if longer:
        announced = _announced(session, services, resident, text, now, alone)
        alone = alone or services.classifier().classify(text)
        if announced is not None or alone.outcome != "ask":
            return announced  # a sentence the classifier reads (院子里天天有野猫出没), or none: not more of a report
    case = latest_open_case(session, resident.userid)
    window = clock_rules(services.config_dir).pieces_window
    if not longer and case is not None and _reopened_by(case, resident.userid, now - window):
        return None if services.addresses.get(session).match(fold(text), limit=1) else case
    if case is None or now - case.created_at > window or len(word_characters(case.text)) > SHORT_REPORT_CHARS:
        return None
    if services.addresses.get(session).match(fold(text), limit=1):
        return None  # a place of its own: another report, or the answer to the address question
    alone, rules = alone or services.classifier().classify(text), matter_rules(services.config_dir)
    if alone.category != case.category and clear_report(alone, rules.part_sure, rules.model_sure) and \
            not says_only_where(text):
        return None  # a new matter of its own (电梯坏了, 水管爆了 after a street lamp), however short; not 东门那边
    if names_another_thing(alone, case.text):
        return None  # 楼道灯不亮了 after 健身器材坏了: of one category, but another thing
    if longer and any(rule["category"] != case.category for rule in alone.rules):
        return None  # a sentence whose own words are another category's (楼下那家店的味道和动静都很大): its own report
    return case if services.classifier().classify(f"{case.text} {text}").category == case.category else None


def _spread_from(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> Case | None:
    """The case the resident reported moments ago (pieces_window), however long its words, whose matter `text` says
    has spread (水都漫到一楼了, 污水都流到路上了 after a burst pipe's report), even reading as another category on its
    own: what spread, when named, is in the report's words; no place of the registry and no later matter of its own
    (水漫到一楼了，另外电梯也坏了) in `text`."""
    subject = spread_subject(text)
    if subject is None or has_no_case(session, resident):
        return None
    case = latest_open_case(session, resident.userid)
    if case is None or now - case.created_at > clock_rules(services.config_dir).pieces_window or \
            subject not in fold(case.text).lower():
        return None
    classifier, rules = services.classifier(), matter_rules(services.config_dir)
    if services.addresses.get(session).match(fold(text), limit=1) or any(
            clear_report(classifier.classify(clause), rules.part_sure, rules.model_sure)
            for _, _, clause in later_clauses(text, rules)):
        return None
    return case


def _announced(session: Session, services: Services, resident: Resident, text: str, now: datetime,
               alone: Decision | None) -> Case | None:
    """The case the resident opened moments ago (lifecycle.yaml's details_window) by announcing its matter (我想反映一下
    我们小区物业乱收费的问题), still waiting for its place, of which `text` gives the details (停车费一个月涨了200块也不开会):
    naming no place of its own and no clear report of another category."""
    if has_no_case(session, resident):
        return None
    case = latest_open_case(session, resident.userid)
    if case is None or case.state != CaseState.AWAITING_PLACE or not announces_a_matter(case.text) or \
            now - case.created_at > clock_rules(services.config_dir).details_window:
        return None
    if services.addresses.get(session).match(fold(text), limit=1):
        return None  # a place of its own: the answer to the address question, or another report
    alone, rules = alone or services.classifier().classify(text), matter_rules(services.config_dir)
    return None if alone.category != case.category and clear_report(alone, rules.part_sure, rules.model_sure) \
        else case


def names_another_thing(decision: Decision, earlier: str) -> bool:
    """Whether words name a thing and what is wrong with it (a rule of their category requiring both fired: 灯 and
    不亮), neither of which the report `earlier` says (楼道灯不亮了 after 健身器材坏了): a matter of its own."""
    named = [part for rule in decision.rules if rule["kind"] == "all" and rule["category"] == decision.category
             for part in rule["match"].split("+")]
    return bool(named) and not any(part in fold(earlier) for part in named)


def _reopened_by(case: Case, userid: str, since: datetime) -> bool:
    """Whether `userid` reopened `case` (不满意) since `since`."""
    return case.state == CaseState.IN_PROGRESS and any(
        event.action == "reopen" and event.actor == userid and event.at >= since for event in case.events[-3:])
