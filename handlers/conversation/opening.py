"""A resident's report becomes a case: find the place, route it, link a likely duplicate, tell everyone."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from os.path import commonprefix

from sqlalchemy import String, bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from handlers.cases.authority import SYSTEM
from handlers.cases.case_notices import notify_case_opened
from handlers.cases.case_work import announce, repeat_of_their_own
from handlers.cases.records import Place, apply_action, has_no_case, open_case, registered_now
from handlers.cases.timing import clock_rules
from handlers.cases.unplaced import ask_next, place_waiting, waiting_siblings
from handlers.chat import pending
from handlers.classify import Category
from handlers.conversation.matters import Part
from handlers.departments import whistle
from handlers.places.address import (
    Designators,
    corrected,
    designators,
    in_estate,
    normalise_address,
    split_home,
)
from handlers.places.address_index import CONFIDENT, TIED_UNITS, AddressMatch
from handlers.places.routing import locate_point, pick_assignee
from handlers.registry import cache as registry
from handlers.services import Services
from handlers.texts import render
from models import Case, CaseState, Conversation, InboundMessage, Resident, Unit
from models.rows import add_inserted, built, flush_pending, held, update_loaded
from models.statements import fetch_all

# Built once: who wrote (the resident, if known) and what gridbot waits for from them (a conversation,
# if any), in one SELECT that returns a row even for someone never seen before — on the tables, run through
# the driver (`fetch_all`): plain rows, without the ORM's or the Core's result steps (`held` makes them the
# session's instances).
_ASKED = select(bindparam("userid", type_=String).label("userid")).subquery("asked")
_RESIDENTS, _CONVERSATIONS = Resident.__table__, Conversation.__table__
_RESIDENT_AND_CONVERSATION = (select(_RESIDENTS, _CONVERSATIONS).select_from(_ASKED)
                              .outerjoin(_RESIDENTS, _RESIDENTS.c.userid == _ASKED.c.userid)
                              .outerjoin(_CONVERSATIONS, _CONVERSATIONS.c.userid == _ASKED.c.userid))
_SELECTED = tuple(_RESIDENT_AND_CONVERSATION.selected_columns)  # the row's values, by column, for `held`
_PLACED_LATELY = (select(Case.unit_id, Case.id).where(Case.resident_id == bindparam("resident_id"),
                                                      Case.unit_id.is_not(None), Case.created_at >= bindparam("since"))
                  .order_by(Case.id.desc()).limit(1))


@dataclass(frozen=True)
class Opened:
    """What opening a report gave: the reply to the resident and the case (None: a department matter)."""

    reply: str
    case: Case | None


def ensure_resident(session: Session, userid: str) -> Resident:
    """The resident behind `userid`, registered on first contact."""
    return resident_and_conversation(session, userid)[0]


def resident_and_conversation(session: Session, userid: str) -> tuple[Resident, Conversation | None]:
    """The resident behind `userid` (registered on first contact, their units from the registry cache) and
    what gridbot waits for from them (`pending.current`), in one SELECT. On PostgreSQL a waiting
    conversation is read again, locked, as `pending.current` does (so the clock cannot take it meanwhile)."""
    flush_pending(session, Resident, Conversation)  # then straight to the connection: no autoflush needed
    row = dict(zip(_SELECTED, fetch_all(session, _RESIDENT_AND_CONVERSATION, {"userid": userid})[0], strict=True))
    convo = held(session, Conversation, _CONVERSATIONS, row)
    if convo is None:
        pending.found_none(session, userid)
    if convo is not None and session.get_bind().dialect.name == "postgresql":
        convo = session.get(Conversation, userid, with_for_update=True, populate_existing=True)
    resident = held(session, Resident, _RESIDENTS, row)
    if resident is None:
        resident = add_inserted(session, built(Resident, {"userid": userid}))
        registered_now(session, resident)
    for attribute, unit_id in (("unit", resident.unit_id), ("arrival_unit", resident.arrival_unit_id)):
        if attribute not in resident.__dict__:  # as if joined-loaded: no SQL when the report is placed
            set_committed_value(resident, attribute, registry.unit(session, unit_id) if unit_id else None)
    return resident, convo


def open_report(session: Session, services: Services, resident: Resident, text: str, category: Category,
                classification: dict | None, record: InboundMessage | None, now: datetime, *,
                attachments: list | None = None, sorted_later: bool = False,
                found: tuple[Place, Named] | None = None, tell: bool = True) -> Opened:
    """Open the case (or name the department), place and route it; ask for the address when unknown.

    `sorted_later`: opened as 居民诉求-其他 without the resident's choice; the reply says the
    grid worker will set the category. `found`: the place (`find_place`) when the caller looked it up.
    `tell=False`: a routed case's people are not told yet (the caller tells them, `notify_case_opened`)."""
    if not category.grid_matter:
        return _to_department(session, services, resident, text, category, classification, record, now)
    place, asked = found or find_place(session, services, resident, text, now, attachments)
    assignee = pick_assignee(session, place.grid.id, category.name, urgent=category.urgent) if place.grid else None
    rules = clock_rules(services.config_dir)
    case = open_case(session, text=text, category=category, reporter_userid=resident.userid,
                     resident=resident, place=place, assignee=assignee, now=now, rules=rules,
                     classification=classification, attachments=attachments)
    if record is not None:
        record.case_id = case.id
    if place.grid is None:
        spoken = any(attachment.get("kind") == "voice" for attachment in attachments or [])
        return Opened(ask_place(session, resident.userid, case, asked, now, spoken=spoken), case)
    original = announce(session, case, rules, now, compare=not sorted_later, tell=tell)
    if original is not None:
        return Opened(render("replies/duplicate_linked", case=case, original=original), case)
    return Opened(render("replies/case_opened", case=case, category=category, sorted_later=sorted_later,
                         earlier=repeat_of_their_own(session, case)), case)


def _to_department(session: Session, services: Services, resident: Resident, text: str, category: Category,
                   classification: dict | None, record: InboundMessage | None, now: datetime) -> Opened:
    """Not a grid matter: whistled to the department that handles it (吹哨报到), else named to the resident."""
    place = known_place(resident, now, clock_rules(services.config_dir).qr_arrival_window) or Place(None, None, None)
    case = whistle.route_to_department(session, resident.userid, resident, place, text, category, classification,
                                       now, whistle.whistle_rules(services.config_dir), clock_rules(services.config_dir))
    if case is None:
        return Opened(render("replies/department", category=category), None)
    if record is not None:
        record.case_id = case.id
    return Opened(render("replies/routed_to_department", case=case, department=case.department), case)


def known_place(resident: Resident, now: datetime, window: timedelta) -> Place | None:
    """Where a report goes without asking: the building whose QR code the resident scanned within `window`
    (they are standing there, even if bound elsewhere), else their bound unit, else the last building
    scanned; None when gridbot knows none."""
    arrival, bound = resident.arrival_unit, resident.unit
    scanned_just_now = arrival is not None and resident.arrived_at is not None and now - resident.arrived_at <= window
    if arrival is not None and arrival != bound and (scanned_just_now or bound is None):
        return Place(arrival.grid, arrival, "qr")
    return Place(bound.grid, bound, "profile") if bound is not None else None


def find_place(session: Session, services: Services, resident: Resident, text: str, now: datetime,
               attachments: list | None = None) -> tuple[Place, Named]:
    """Where the report says it is — an address in the text (`_named_in_words`), else a location the resident
    sent with it (`attachments`) — else a place known without asking (known_place: a resident bound to one
    building may report another); with what to ask when there is none of them. A pin in the grid of an estate
    named without a building, or the known building when it is one the words may mean, is the finer place."""
    window = clock_rules(services.config_dir).qr_arrival_window
    known = known_place(resident, now, window)
    named = _named_in_words(session, services, text, known.unit if known is not None else None)
    if named.place is None and known is None and (recent := _placed_lately(session, resident, now - window)):
        unit, case_id = recent
        named = _named_in_words(session, services, text, unit)  # 湖景苑5栋…, then 还有5栋电梯坏了: that 5栋
        if named.place is None and named.guess is None and not named.choices:  # nothing named: 一样 may answer
            named = replace(named, lately=(case_id, unit.address))
    if named.place is not None and named.place.unit is not None:
        return named.place, Named()
    if known is not None and not named.may_be(known.unit):
        known = None  # the words name other buildings, or another estate only not which part of it: that is asked
    for place in (_pinned(session, attachments or []), known):
        if place is not None and (named.place is None or place.grid.id == named.place.grid.id):
            return place, Named()
    return named.place or Place(None, None, None), named


def _placed_lately(session: Session, resident: Resident, since: datetime) -> tuple[Unit, int] | None:
    """The building of the resident's latest report placed at one since `since` (the estate a building number alone
    in their next report is read in), and that report's case id."""
    if has_no_case(session, resident):
        return None
    flush_pending(session, Case)
    found = fetch_all(session, _PLACED_LATELY, {"resident_id": resident.id, "since": since})
    return (registry.unit(session, found[0][0]), found[0][1]) if found else None


def _named_in_words(session: Session, services: Services, text: str, home: Unit | None) -> Named:
    """The place a report's words name (`named_place`). Where they say the resident lives (住在…, 我家是…) is the
    place only when they name no other; a building number alone (5栋门口), or one of an estate whose parts it may
    lie in (阳光小区3栋, 一期 or 二期), is read in the estate of home — the one the words give, else the resident's
    known `home` — when that reading is one of the units the words may mean (not 翠苑二期3栋 for a home in 一期). A place
    the words take back (阳光小区一期3栋，不对，是二期3栋) is not read (`corrected`)."""
    index = services.addresses.get(session)
    said_home, rest = split_home(corrected(text))
    named = named_place(session, index.match(rest, limit=TIED_UNITS), "text")
    if named.place is not None:
        return named
    said = index.match(said_home, limit=1) if said_home else []
    home = (registry.unit(session, said[0].unit_id) if said else None) or home
    if home is not None and (named.candidates or named.guess is None) and designators(normalise_address(rest)) != \
            Designators():
        within = named_place(session, index.match(in_estate(home.address, rest, True), limit=TIED_UNITS), "text")
        if within.place is not None and _among(within.place, named.candidates):
            return within
    if said_home:
        return named_place(session, index.match(text, limit=TIED_UNITS), "text")
    return named


def _among(place: Place, candidates: frozenset[int]) -> bool:
    """Whether `place` is one of the `candidates` units (any place when there are none)."""
    return not candidates or (place.unit is not None and place.unit.id in candidates)


@dataclass(frozen=True)
class Named:
    """What address matches give: a `place`; else what to ask — whether a `guess` is the place (a misspelt name),
    or, when parts of one `estate` in several grids tie (翠苑小区 without its phase), which part (`guess`, one of
    them, is the estate an answer such as 三期 is read in), or which of the `choices` (places in several grids
    that the words name alike: 从阳光小区一期3栋到湖景苑5栋); nothing named: ask for the address. `candidates`: the
    units the words name alike, when they name several (a building known otherwise stands in only among them)."""

    place: Place | None = None
    guess: Unit | None = None
    estate: str | None = None
    whole: bool = False  # the estate's parts lie in one grid: whether it is the estate is asked (a misspelt name)
    choices: tuple[str, ...] = ()
    candidates: frozenset[int] = frozenset()
    lately: tuple[int, str] | None = None  # nothing named: (the case, the address) of the resident's report just placed

    def may_be(self, unit: Unit) -> bool:
        """Whether `unit` may be the place the words mean (one of the units they name alike, if they name several):
        a resident bound to 阳光小区二期1-2栋 who writes 阳光小区一期3栋，不对，是二期3栋 means building 3, not theirs."""
        return not self.candidates or unit.id in self.candidates


_ESTATE_PART = re.compile(r"(?:[一二三四五六七八九十]+期)?[0-9a-z]+(?:-[0-9a-z]+)?(?:栋|座)$", re.IGNORECASE)
MAX_CHOICES = 3  # places named alike offered to choose from; more are asked as an address


def named_place(session: Session, matches: list[AddressMatch], source: str) -> Named:
    """The place address matches (`AddressIndex.match`, best first) give: the unit when it is clear; the grid
    when the best units all lie in one grid (湖景苑东门: the estate, whichever building); else what to ask (`Named`)."""
    if not matches:
        return Named()
    best = registry.unit(session, matches[0].unit_id)  # None: removed since indexed
    if best is None or matches[0].confident:
        return Named(Place(best.grid, best, source) if best is not None else None)
    tied = [registry.unit(session, m.unit_id) for m in matches if m.score == matches[0].score]
    if len(tied) == 1 or None in tied or len(tied) == TIED_UNITS:
        return Named(guess=best)
    one_grid = len({unit.grid_id for unit in tied}) == 1
    places, candidates = _places(tied), frozenset(unit.id for unit in tied)
    if len(places) > 1:  # several estates or hamlets, named alike (两处 in one message, a name they share)
        if matches[0].score >= CONFIDENT and one_grid:
            label = {"lat": None, "lng": None, "label": "、".join(places)}
            return Named(Place(best.grid, None, source, label), candidates=candidates)
        return Named(choices=tuple(places) if len(places) <= MAX_CHOICES else (), candidates=candidates)
    estate = commonprefix([unit.address for unit in tied]).rstrip("0123456789-")
    if matches[0].score >= CONFIDENT and one_grid:
        return Named(estate_place(best, estate, source), candidates=candidates)
    return Named(guess=best, estate=estate, whole=one_grid, candidates=candidates)


def _places(units: list[Unit]) -> list[str]:
    """The estates (or hamlets) `units` lie in, in order: a unit alone is named by its address, several units of one
    estate by what their addresses share (湖景苑1-2栋, 湖景苑3-4栋 → 湖景苑)."""
    estates: dict[str, list[str]] = {}
    for unit in units:
        part = _ESTATE_PART.search(unit.address)
        estates.setdefault(unit.address[:part.start()] if part else unit.address, []).append(unit.address)
    return [addresses[0] if len(addresses) == 1 else commonprefix(addresses).rstrip("0123456789-")
            for addresses in estates.values()]


def estate_place(unit: Unit, estate: str, source: str) -> Place:
    """An estate as the place, in the grid of its `unit` (湖景苑东门: whichever building)."""
    return Place(unit.grid, None, source, {"lat": None, "lng": None, "label": estate})


def ask_place(session: Session, userid: str, case: Case, named: Named, now: datetime, spot: str | None = None,
              spoken: bool = False) -> str:
    """The question a case without a place asks (and the state its answer is read in): which part of the estate
    named (its phase only when the building is known: the report's, or the `spot` its resident gave, kept for the
    answer), whether the guess (a unit, or an estate in one grid) is the place, or where (`spoken`: the report came
    by voice, and so may the place)."""
    if named.guess is None:
        after = {"after": named.lately[0]} if named.lately else {}  # 一样: where that report is
        pending.expect(session, userid, pending.AWAIT_ADDRESS, {"case_id": case.id, "choices": named.choices} | after,
                       now)
        if named.choices:
            return render("replies/ask_which_place", case=case, choices=named.choices)
        return render("replies/ask_address", case=case, spoken=spoken,
                      lately=named.lately[1] if named.lately else None)
    pending.expect(session, userid, pending.CONFIRM_ADDRESS,
                   {"case_id": case.id, "unit_id": named.guess.id, "estate": named.estate, "whole": named.whole}
                   | ({"spot": spot} if spot else {}), now)
    if named.estate is not None and not named.whole:
        return render("replies/ask_estate_part", case=case, estate=named.estate, building=reported_building(case, spot))
    return render("replies/confirm_address", case=case, address=named.estate or named.guess.address)


def reported_building(case: Case, spot: str | None = None) -> str | None:
    """The one building the report of `case` named (阳光小区3栋的路灯坏了: 3), or the `spot` its resident gave when asked
    (3号楼那边); None when it named none, or several."""
    words = spot or ((case.classification or {}).get("split") or {}).get("where") or case.text
    buildings = designators(normalise_address(corrected(words))).buildings
    return next(iter(buildings)) if len(buildings) == 1 else None


def _pinned(session: Session, attachments: list) -> Place | None:
    """The place of the last location among a report's attachments, when it lies in the district."""
    location = next((a for a in reversed(attachments) if a.get("kind") == "location"), None)
    return located(session, location) if location is not None else None


def located(session: Session, location: dict) -> Place | None:
    """The place of a location a resident sent (`lat`, `lng`, `label`), when it lies in the district."""
    if location["lat"] is None or location["lng"] is None:
        return None
    point = locate_point(session, location["lat"], location["lng"])
    if point is None:
        return None
    unit = registry.unit(session, point.unit_id) if point.unit_id else None
    place_of = {key: location[key] for key in ("lat", "lng", "label")}
    return Place(registry.grid(session, point.grid_id), unit, "location", place_of)


def place_report(session: Session, services: Services, resident: Resident, case: Case, place: Place,
                 now: datetime) -> str:
    """A case that waited for its address gets it from its resident: routed, its people told; the reply, which asks
    the place of the resident's other report still waiting for one, if any (its question was dropped when this one
    was asked)."""
    pending.finish(session, resident.userid)
    place_waiting(session, services, case, place, now, actor=resident.userid)
    siblings = waiting_siblings(session, case)
    for sibling in siblings:  # the other matters of its message, asked for their place with it
        place_waiting(session, services, sibling, place, now, actor=resident.userid)
    still_waiting = ask_next(session, resident.userid, case, now)  # 路灯坏了, then 垃圾没人收: the lamp is asked next
    if case.duplicate_of_id is not None:  # placed, a neighbour's open case of the same matter there
        linked = render("replies/duplicate_linked", case=case, original=session.get(Case, case.duplicate_of_id))
        more = [render("replies/siblings_placed", siblings=siblings) if siblings else "",
                render("replies/place_still_asked", case=still_waiting, after=case) if still_waiting else ""]
        return "\n".join(filter(None, [linked, *more]))
    offer_bind = resident.unit is None and place.unit is not None
    category = services.classifier().catalogue.get(case.category)
    return render("replies/case_opened", case=case, category=category, offer_bind=offer_bind, siblings=siblings,
                  still_waiting=still_waiting, earlier=repeat_of_their_own(session, case))


def _know_the_others(session: Session, case: Case, numbers: list[int]) -> None:
    """One matter of a split message keeps the other matters' case numbers (`split.others`): its worker's card
    names them, so a worker who gets two of them can tell the two cards apart and knows where the rest went."""
    split = case.classification["split"]
    others = [number for number in numbers if number != case.id]
    update_loaded(session, case, {"classification": {**case.classification, "split": {**split, "others": others}}})


def open_matters(session: Session, services: Services, resident: Resident, text: str, parts: list[Part],
                 record: InboundMessage | None, now: datetime) -> str:
    """One case per matter of a message that reports several (`matters.matters`), each classified, placed and
    routed like any report, linked to the others by a `split` event that keeps the whole message; the one reply
    lists them. A part is placed where its words (and the words before the first matter) say, else where the
    resident is known to be, else where the rest of the message says; else it waits for its place, asked once for
    all the parts (the answer places them all). A part of one matter at several places is placed where its own
    place words say, else asked on its own."""
    catalogue = services.classifier().catalogue
    categories = [catalogue.get(part.decision.category) for part in parts]
    whole: tuple[Place, Named] | None = None
    places = []
    for part, category in zip(parts, categories):
        words = part.where or part.lead + part.text
        found = find_place(session, services, resident, words, now) if category.grid_matter else None
        if found is not None and found[0].grid is None and not part.where:
            found = whole = whole or find_place(session, services, resident, text, now)
        places.append(found)
    opened = [open_report(session, services, resident, part.text, category,
                          {**part.decision.stored(), "split": _split(text, n, len(parts), part.where)},
                          record, now, found=found, tell=False)
              for n, (part, category, found) in enumerate(zip(parts, categories, places), start=1)]
    numbers = _linked(session, [each.case for each in opened], text, [part.where for part in parts], now)
    for each, category in zip(opened, categories):
        if category.grid_matter and each.case is not None:
            _tell_opened(session, each.case)
    if record is not None and numbers:
        record.case_id = numbers[0]
    # the place question asked last is the one answered: its answer places every part still waiting (place_report)
    question = next((each.reply for each in reversed(opened)
                     if each.case is not None and each.case.state == CaseState.AWAITING_PLACE), None)
    return render("replies/cases_split", matters=[(part.where or part.text, category, each.case)
                                                  for part, category, each in zip(parts, categories, opened)],
                  question=question, where=all(part.where for part in parts))


def _split(message: str, part: int, of: int, where: str) -> dict:
    """What a part's classification keeps of the message it is one part of (`split`): the whole message, its turn
    and how many, and, of one matter at several places, the words of its own place (`where`)."""
    return {"message": message, "part": part, "of": of} | ({"where": where} if where else {})


def _linked(session: Session, cases: list[Case | None], message: str, wheres: list[str], now: datetime) -> list[int]:
    """The cases of one message's parts linked: each keeps the others' numbers and gets a `split` event that keeps
    the whole message (and the part's place, for one matter at several places); their numbers."""
    numbers = [case.id for case in cases if case is not None]
    for n, (case, where) in enumerate(zip(cases, wheres), start=1):
        if case is not None:
            _know_the_others(session, case, numbers)
            apply_action(session, case, "split", actor=SYSTEM.userid, now=now,
                         note=render("notices/split_note", message=message, part=n, numbers=numbers, where=where))
    return numbers


def _tell_opened(session: Session, case: Case) -> None:
    """A routed part's people told it is open (not a part waiting for its place, nor one following a neighbour's)."""
    if case.grid_id is not None and case.duplicate_of_id is None:
        notify_case_opened(session, case.events[0])


def place_at_each(session: Session, services: Services, resident: Resident, case: Case, choices: list[str],
                  now: datetime) -> str | None:
    """The answer that the matter is at each of the places offered (两个都是, to 请问地点是A还是B？): the case placed at
    one of them, a case of its words and category opened at each other (placed, or asking which part of its estate),
    linked as one matter at several places is (湖景苑5栋和阳光小区3栋都停水了); the reply lists them. None when no place
    offered is one the case can be placed at."""
    index = services.addresses.get(session)
    named = sorted(((choice, named_place(session, index.match(choice, limit=TIED_UNITS), "asked")) for choice in choices),
                   key=lambda each: each[1].place is None)  # the case waiting is placed at the first that is a place
    if named[0][1].place is None:
        return None
    pending.finish(session, resident.userid)
    category = services.classifier().catalogue.get(case.category)
    wheres, stored = [choice for choice, _ in named], case.classification or {}

    def split(n: int) -> dict:
        return {**stored, "split": _split(case.text, n, len(wheres), wheres[n - 1])}

    others = [open_report(session, services, resident, case.text, category, split(n), None, now,
                          found=(found.place or Place(None, None, None), found), tell=False)
              for n, (_, found) in enumerate(named[1:], start=2)]
    update_loaded(session, case, {"classification": split(1)})
    _linked(session, [case, *(each.case for each in others)], case.text, wheres, now)
    place_waiting(session, services, case, named[0][1].place, now, actor=resident.userid)
    for other in others:
        _tell_opened(session, other.case)
    question = next((each.reply for each in others if each.case.state == CaseState.AWAITING_PLACE), None)
    listed = [(where, category, each) for where, each in zip(wheres, [case, *(other.case for other in others)])]
    return render("replies/cases_split", matters=listed, question=question, where=True)
