"""A resident asking after a case in everyday words (那个路灯的事怎么样了, 上次说的还没修, 催一下): the case the words
point at answers with its progress, and an open one's worker hears that the resident asked; when the words could
mean several cases, the resident is asked which. Never a new case, never words on another case."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from handlers.cases.case_notices import tell_worker
from handlers.cases.duplicates import THING_CHARS, content, elsewhere, same_matter
from handlers.cases.records import Place, has_no_case, latest_open_case
from handlers.chat import pending
from handlers.chat.commands import (
    fold,
    holds_words,
    is_bare_number,
    is_chitchat,
    is_opener,
    is_thanks,
    without_follow_up_words,
    without_words,
)
from handlers.conversation.case_reference import (
    cases_in_play,
    finished_cases,
    followed_case,
    may_be_about_a_case,
    names_its_thing,
    pointed_at,
)
from handlers.conversation.matters import matter_rules, report_after
from handlers.conversation.opening import Named, open_report
from handlers.places.address import corrected
from handlers.registry import cache as registry
from handlers.services import Services
from handlers.texts import render
from models import OPEN_STATES, Case, CaseState, InboundMessage, Resident

CHASED_STATES = frozenset(OPEN_STATES) - {CaseState.AWAITING_PLACE}  # a case in someone's hands


def answer(session: Session, services: Services, resident: Resident, text: str, now: datetime,
           placing: int | None = None) -> str | None:
    """The reply to words asking after one of the resident's cases, or saying its matter is still or again wrong (a
    chase: 楼道灯还是不亮 while their stairwell lamp's case is open); None when they ask after none (no such words, no
    case in play, or a report of another matter, thing or place). `placing`: the case whose place the resident is
    asked for, which words not pointing at it do not ask after."""
    asks = holds_words(text, "follow_up")  # 怎么样了; or it is still not done, or back again (还是那个路灯，又不亮了)
    again = holds_words(text, "again")
    still_not = holds_words(text, "still_not") or again and holds_words(text, "refer_back")
    if not (asks or still_not or again) or not may_be_about_a_case(text) or has_no_case(session, resident):
        return None  # (a resident registered by this very message has no case to ask after: no query)
    rest = without_follow_up_words(text)
    cases = cases_in_play(session, resident.userid)
    named = pointed_at(cases, rest)
    cases = cases if named else [case for case in cases if case.id != placing]
    named = named or (_of_the_thing_named(services, cases, rest) if asks else [])
    if asks and not named and (done := pointed_at(finished_cases(session, resident.userid), rest)):
        return _progress_told(session, resident, done[0], text.strip(), now)  # 上次那个垃圾桶的事处理得怎么样了
    if not cases:
        return None
    # asking, what the words report is what is left of them (什么时候能修好 reports nothing: 修好 names no matter)
    a_report = services.classifier().classify(rest if asks else text).outcome == "match"
    chase = still_not and len(content(rest)) < THING_CHARS  # 现在都没人来修: names nothing, about the open case
    if not asks and not chase and (a_report or not still_not) and not holds_words(text, "refer_back"):
        # a report saying it is still (or again) wrong: a chase of the resident's open case of that very thing there
        # (楼道灯还是不亮 after 3栋楼道灯坏了), else a report of its own (东门路灯坏了半个月还没修)
        named = _still_wrong_there(session, services, cases, text)
        if not named:
            return None
    if not named and a_report and not chase:
        return None  # asking after another matter: a report of its own
    candidates = named or cases
    if len(candidates) > 1:
        return render("replies/follow_up_which", cases=candidates)
    return _progress_told(session, resident, candidates[0], text.strip(), now)


def developed(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> str | None:
    """Words saying the matter of the resident's open case is getting worse or is not all done (味道越来越大了,
    还没清完，门口还有一堆 after their drain's or rubbish's report), naming no place of the registry: added to the case
    they point at, else their latest in someone's hands, for its worker (the reply says how to report another
    matter). None for other words, a place named, or no such case."""
    if not holds_words(text, "worse") or not may_be_about_a_case(text) or _unit_named(session, services, text):
        return None
    cases = [case for case in cases_in_play(session, resident.userid)
             if followed_case(session, case).state in CHASED_STATES]
    named = pointed_at(cases, without_words(text, "worse")) or cases[:1]
    return supplement(session, resident, followed_case(session, named[0]), text.strip(), now) if named else None


_THING_DENIED = re.compile(r"^(?:不是|唔系)([^，,。；;！!？?\s是系]+)[，,。；;！!？?\s]*(?:而)?(?:是|系)")


def thing_corrected(session: Session, resident: Resident, text: str, now: datetime) -> str | None:
    """Words taking back what the resident's latest open case says the thing is (不是路灯，是楼道里的灯 after 3栋门口的
    路灯坏了): kept on that case for its worker, as 说错了，… is, not a case of their own. None for other words, or
    when the words they deny are not in that case's."""
    denied = _THING_DENIED.match(fold(text))
    case = latest_open_case(session, resident.userid) if denied else None
    if case is None or denied.group(1) not in fold(case.text):
        return None
    return supplement(session, resident, case, text.strip(), now)


def _unit_named(session: Session, services: Services, text: str) -> int | None:
    """The unit of the registry `text` names surely (None: none, or not surely)."""
    found = services.addresses.get(session).match(fold(text), limit=1)
    return found[0].unit_id if found and found[0].confident else None


def _of_the_thing_named(services: Services, cases: list[Case], rest: str) -> list[Case]:
    """The cases of the category that a thing named in too few characters to report anything reads as (灯 of 灯修好没有,
    路灯: no two characters shared with 楼道的灯坏了); [] for longer words, which may report a matter of their own."""
    if not 0 < len(content(rest)) <= THING_CHARS:
        return []
    decision = services.classifier().classify(rest)
    return [case for case in cases if decision.outcome == "match" and case.category == decision.category]


def _still_wrong_there(session: Session, services: Services, cases: list[Case], text: str) -> list[Case]:
    """Of the resident's `cases`, those placed and still open whose very thing `text` names at their place
    (`names_its_thing`; a place of the registry it names is theirs), whatever category the classifier reads in it
    (楼道灯 is 市政设施 or 物业管理 by the words around it). A case still waiting for its place is in nobody's hands
    yet: nothing to chase, so words of its kind again are the resident's next report."""
    named_unit = _unit_named(session, services, text)
    return [case for case in cases
            if followed_case(session, case).state in CHASED_STATES and names_its_thing(case, text)
            and named_unit in (None, case.unit_id)]


def still_wrong_when_closed(session: Session, services: Services, resident: Resident, text: str,
                            now: datetime) -> str | None:
    """Words saying the resident's case closed and waiting for their rating is still wrong (灯还是不亮 after the
    lamp's case was closed), sent when its rating is no longer asked: kept on it as when it is
    (`on_the_rated_case`); None for other words."""
    if not says_still_wrong(text) or not may_be_about_a_case(text) or has_no_case(session, resident):
        return None  # (a resident registered by this very message has no case: no query)
    case = next((case for case in cases_in_play(session, resident.userid) if case.state == CaseState.CLOSED), None)
    if case is None or not still_wrong(services, case, text):
        return None
    return on_the_rated_case(session, services, resident, case.id, text, now)


def back_again(session: Session, services: Services, resident: Resident, text: str, record: InboundMessage | None,
               now: datetime) -> str | None:
    """A matter of the resident's archived case come back (又坏了！刚修好两天扶手又掉了, 上个月反映的菜地又种回去了): a new
    case of that case's matter at its place, where the 回头件 check finds it. The case the words point at, else, when
    they point back at a report of theirs (上个月反映的), their latest archived. None for other words: no again-word, a
    place named (the report places itself), no archived case of theirs meant, or another matter the classifier is
    sure of."""
    if not holds_words(text, "again") or not may_be_about_a_case(text) \
            or services.addresses.get(session).match(fold(text), limit=1):
        return None
    finished = finished_cases(session, resident.userid)
    named = pointed_at(finished, without_follow_up_words(text))
    if not named and holds_words(text, "refer_back"):  # 上个月反映的菜地又种回去了: their latest, in other words
        named = finished[:1]
    decision = services.classifier().classify(text)
    earlier = named[0] if named else None
    if earlier is None or earlier.grid is None or decision.outcome == "match" and decision.category != earlier.category:
        return None
    classification = decision.stored() if decision.outcome == "match" else {"back_again": earlier.id}
    place = Place(earlier.grid, earlier.unit, earlier.place_source, earlier.location)
    return open_report(session, services, resident, text, services.classifier().catalogue.get(earlier.category),
                       classification, record, now, found=(place, Named())).reply


def thanked(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> str | None:
    """Thanks for a case already reported (路灯的事谢谢你们, 灯修好了，谢谢师傅): thanks with words pointing back at it or
    saying it is sorted, naming one of the resident's cases open, waiting for a rating or archived. An open case's
    worker hears the words (the resident may say it is fixed); a closed one asks the rating. None for other words
    (谢谢，楼下路灯坏了 is a report, and so are thanks going on to one: 修好了谢谢，还有个事，井盖不见了)."""
    if not holds_words(text, "thanks") or not (holds_words(text, "refer_back") or holds_words(text, "resolved")) \
            or any(holds_words(text, kind) for kind in ("still_not", "again", "follow_up")) \
            or not may_be_about_a_case(text) \
            or report_after(services.classifier(), text, matter_rules(services.config_dir)) is not None:
        return None
    words = without_words(text, "thanks", "resolved", "refer_back")
    named = pointed_at(cases_in_play(session, resident.userid), words) \
        or pointed_at(finished_cases(session, resident.userid), words)
    if not named:
        return None
    case = followed_case(session, named[0])
    told = case.state in OPEN_STATES and case.assignee is not None
    if told:
        tell_worker(session, case, "note", resident.userid, now, text.strip())
    return render("replies/thanks", case=case, told=told)


def resent(session: Session, resident: Resident, case: Case, text: str, record: InboundMessage | None,
           now: datetime) -> str | None:
    """A report sent again word for word long after its case opened (`case`, or the neighbour's it follows, still in
    someone's hands): its progress, its worker told, as a chase is; None once it closed (a report anew)."""
    if followed_case(session, case).state not in CHASED_STATES:
        return None
    if record is not None:
        record.case_id = case.id
    return _progress_told(session, resident, case, text.strip(), now)


def _progress_told(session: Session, resident: Resident, named: Case, text: str, now: datetime) -> str:
    """The progress of the case `named` is or follows (a follower reads it as its link's holder, without the
    reporter's words); the worker of an open case hears the resident's words (a chase is for them)."""
    case = followed_case(session, named)
    holder = resident.userid if case is not named else None
    told = case.state in OPEN_STATES and case.assignee is not None
    if told:
        tell_worker(session, case, "follow_up", resident.userid, now, text)
    return render("replies/followed_up", case=case, told=told, holder=holder)


def supplement(session: Session, resident: Resident, case: Case, text: str, now: datetime) -> str:
    """The resident's words added to their case and told to its worker (补充 …, more of a report just sent)."""
    tell_worker(session, case, "attach", resident.userid, now, text)
    return render("replies/case_supplemented", case=case, note=text)


def on_the_rated_case(session: Session, services: Services, resident: Resident, case_id: int, text: str,
                      now: datetime) -> str | None:
    """Words answering “请您评价” that give no rating (还是不亮啊, 跟原来一样): about the case just closed, kept on it
    for its worker, and the rating asked again; a 3 then reopens it with these words as the reason. None for
    thanks, small talk or words saying more is coming (还有个事), and for words the classifier is sure are a report
    (小区北门路灯也坏了: a report of its own, even of the same matter) unless they say the case's own matter is still
    or again wrong (路灯还是不亮)."""
    case = session.get(Case, case_id)
    if case is None or case.state != CaseState.CLOSED or is_thanks(text) or is_chitchat(text) or is_opener(text):
        return None
    if services.classifier().classify(text).outcome == "match" and not still_wrong(services, case, text):
        return None
    if _names_another_place(session, services, case, text):
        return None  # 滨江花园二期3栋有一棵大树倒了 after 湖景苑3栋's lamp: a report of its own, however it reads
    if is_bare_number(text):  # 4: no rating offered, nothing for the worker; the rating is asked again
        return render("replies/rating_words_kept", case=case, kept=False)
    tell_worker(session, case, "attach", resident.userid, now, text.strip())
    pending.expect(session, resident.userid, pending.RATE, {"case_id": case.id, "said": text.strip()}, now)
    return render("replies/rating_words_kept", case=case)


def _names_another_place(session: Session, services: Services, case: Case, text: str) -> bool:
    """Whether words name a place of the registry surely, and not the case's (another building; for a case placed at
    an estate, another grid's)."""
    found = services.addresses.get(session).match(corrected(fold(text)), limit=1)
    if not found or not found[0].confident:
        return False
    if case.unit_id is not None:
        return found[0].unit_id != case.unit_id
    return registry.unit(session, found[0].unit_id).grid_id != case.grid_id


def closing_remark(services: Services, text: str) -> bool:
    """Whether words thank us or say a matter is sorted (灯修好了，谢谢师傅, 好的谢谢) and report nothing: thanks or sorted
    words, nothing still wrong (还没修好), and no report the classifier reads in them."""
    return closing_words(text) and services.classifier().classify(text).outcome == "none"


def closing_words(text: str) -> bool:
    """Whether words hold thanks or sorted words and nothing still wrong (还没修好): a closing remark when the
    classifier reads no report in them (`closing_remark`)."""
    return not holds_words(text, "still_not") and (holds_words(text, "thanks") or holds_words(text, "resolved"))


def thanks_for_the_fix(services: Services, text: str) -> bool:
    """Whether words answering “请您评价” are thanks or a closing remark and nothing else (谢谢🙏, 修好了，谢谢你们🙏,
    好的谢谢): 满意 in the resident's words; not when they say the matter is back or still wrong (还是谢谢你们,
    还没修好)."""
    return is_thanks(text) or not holds_words(text, "again") and closing_remark(services, text)


def says_still_wrong(text: str) -> bool:
    """Whether words say something is still or again wrong (还是不亮, 又坏了), whatever they are about."""
    return holds_words(text, "again") or holds_words(text, "still_not")


def still_wrong(services: Services, case: Case, text: str) -> bool:
    """Whether words say `case`'s own matter is still or again wrong (路灯还是不亮, 门口路灯又不亮了 about a lamp): they
    point at it, or read as its category and name no other thing or spot (灯还是不亮 about 楼道的灯坏了)."""
    if not says_still_wrong(text):
        return False
    if pointed_at([case], without_follow_up_words(text)):
        return True
    decision = services.classifier().classify(text)
    return decision.outcome == "match" and decision.category == case.category and same_matter(case.text, text) \
        and not elsewhere(case.text, text)
