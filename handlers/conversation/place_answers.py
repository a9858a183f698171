"""Answers to the place question of a case waiting for its place: the place read from them, the question asked
again when other words interrupt it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.cases.case_notices import tell_worker
from handlers.cases.duplicates import content, place_words, shares_a_piece
from handlers.cases.lifecycle import allowed
from handlers.cases.records import Place, has_no_case
from handlers.cases.timing import clock_rules
from handlers.cases.unplaced import hand_over_now, latest_waiting
from handlers.chat import pending
from handlers.chat.case_numbers import parse_case_number
from handlers.chat.commands import (
    Command,
    estate_spot,
    fold,
    holds_words,
    is_chitchat,
    is_every_place,
    is_greeting,
    is_last_place,
    is_same_place,
    is_yes,
    parse_command,
    says_dont_know,
    says_only_near_here,
    split_number,
    without_words,
)
from handlers.conversation import contact, drafts, follow_ups, where_first
from handlers.conversation.matters import corrects_an_added_matter, matter_rules, matters
from handlers.conversation.opening import (
    TIED_UNITS,
    ask_place,
    estate_place,
    named_place,
    place_at_each,
    place_report,
    reported_building,
)
from handlers.conversation.report_pieces import just_reported, names_another_thing
from handlers.places.address import (
    Designators,
    chosen_place,
    corrected,
    correcting_words,
    designators,
    has_phases,
    in_estate,
    names_a_spot,
    normalise_address,
    says_only_spot,
    split_home,
    spot_words,
    turn_of,
    without_denied,
    without_positions,
)
from handlers.places.address_index import AddressMatch
from handlers.registry import cache as registry
from handlers.services import Services
from handlers.texts import render
from models import Case, CaseState, InboundMessage, Resident, Unit

def answer_address(session: Session, services: Services, resident: Resident, state: str, data: dict,
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
            return render("replies/ask_estate_part", case=case, estate=data["estate"],
                          building=reported_building(case, data.get("spot")))
        return place_report(session, services, resident, case, Place(unit.grid, unit, "text"), now)
    if (phone := contact.phone_alone(text)) is not None:  # 13812345678: their contact; the question stands
        return "\n".join([contact.keep_contact(session, resident, phone, now), render(
            "replies/address_still_asked", case=case, after_contact=True, **_known(session, data))])
    if (left := _left_to_staff(session, services, resident, case, data, text, now)) is not None:
        return left  # 不知道, 东门 of the estate named: staff place it, or the estate's grid takes it
    if data.get("after") and is_same_place(text) and (place := _place_of(session, data["after"])) is not None:
        return place_report(session, services, resident, case, place, now)  # 一样: where the case before it is
    if is_last_place(text) and (place := _last_place(session, resident, case)) is not None:
        return place_report(session, services, resident, case, place, now)  # 还是上次那个地方: where the last one is
    if (command := parse_command(text, "resident")) is not None:
        text = _place_added(session, services, command)  # 说错了，是5栋 / 补充 湖景苑5栋: the place asked for
        if text is None:
            return None
    # 不知道几栋，就是湖景苑里面: the estate it names; its words of not knowing say neither a place nor a matter
    said = without_words(text, "dont_know", "dont_know_fillers") if holds_words(text, "dont_know") else text
    folded, choices = corrected(without_denied(fold(said))), data.get("choices", ())
    if data.get("estate"):  # which part of the estate was asked: 二期 is the part of the building reported
        folded = _with_reported_building(case, folded, data.get("spot"))
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
            return render("replies/address_still_asked", case=case, **_known(session, data))
        spot = spot_words(text) if says_only_spot(text) else estate_spot(text)
        if spot:  # 3号楼那边, 东门: which estate's is asked, the spot kept for the answer
            pending.expect(session, resident.userid, state, {**data, "spot": spot}, now)
            return render("replies/ask_estate_of_spot", case=case, spot=spot)
        if services.addresses.get(session).roads_in(text):  # 在湖滨路上，靠近公交站: on a road, at no house of it
            return _to_staff(session, services, resident, case, data, text, now, spot=text.strip())
        asks = holds_words(text, "follow_up") or holds_words(text, "still_not")  # not 还是上次那个地方: where
        if asks and (followed := follow_ups.answer(session, services, resident, text, now, case.id)) is not None:
            return followed  # 灯的事怎么样了: another case asked after, told as 进度 is; the question stands
        reported = services.classifier().classify(text).outcome != "none"
        if not reported and holds_words(text, "question"):  # 你们是谁？ 要多久？ 啥意思: the question stands
            return render("replies/address_still_asked", case=case, **_known(session, data))
        if just_reported(session, services, resident, text, now) is case:  # more of it: the question stands
            return follow_ups.supplement(session, resident, case, text, now)
        if reported and not says_only_near_here(text):
            pending.finish(session, resident.userid)
            return None  # a new report, not an address (就在我家楼下 is neither: the estate is asked)
        if is_chitchat(text):
            return render("replies/address_still_asked", case=case, **_known(session, data))
        return render("replies/address_not_found", case=case)
    unit = registry.unit(session, matches[0].unit_id)
    matter = _matter_words(said, unit)
    if _another_matter(services, case, text, without_positions(matter), now):  # a new report naming its own place:
        # this case keeps waiting (not 湖景苑5栋，就是我家楼下: where the place is, no matter of its own)
        pending.finish(session, resident.userid)
        return None
    named = named_place(session, matches, "asked")
    told_more = len(matter) >= MATTER_MIN_CHARS  # 湖景苑3栋楼道灯坏了 for a photo: its words stay on the case
    if named.place is None:
        if told_more:
            follow_ups.supplement(session, resident, case, text, now)
        return ask_place(session, resident.userid, case, named, now, data.get("spot"))
    reply = place_report(session, services, resident, case, named.place, now)
    if told_more:  # after placing: the worker, now known, is told them
        _told_after_placing(session, resident, case, text, now)
    elif data.get("spot") and named.place.unit is None:  # 东门, then 桃源居: placed at the estate, its worker hears
        _told_after_placing(session, resident, case, data["spot"], now)  # where in it
    return reply


def _told_after_placing(session: Session, resident: Resident, case: Case, text: str, now: datetime) -> None:
    """Words of the answer that placed `case` kept for the worker of the case that handles it: its own, or the
    neighbour's case of the matter it follows, placed (merged: nothing more is added to it)."""
    handled = session.get(Case, case.duplicate_of_id) if case.duplicate_of_id else case
    if handled is not None and allowed(handled.state, "attach"):
        follow_ups.supplement(session, resident, handled, text, now)


def _left_to_staff(session: Session, services: Services, resident: Resident, case: Case, data: dict, text: str,
                   now: datetime) -> str | None:
    """The reply to an answer saying the resident cannot tell where (不知道, 我不知道是几期), or naming only a spot of
    the estate the question named (东门, 就在大门口, 停车场): an estate in one grid is the place, the words told to its
    worker; else the words are kept on the case and it goes to the staff who place reports now, not after place_wait
    (the resident may still send the building or a pin: the question stands). None for other words."""
    estate, spot = data.get("estate"), estate_spot(text)
    if not (says_dont_know(text) or estate and spot):
        return None
    if data.get("whole"):  # whichever building: the estate's grid
        unit = registry.unit(session, data["unit_id"])
        reply = place_report(session, services, resident, case, estate_place(unit, estate, "text"), now)
        _told_after_placing(session, resident, case, text.strip(), now)
        return reply
    return _to_staff(session, services, resident, case, data, text, now, spot)


def _to_staff(session: Session, services: Services, resident: Resident, case: Case, data: dict, text: str,
              now: datetime, spot: str = "") -> str:
    """The answer's words kept on the case, handed to the staff who place reports now (the question stands)."""
    tell_worker(session, case, "attach", resident.userid, now, text.strip())
    hand_over_now(session, clock_rules(services.config_dir), case, text.strip(), now)
    return render("replies/place_left_to_staff", case=case, spot=spot, **_known(session, data))


def _known(session: Session, data: dict) -> dict:
    """What the place question of `data` knows of the place, for a reply asking only the rest: the `estate` it named
    and whether that has `phases`."""
    guess = registry.unit(session, data["unit_id"]) if data.get("estate") and data.get("unit_id") else None
    return {"estate": data.get("estate"), "phases": guess is not None and has_phases(guess.address)}


def unasked_place(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> str | None:
    """A place sent alone (湖景苑5栋, 3号楼那边) with no question asking it (another came between) while a report of
    the resident still waits for its place: the answer to that report's place question; None for other words."""
    if has_no_case(session, resident) or split_home(text)[0] or not (
            says_only_spot(text) or where_first.names_only_a_place(session, services, text)):
        return None  # 我住金桂园5栋: where the resident lives, not where the report is
    case = latest_waiting(session, resident.userid)
    if case is None:
        return None
    return answer_address(session, services, resident, pending.AWAIT_ADDRESS, {"case_id": case.id}, text, now)


def _place_of(session: Session, case_id: int) -> Place | None:
    """Where case `case_id` is, as the place an answer gives (None: it has none)."""
    case = session.get(Case, case_id)
    return Place(case.grid, case.unit, "asked", case.location) if case is not None and case.grid is not None else None


def _last_place(session: Session, resident: Resident, case: Case) -> Place | None:
    """Where the resident's latest placed case before `case` is (None: they have none)."""
    last = session.scalar(select(Case.id).where(Case.reporter_userid == resident.userid, Case.id < case.id,
                                                Case.grid_id.is_not(None)).order_by(Case.id.desc()).limit(1))
    return _place_of(session, last) if last is not None else None


def _with_reported_building(case: Case, answer: str, spot: str | None) -> str:
    """An answer naming a part of an estate and no building (二期, to which part of 阳光小区 its 3栋 is) with the building
    the report named, or the `spot` the resident gave before (二期3栋), when there is one: else the building was lost
    and the case placed at the part at large."""
    asked = designators(normalise_address(answer))
    if not asked.phases or asked.buildings:
        return answer
    building = reported_building(case, spot)
    return f"{answer}{building}栋" if building is not None else answer


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
    """The words of an answer that names `unit` beside the place and the words correcting it (read as addresses are:
    阳光小去2期5洞 is 阳光小区2期5栋; 说错了，应该是 left out: they read as no report and hid the matter after them)."""
    words = correcting_words(text) or text
    return content(normalise_address(words), place_words(unit.address, unit.grid.name if unit.grid else ""))


def _another_matter(services: Services, case: Case, answer: str, rest: str, now: datetime) -> bool:
    """Whether an `answer` to `case`'s place question whose words beside the place are `rest` reports another
    matter than `case`'s (湖景苑3栋门口垃圾桶满了 while a street lamp's place is asked) rather than giving its place:
    `rest` is classified (an address alone may look like a report to the model), and the answer's matters when it
    reports several; a case to be sorted takes any matter. Once the case has gone to the placing staff (place_wait),
    a report naming nothing the case says is another matter, whatever its category (the next day's report)."""
    if len(rest) < MATTER_MIN_CHARS:
        return False
    classifier = services.classifier()
    whole = classifier.classify(answer)
    stale = now - case.created_at > clock_rules(services.config_dir).place_wait
    if stale and whole.outcome != "none" and not shares_a_piece(content(rest), content(case.text)):
        return True
    if case.category == drafts.OTHER:
        return False
    rules = matter_rules(services.config_dir)
    if corrects_an_added_matter(answer, rules):  # …。另外滨江花园一期3栋门口，说错了，应该是二期3栋，…: that matter's place
        return True
    parts = matters(classifier, answer, whole, rules)
    if parts is not None:  # 金桂园门口垃圾桶满了。另外消防通道被堵了 (split where it is written apart)
        return any(part.decision.category != case.category for part in parts)
    if names_another_thing(whole, case.text):  # of its category, but 楼道的灯坏了 while a manhole's place is asked
        return True
    decision = classifier.classify(rest)
    if decision.outcome == "match":
        return decision.category != case.category
    choices = drafts.choices_for(decision, services.classifier().catalogue)
    return decision.outcome == "ask" and case.category not in choices


def place_asked_again(session: Session, resident: Resident, case_id: int, reply: str, record: InboundMessage | None,
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
