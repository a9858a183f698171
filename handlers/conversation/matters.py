"""A message that reports separate matters (路灯坏了，还有楼下的垃圾桶好几天没人倒): its parts, one per matter.

Conservative (config/matters.yaml): a message is split only where each part on its own is a clear report (the
classifier's sure match) of another category, or of the same category at another numbered spot (3栋 / 5栋); one
matter told in several clauses (垃圾桶满了，臭气熏天: cause and effect, place and problem) stays one. After a comma
alone a new matter needs another numbered spot or an `also` (路灯坏了，垃圾桶也满了没人收). The ordinary message costs a
regex search or two: clauses are classified only when a split mark is present. benchmarks/dev_split.py counts what
the shipped rules split among the training chat messages.

When one part is clear and another is not, nothing is split: the message stays one report as before, its whole words
on the case (or asked back, the classifier offering both matters), so the unclear matter is not lost but read by the
worker of the clear one. Words joined to a report asked back, and words sent with media, are not split either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from config.settings import SHIPPED_CONFIG_DIR
from handlers.cases.duplicates import content, elsewhere, shares_a_piece, spots
from handlers.chat.commands import fold, is_opener, word_characters
from handlers.classify import Classifier, Decision
from handlers.places.address import Designators, corrects_itself, designators, joined_places, normalise_address
from handlers.places.address_index import TIED_UNITS, AddressIndex

OTHER = "居民诉求-其他"  # a report to be sorted: never a clear matter of its own
# Two of these in the words as written, before `spots` reads the normalised text (~10 µs): a number and a spot's word
_SPOT_LIKE = re.compile(r"[0-9０-９一二三四五六七八九十两]+\s*(?:号楼|栋|幢|座|单元|层|楼|室)")


@dataclass(frozen=True)
class MatterRules:
    """config/matters.yaml: where clauses part and what a part needs to be a matter of its own."""

    separators: re.Pattern  # every place clauses part
    strong: re.Pattern  # marks, words and numbers: after them a clause of another category is a new matter
    commas: re.Pattern  # after a comma alone only a clause at another numbered spot, or one that says `also`, is
    also: re.Pattern  # a clause whose thing does “too” what the one before did (垃圾桶也满了): another matter's mark
    goes_on: re.Pattern  # a clause that goes on with the matter before it (还占了…, 万一…, …也不管)
    lists: frozenset[str]  # marks that list things: what is listed right before another matter belongs to it
    max_chars: int
    min_part_chars: int
    part_sure: float
    max_parts: int
    words: frozenset[str] = frozenset()  # the words that start another matter (还有, 顺便说下): kept in its words
    model_sure: float | None = None  # a part the model alone reads this sure of counts as clear (None: never)


@dataclass(frozen=True)
class Part:
    """One matter of a message: its words as written (a slice of the message), their decision, and the words
    before the first matter (`lead`, e.g. a place: 湖景苑3栋，) that a later part is placed with too; or, of one matter
    at several places, the whole words and the place of this part (`where`)."""

    text: str
    decision: Decision
    lead: str = ""
    where: str = ""  # one matter at several places (湖景苑5栋和阳光小区3栋都停水了): the words of this part's place


@lru_cache(maxsize=8)
def matter_rules(config_dir: Path = SHIPPED_CONFIG_DIR) -> MatterRules:
    """The rules in `config_dir/matters.yaml` (the shipped file when that folder has none), read once."""
    path = Path(config_dir) / "matters.yaml"
    data = yaml.safe_load((path if path.is_file() else SHIPPED_CONFIG_DIR / "matters.yaml").read_text("utf-8"))
    marks, commas = (f"[{''.join(map(re.escape, data[key]))}]+" for key in ("marks", "commas"))
    starts = "".join(map(re.escape, data["marks"] + data["commas"]))
    words = f"(?:^|(?<=[{starts}]))(?:{_either(data['words'])})(?![{''.join(map(re.escape, data['not_before']))}])"
    strong = "|".join([marks, words, data["numbered"]])
    not_after = "".join(f"(?<!{re.escape(word)})" for word in data["also_not_after"])
    also = f"(?:^|(?<=[{starts}]))[^{starts}]{{{data['also_after']},}}?{not_after}(?:{_either(data['also'])})"
    return MatterRules(separators=re.compile(f"{strong}|{commas}"), strong=re.compile(strong),
                       commas=re.compile(commas), also=re.compile(also),
                       goes_on=re.compile(f"^(?:{_either(data['continuations'])})|{_either(data['follow_ups'])}"),
                       lists=frozenset(data["lists"]),
                       max_chars=int(data["max_chars"]), min_part_chars=int(data["min_part_chars"]),
                       part_sure=float(data["part_sure"]), max_parts=int(data["max_parts"]), words=frozenset(data["words"]),
                       model_sure=None if data.get("model_sure") is None else float(data["model_sure"]))


def _either(words: list[str]) -> str:
    """A regex alternation of `words`, longest first."""
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


def clear_report(decision: Decision, sure: float, model_sure: float | None = None) -> bool:
    """Whether a decision is a clear report on its own: a match, not to be sorted, whose words name the matter (a
    rule of its category fired: 电梯坏了, not 好几天了, which the model alone may read as a category), the model
    (if any) giving its category `sure` or more; or, with `model_sure`, one the model alone gives that much."""
    if decision.outcome != "match" or decision.category in (None, OTHER):
        return False
    given = next((c.score for c in decision.ranking if c.category == decision.category), None)
    if not any(rule["category"] == decision.category for rule in decision.rules):
        return model_sure is not None and given is not None and given >= model_sure
    return given is None if not decision.ranking else given is not None and given >= sure


def matters(classifier: Classifier, text: str, decision: Decision, rules: MatterRules) -> list[Part] | None:
    """The separate matters `text` reports (two or more, each a clear report), or None: one matter, or no clear
    split. `decision` is the whole message's."""
    if decision.outcome == "none" or not _may_part(text, rules):
        return None
    groups = _grouped(classifier, text, rules)
    if groups is None or not 2 <= len(groups) <= rules.max_parts:
        return None
    parts: list[Part] = []
    for group in groups:
        words = text[group.start:group.end]
        alone = group.decision if words == group.first else classifier.classify(words)
        if not clear_report(alone, rules.part_sure, rules.model_sure) or alone.category != group.decision.category:
            return None  # its clauses together read otherwise: one report after all
        parts.append(Part(text[group.said:group.end], alone, groups[0].lead if parts else ""))
    return parts if _all_apart(parts, rules) else None


def parts_of(classifier: Classifier, index: AddressIndex, text: str, decision: Decision,
             rules: MatterRules) -> list[Part] | None:
    """The cases a report opens as: its separate matters, a matter at places joined a part per place (金桂园的垃圾桶满了。
    另外湖景苑6栋和明湖新村9栋都停水了: three); or one matter at several places; None: one report."""
    parts = matters(classifier, text, decision, rules)
    if parts is None:
        return places_apart(index, text, decision, rules)
    return [each for part in parts for each in _per_place(index, part, rules)]


def _per_place(index: AddressIndex, part: Part, rules: MatterRules) -> list[Part]:
    """A matter at places joined, a part per place, each of the matter's words (另外… kept), its place read without
    the word that starts the matter; else the matter."""
    word = next((word for word in sorted(rules.words, key=len, reverse=True) if part.text.startswith(word)), "")
    apart = places_apart(index, part.text[len(word):], part.decision, rules)
    return [Part(part.text, part.decision, where=each.where) for each in apart] if apart else [part]


def places_apart(index: AddressIndex, text: str, decision: Decision, rules: MatterRules) -> list[Part] | None:
    """One matter at places joined in one clause (湖景苑5栋和阳光小区3栋都停水了, 阳光小区一期3栋还有二期3栋): a part per
    place, each with the whole words, to be placed at its own; None unless the words are a report opened as it is (a
    match) and each joined piece names a place of the registry (or another phase of the estate before it) that the
    others do not (湖景苑3栋和5栋 names one estate: one case)."""
    if decision.outcome != "match" or decision.category is None:
        return None
    pieces = joined_places(text)
    if not 2 <= len(pieces) <= rules.max_parts:
        return None
    pieces = [pieces[0], *(_in_its_estate(index, before, piece) for before, piece in zip(pieces, pieces[1:]))]
    if not all(index.units_named(piece) for piece in pieces):
        return None
    units = [_best_units(index, piece) for piece in pieces]
    if any(a & b for i, a in enumerate(units) for b in units[i + 1:]):
        return None
    return [Part(text, decision, where=piece) for piece in [*pieces[:-1], _up_to_its_name(index, pieces[-1])]]


def _in_its_estate(index: AddressIndex, before: str, piece: str) -> str:
    """A joined piece naming only another phase of the estate the piece before it names (一期3栋还有二期3栋) written in
    that estate (阳光小区二期3栋); any other piece as it is."""
    names = index.names_in(before)
    if not names or index.units_named(piece):
        return piece
    own, theirs = designators(normalise_address(piece)).phases, designators(normalise_address(before)).phases
    return f"{names[-1]}{piece.strip()}" if own and theirs and not own & theirs else piece


def _best_units(index: AddressIndex, piece: str) -> frozenset[int]:
    """The units a joined piece names best (阳光小区3栋: its 3栋 of either phase; 湖景苑: every unit of it)."""
    matches = index.match(piece, limit=TIED_UNITS)
    return frozenset(m.unit_id for m in matches if m.score == matches[0].score)


def _up_to_its_name(index: AddressIndex, piece: str) -> str:
    """The last joined piece up to the end of its place name when it gives no number (金桂园都停水了 → 金桂园)."""
    if designators(normalise_address(piece)) != Designators():
        return piece
    name = index.names_in(piece)[-1]
    piece = piece.strip()
    at = fold(piece).casefold().rfind(name)
    return piece[:at + len(name)] if at >= 0 else piece


def _may_part(text: str, rules: MatterRules) -> bool:
    """Whether `text` is a chat message with a split mark: a mark, a word or a number, or commas with a later clause
    that says `also` (…，垃圾桶也满了) or two numbered spots of one kind (3栋 … 5栋)."""
    if len(word_characters(text)) > rules.max_chars:
        return False
    if rules.strong.search(text) is not None:
        return True
    if rules.commas.search(text) is None:
        return False
    return rules.also.search(text, 1) is not None or (len(_SPOT_LIKE.findall(text)) >= 2
                                                     and any(len(numbers) >= 2 for numbers in spots(text).values()))


@dataclass
class _Group:
    """Clauses read as one matter: where they lie, the clause that made them a matter (`first`, its `decision`)
    and the words before it that belonged to no matter yet (`lead`)."""

    start: int
    end: int
    first: str | None = None
    decision: Decision | None = None
    lead: str = ""
    said: int | None = None  # where its words as written start (the word that starts it: 顺便说下…); None: `start`

    def __post_init__(self) -> None:
        self.said = self.start if self.said is None else self.said


def _clauses(text: str, rules: MatterRules) -> list[tuple[int, int, bool, int]]:
    """Where the clauses of `text` lie (start, end, whether only a comma parts it from the one before, where its words
    as written start: at the word that starts it, 还有 or 顺便说下, if any), separators and spaces left out."""
    spans, start, only_commas, said = [], 0, True, None
    for found in [*rules.separators.finditer(text), None]:
        end = found.start() if found is not None else len(text)
        words = text[start:end]
        if words.strip():
            begins = start + len(words) - len(words.lstrip())
            spans.append((begins, end - len(words) + len(words.rstrip()), only_commas and bool(spans),
                          begins if said is None else said))
            only_commas, said = True, None
        if found is not None:
            start, only_commas = found.end(), only_commas and rules.commas.fullmatch(found.group()) is not None
            if said is None and found.group() in rules.words:
                said = found.start()
    return spans


def _grouped(classifier: Classifier, text: str, rules: MatterRules) -> list[_Group] | None:
    """The clauses gathered into matters: a clause that is a clear report of another category than the matter
    before it, or at another numbered spot (after a comma alone: only at another spot), starts a new one, with the
    clauses listed right before it (湖景苑8栋、桃源居3栋都停电了); every other clause goes with the matter before it
    (the words before the first matter go with it). None when some words are no clear matter."""
    clauses = _clauses(text, rules)
    if len(clauses) < 2:
        return None
    groups: list[_Group] = []
    listed: tuple[int, bool] | None = None  # the clauses listed since the last one placed: (said, after_comma)
    for (start, end, after_comma, said), following in zip(clauses, [*clauses[1:], None]):
        words = text[start:end]
        (said, after_comma), listed = listed or (said, after_comma), None  # a list and what it comes to: one clause
        if not groups:
            groups.append(_Group(start, end))
        current = groups[-1]
        before = text[current.start:current.end]
        readable = _readable(words, rules) and (not after_comma or current.decision is None
                                                or rules.also.match(words) is not None or elsewhere(before, words))
        decision = classifier.classify(words) if readable else None
        clear = decision is not None and clear_report(decision, rules.part_sure, rules.model_sure)
        if not clear and not after_comma and current.decision is not None and _SPOT_LIKE.search(words):
            groups.append(_Group(start, end, said=said))  # 另外湖景苑5栋，不对，是9栋门口…: the next matter's place
            continue
        if clear and current.first != words:
            if current.decision is None:
                if len(groups) > 1:  # 另外湖景苑8栋、桃源居3栋、明湖新村10栋都停电了: its places are its words (`said`), but
                    current.start = start  # the matter is read from its own clause: place names dilute the model
                else:
                    current.lead = text[current.start:start]
                current.end, current.first, current.decision = end, words, decision
                continue
            if _apart(before, words, decision.category != current.decision.category,
                      _announced(text[said:end], rules)):
                groups.append(_Group(start, end, words, decision, said=said))
                continue
        if current.decision is not None and following is not None and text[end:following[0]].strip() in rules.lists:
            listed = said, after_comma  # 湖景苑8栋、: it goes with what the list comes to
            continue
        current.end = end
    groups = _placed_on(groups)
    return None if any(group.decision is None for group in groups) else groups


def _placed_on(groups: list[_Group]) -> list[_Group]:
    """The groups with one that named a place but no matter after it (楼道灯坏了。3栋2单元) put back on the matter
    before it."""
    kept: list[_Group] = []
    for group in groups:
        if group.decision is None and kept:
            kept[-1].end = group.end
        else:
            kept.append(group)
    return kept


def _readable(words: str, rules: MatterRules) -> bool:
    """Whether a clause may be a matter of its own: long enough and not going on with the one before."""
    return len(word_characters(words)) >= rules.min_part_chars and rules.goes_on.search(words) is None


def _all_apart(parts: list[Part], rules: MatterRules) -> bool:
    """Whether every two parts are separate matters (`_apart`)."""
    return all(_apart(a.text, b.text, a.decision.category != b.decision.category, _announced(b.text, rules))
               for i, a in enumerate(parts) for b in parts[i + 1:])


def _announced(words: str, rules: MatterRules) -> bool:
    """Whether a matter's words as written say it is another one: they start with a word that adds a matter (另外,
    顺便说下); 还有 only with a thing “also” in trouble (还有门禁也刷不开: not 还有很多蚊子, which says what else is there)."""
    word = next((word for word in sorted(rules.words, key=len, reverse=True) if words.startswith(word)), None)
    return word is not None and (not word.startswith("还有") or rules.also.search(words[len(word):]) is not None)


def _apart(first: str, second: str, other_category: bool, announced: bool) -> bool:
    """Whether the words of two matters are separate matters: of other categories, at other numbered spots, or, the
    second `announced` as another (另外, 还有), about another thing (井盖压坏了。另外小区的路灯也不亮了)."""
    return other_category or elsewhere(first, second) or \
        announced and not shares_a_piece(content(first), content(second))


def later_clauses(text: str, rules: MatterRules) -> list[tuple[int, int, str]]:
    """Each clause of `text` after the first: where the words before it end, where it starts as written (at the word
    that starts it: 另外, 还有), and its words; where words about a case (a rating, its reason) may go on to a matter
    of its own."""
    spans = _clauses(text, rules)
    return [(before[1], said, text[start:end]) for before, (start, end, _, said) in zip(spans, spans[1:])]


def a_matter_apart(classifier: Classifier, tail: str, clause: str, category: str, about: str, rules: MatterRules, *,
                   done: bool) -> bool:
    """Whether `tail`, the words from `clause` on after words about a case of `category` reported as `about`, is a
    matter of its own: a clear report whose first matter (灯还是不亮 of 灯还是不亮。另外…) is of another category, at
    another numbered spot, or started by a word that adds a matter (另外, 还有). `done`: the case is settled (满意), so
    any clear report is another matter."""
    decision = classifier.classify(tail)
    if not _readable(clause, rules) or not clear_report(decision, rules.part_sure, rules.model_sure):
        return False
    first = (matters(classifier, tail, decision, rules) or [Part(tail, decision)])[0]
    started = any(tail.startswith(word) for word in rules.words)
    return done or started or first.decision.category != category or elsewhere(about, first.text)


def corrects_an_added_matter(text: str, rules: MatterRules) -> bool:
    """Whether the correction in `text` takes back a place named after a word that adds a matter (另外, 还有): that
    matter's own place, neither a correction nor the answer of an earlier case's place (小区的消防通道被堵死了。另外
    滨江花园一期3栋门口，说错了，应该是二期3栋，有一棵大树倒在路中间: the tree's place corrected, not the fire lane's)."""
    return any(text.startswith(word, said) and corrects_itself(text[said:])
               for _, said, _ in later_clauses(text, rules) for word in rules.words)


def report_after(classifier: Classifier, text: str, rules: MatterRules) -> str | None:
    """In words that read as no report as a whole, the words from the first later clause on that are a clear report,
    or any report the classifier reads (asked back when unsure) after words saying one comes (还有个事, 另外) (修好了谢谢，
    还有个事，湖景苑3栋楼道的灯坏了: the thanks first, and the whole read as thanks); None when none is."""
    previous = text
    for _, said, clause in later_clauses(text, rules):
        tail, decision = text[said:], classifier.classify(text[said:])
        announced = is_opener(previous) or any(tail.startswith(word) for word in rules.words)
        if _readable(clause, rules) and (clear_report(decision, rules.part_sure, rules.model_sure)
                                         or announced and decision.outcome != "none"):
            return tail
        previous = clause
    return None
