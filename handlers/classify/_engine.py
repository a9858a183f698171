"""The classifier: rules (one Aho-Corasick pass for every exact term, rapidfuzz for fuzzy phrases,
exclusions masking the hits they cover, a threshold + margin) beside a learned model. In a letter
(longer than `urgent_length`) an urgent category's rules count only in its first `urgent_opening`
characters (`Catalogue.urgent_cut`): deeper in, an emergency word is background, not a danger.

How the two decide together (`Classifier.classify`), when the rule set has labelled examples:
- the rules decide when they match (top score >= threshold, clear margin), unless the model
  gives another category at least `model_overrule` and the rules' category fired no priority
  (emergency) rule; a category whose exclusion fired is never the model's choice; in a text
  that is not long (`long_text`: a chat message) that the model disputes (the rules' category under `model_dispute`,
  its own top at `model_rival` or more; not when the rules scored `rules_sure` or more) the resident is asked, the
  rules' category first;
- otherwise the model decides: its top category at `model_match` or more is a match; `无`
  (not a report) first, at `model_none` or more, is `none`; else the resident is
  asked with the model's top three categories;
- a long text (`long_text` normalised characters or more: a letter, not a chat message) uses
  `long_overrule` and `long_match` instead of `model_overrule` and `model_match` (`Catalogue.model_thresholds`);
  with `long_rules` set, a long text's rules and model are weighed together instead (`Classifier._weighed`:
  the model's logits scaled, each category's capped rule score and its `long_bias` added, and with
  `long_title` a title model's logits (`_model.title`), with `long_letters` a letters model's logits (trained on
  the long examples alone) and with `long_signal` the `department_signals` found; an emergency rule's match still
  stands); the decision's ranking is then that weighed probability;
- the model reads a chat message with its homophone typos corrected (`_spell.Speller`: a character in no bigram
  the model saw becomes the homophone that makes a frequent one), the rules and the stored text as written;
- two matters in one chat message (`Classifier._two_matters`, with `two_matters` set): when a clause of it reads
  as another category (the model's top at `two_matters` or more), the resident is asked with both matters among
  the choices, unless the message was matched surely (an emergency rule, or the model giving the matched category
  `two_sure` or more; a `rules_sure` match is asked too: it is sure of one matter, not that there is no other);
  a model-decided ask also offers the rules' category.
Without examples the rules decide alone, as before.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import ahocorasick
from rapidfuzz import fuzz

from handlers.classify._catalogue import Catalogue
from handlers.classify._examples import check_examples, read_example_files
from handlers.classify._model import (LETTERS_OPTIONS, NONE_LABEL, TITLE_OPTIONS, Candidate, ModelOptions, TextModel,
                                     cached_model, title)
from handlers.classify._normalise import normalise
from handlers.classify._pinyin import char_span, to_pinyin
from handlers.classify._rules import Rule, parse_rules, read_config
from handlers.classify._spell import Speller

Span = tuple[int, int]
RANKED = 6  # classes of the model's ranking kept in a decision (the top choices and 无)
# Where a chat message's clauses part: sentence ends and the words that add a further matter (not commas:
# "灯坏了，好几天了" is one matter told in two parts).
_CLAUSES = re.compile(r"[。！？；!?;\n]+|还有|另外|而且|顺便|再就是|同时|還有|順便")
_CLAUSE_MIN = 4  # normalised characters a clause needs to be read on its own
# Texts whose decisions a classifier keeps: one message's words are put to several checks that each ask for a
# decision (a chase, a withdrawal, words while a question is open: three or four times the same text).
REMEMBERED = 64


@dataclass(frozen=True)
class Decision:
    """What the classifier decided and why (`rules`: every rule that fired, with span and score). Frozen: the
    classifier hands the decision of a text it has just read out again (`Classifier.classify`), so nobody may
    change it; its lists are shared as well and are read only."""

    category: str | None
    outcome: str  # "match" | "ask" | "none"
    score: float
    candidates: list[Candidate]
    rules: list[dict]
    normalised: str
    grid_matter: bool | None = None
    decided_by: str = "rules"  # "rules" | "model"
    ranking: list[Candidate] = field(default_factory=list)  # the model's probability of every class
    explain: Callable[[], list[dict]] | None = field(default=None, repr=False, compare=False)

    def model_features(self) -> list[dict]:
        """The features that weighed most in the model for the chosen (else its top) category."""
        return self.explain() if self.explain is not None else []

    def to_json(self) -> dict:
        """The `gridbot classify --json` object (CONTRACT.md) plus outcome, normalised text and the model's view."""
        decision = self.stored()
        if decision["model"] is not None:
            decision["model"]["features"] = self.model_features()
        return decision

    def stored(self) -> dict:
        """What a case keeps of its decision: `to_json()` but the model's features — the console's 分类依据
        (`explain_decision`) reads the rules, the score and the model's ranking; the features, shown live by
        `gridbot classify` and the rule editor only, cost ~3 % of a report's processing to compute."""
        return {
            "category": self.category,
            "grid_matter": self.grid_matter,
            "score": round(self.score, 3),
            "outcome": self.outcome,
            "candidates": [{"category": c.category, "score": round(c.score, 3)} for c in self.candidates],
            "rules": [{**rule, "span": list(rule["span"])} for rule in self.rules],  # the case's own copy
            "normalised": self.normalised,
            "decided_by": self.decided_by,
            "model": {"ranking": [{"category": c.category, "probability": round(c.score, 3)}
                                  for c in self.ranking[:5]]} if self.ranking else None,
        }


@dataclass
class _Fired:
    rule: Rule
    score: float
    span: Span
    match: str

    def explain(self) -> dict:
        return {"id": self.rule.id, "category": self.rule.category, "kind": self.rule.kind,
                "match": self.match, "span": list(self.span), "score": round(self.score, 3)}


@dataclass
class _Tally:
    score: float = 0.0
    priority: int = 0
    fired: list[_Fired] = field(default_factory=list)


class Classifier:
    """A validated catalogue + rule set, compiled for matching.

    Build it from a config dir (`from_dir`) or from in-memory mappings (`from_data`);
    `to_data()` gives the mappings back, e.g. for the console to edit a draft.
    """

    def __init__(self, catalogue: Catalogue, rules: list[Rule], rules_data: dict[str, list],
                 examples: list[dict] | None = None, options: ModelOptions = ModelOptions()) -> None:
        self.catalogue = catalogue
        self.rules = rules
        self._rules_data = rules_data
        self._examples = examples or []
        pairs = check_examples(catalogue, self._examples)
        labels = {label for _, label in pairs}
        texts = [normalise(text) for text, _ in pairs]
        self.model: TextModel | None = cached_model(texts, [label for _, label in pairs], options) \
            if len(labels) >= 2 else None
        classes = self.model.classes if self.model is not None else []
        self._long_bias = [catalogue.get(name).long_bias if name in catalogue else 0.0 for name in classes]
        self._departments = [name in catalogue and not catalogue.get(name).grid_matter for name in classes]
        # homophone typos corrected for the model's view of a chat message (`_spell`)
        self._speller = Speller(self.model.vocabulary, self.model.idf, len(texts)) if self.model is not None else None
        self.title_model: TextModel | None = None  # see Catalogue.long_title
        if self.model is not None and catalogue.long_title and catalogue.long_rules:
            titles = [normalise(title(text)) if catalogue.is_long(normalised) else normalised
                      for (text, _), normalised in zip(pairs, texts)]
            self.title_model = cached_model(titles, [label for _, label in pairs], TITLE_OPTIONS)
            self._title_columns = _columns(self.title_model, classes)
        self.letters_model: TextModel | None = None  # see Catalogue.long_letters
        if self.model is not None and catalogue.long_letters and catalogue.long_rules:
            long = [(normalised, label) for (_, label), normalised in zip(pairs, texts) if catalogue.is_long(normalised)]
            if len({label for _, label in long}) >= 2:
                self.letters_model = cached_model([text for text, _ in long], [label for _, label in long],
                                                  LETTERS_OPTIONS)
                self._letters_columns = _columns(self.letters_model, classes)
        self._signals = re.compile("|".join(re.escape(normalise(term)) for term in sorted(
            catalogue.department_signals, key=len, reverse=True))) if catalogue.department_signals else None
        self._terms = _build_term_automaton(rules)
        self._homophones = _build_homophone_automaton(rules)
        self._urgent = frozenset(category.name for category in catalogue if category.urgent)
        self._fuzzy = [(rule, phrase) for rule in rules if rule.kind == "fuzzy" for phrase in rule.terms]
        self._bigrams = _build_bigram_automaton(self._fuzzy)
        self._remembered = lru_cache(maxsize=REMEMBERED)(self._classify)

    @classmethod
    def from_data(cls, catalogue: dict, rules: dict[str, list], sources: dict[str, str] | None = None,
                  examples: list[dict] | None = None) -> Classifier:
        """A classifier from a catalogue mapping, `{category: [rule, ...]}` and labelled examples
        (`[{"text", "label", "source"}]`, see `_examples`), validated; the model is trained here."""
        parsed_catalogue = Catalogue.from_data(catalogue, source=(sources or {}).get("", "<data>"))
        parsed = parse_rules(parsed_catalogue, rules, sources)
        return cls(parsed_catalogue, parsed, _snapshot(rules), _snapshot(examples or []))

    @classmethod
    def from_dir(cls, config_dir: Path) -> Classifier:
        """A classifier from `catalogue.yaml`, `rules/*.yaml` and `examples/*.csv` in `config_dir`."""
        catalogue, rules, sources = read_config(config_dir)
        return cls.from_data(catalogue, rules, {"": str(config_dir / "catalogue.yaml"), **sources},
                             read_example_files(config_dir))

    def to_data(self) -> tuple[dict, dict[str, list]]:
        """(catalogue mapping, rules by category): the inverse of `from_data` (see `examples()`)."""
        return _snapshot(self.catalogue.data), _snapshot(self._rules_data)

    def examples(self) -> list[dict]:
        """A copy of the labelled examples the model was trained on."""
        return _snapshot(self._examples)

    def to_dict(self) -> dict:
        """The whole rule set as one JSON-able mapping `{"catalogue", "rules", "examples"}`."""
        catalogue, rules = self.to_data()
        return {"catalogue": catalogue, "rules": rules, "examples": self.examples()}

    @classmethod
    def from_dict(cls, data: dict) -> Classifier:
        """The inverse of `to_dict` (validated)."""
        return cls.from_data(data.get("catalogue"), data.get("rules") or {}, examples=data.get("examples") or [])

    def with_examples(self, extra: list[dict]) -> Classifier:
        """A new classifier whose model is also trained on `extra` (`{"text", "label"[, "source"]}`),
        e.g. corrections; the rules are the same."""
        return Classifier(self.catalogue, self.rules, self._rules_data, self._examples + _snapshot(extra))

    def rank(self, text: str) -> list[Candidate]:
        """Every class the model knows, most probable first (score = calibrated probability;
        `无` = not a report). Empty without a model."""
        if self.model is None:
            return []
        return self.model.ranking(normalise(text))

    def classify(self, text: str) -> Decision:
        """Classify one message; the decision explains itself. The decisions of the last `REMEMBERED` texts are
        kept and handed out again (a `Decision` is frozen)."""
        return self._remembered(text)

    def _classify(self, text: str) -> Decision:
        normalised = normalise(text)
        tallies = self._score(normalised)
        ruled = self._rules_decision(normalised, tallies)
        return ruled if self.model is None else self._hybrid(ruled, text, normalised, tallies)

    def _rules_decision(self, normalised: str, tallies: dict[str, _Tally]) -> Decision:
        ranked = sorted(((name, t) for name, t in tallies.items() if t.score > 0),
                        key=lambda item: (item[1].priority, item[1].score,
                                          self.catalogue.get(item[0]).priority), reverse=True)
        fired = [f.explain() for _, t in sorted(tallies.items(), key=lambda i: -i[1].score) for f in t.fired]
        if not ranked or ranked[0][1].score < self.catalogue.ask_threshold:
            candidates = [Candidate(name, t.score) for name, t in ranked[:3]]
            return Decision(None, "none", ranked[0][1].score if ranked else 0.0, candidates, fired, normalised,
                            grid_matter=False)
        (top, best), rest = ranked[0], ranked[1:]
        candidates = [Candidate(name, t.score) for name, t in rest[:3]]
        rival = max((t.score for _, t in rest if t.priority == best.priority), default=0.0)
        clear = best.score - rival >= self.catalogue.margin * best.score
        outcome = "match" if best.score >= self.catalogue.threshold and clear else "ask"
        return Decision(top, outcome, best.score, candidates, fired, normalised,
                        grid_matter=self.catalogue.get(top).grid_matter)

    def _hybrid(self, ruled: Decision, text: str, normalised: str, tallies: dict[str, _Tally]) -> Decision:
        """Rules where they are sure (emergencies and exclusions always), the model elsewhere."""
        catalogue = self.catalogue
        blocked = [name for name, tally in tallies.items()  # an exclusion that fired rules its category out
                   if any(fired.rule.kind == "exclude" for fired in tally.fired)]
        if catalogue.long_rules and catalogue.is_long(normalised):
            return self._weighed(ruled, text, normalised, tallies, blocked)
        seen = self._speller.correct(normalised)  # the model's view: homophone typos corrected
        ranking = self.model.ranking(seen, blocked, RANKED)
        matters = [c for c in ranking if c.category != NONE_LABEL]
        model_match, model_overrule = catalogue.model_thresholds(normalised)
        if ruled.outcome == "match":
            urgent = tallies[ruled.category].priority > 0
            rival = matters[0] if matters else None
            if urgent or rival is None or rival.category == ruled.category or rival.score < model_overrule:
                outcome = "ask" if not urgent and _disputed(catalogue, normalised, ruled, matters) else "match"
                decided = self._decided(ruled, ruled.category, outcome, ruled.score, "rules", ranking, seen)
                # a rules_sure match too: the rules being sure of one matter says nothing of a second one
                return decided if urgent else self._two_matters(decided, text, blocked)
        if ranking and ranking[0].category == NONE_LABEL and ranking[0].score >= catalogue.model_none:
            return self._decided(ruled, None, "none", ranking[0].score, "model", ranking, seen)
        if not matters:
            return ruled
        outcome = "match" if matters[0].score >= model_match else "ask"
        decided = self._decided(ruled, matters[0].category, outcome, matters[0].score, "model", ranking, seen,
                                also=ruled.category if catalogue.two_matters else None)
        return self._two_matters(decided, text, blocked)

    def _two_matters(self, decided: Decision, text: str, blocked: list[str]) -> Decision:
        """A chat message that tells two matters: when one of its clauses (`_CLAUSES`) reads as another category
        than the decided one (the model's top, at `two_matters` or more), that category becomes the ask-back's
        second choice, and a match the model is not sure of (it gives the category under `two_sure`) is asked."""
        catalogue = self.catalogue
        if not catalogue.two_matters or decided.category is None:
            return decided
        if decided.outcome == "match":
            given = next((c.score for c in decided.ranking if c.category == decided.category), 0.0)
            if given >= catalogue.two_sure:
                return decided
        second = self._other_matter(text, decided.category, blocked)
        if second is None:
            return decided
        return replace(decided, outcome="ask", candidates=[Candidate(second, 0.0),
                                                           *(c for c in decided.candidates if c.category != second)][:3])

    def _other_matter(self, text: str, category: str, blocked: list[str]) -> str | None:
        """The first category other than `category` (and 无) that a clause of `text` reads as at `two_matters` or
        more; None for a text of one clause."""
        pieces = _CLAUSES.split(text)
        if len(pieces) < 2:  # one clause: nothing to normalise again
            return None
        clauses = [clause for clause in map(normalise, pieces) if len(clause) >= _CLAUSE_MIN]
        if len(clauses) < 2:
            return None
        for clause in clauses:
            top = self.model.ranking(clause, blocked, 1)
            if top and top[0].category not in (category, NONE_LABEL) and top[0].score >= self.catalogue.two_matters:
                return top[0].category
        return None

    def _letter_offsets(self, text: str, normalised: str, tallies: dict[str, _Tally]) -> list[float]:
        """What a long text's categories score beside the model's scaled logits (in the model's class order):
        `long_rules` x the capped rule score + `long_bias`, + `long_title` x the title model's logit of the
        text's `title`, + `long_letters` x the letters model's logit of the text, + `long_signal` x ln(1 + the
        `department_signals` found) for every department."""
        catalogue = self.catalogue
        weight, cap = catalogue.long_rules, catalogue.long_rule_cap
        offsets = [bias + weight * min(max(tally.score, 0.0), cap) if (tally := tallies.get(name)) else bias
                   for name, bias in zip(self.model.classes, self._long_bias)]
        if self.title_model is not None:
            offsets = _voted(offsets, catalogue.long_title, self.title_model, normalise(title(text)),
                             self._title_columns)
        if self.letters_model is not None:
            offsets = _voted(offsets, catalogue.long_letters, self.letters_model, normalised, self._letters_columns)
        found = len(self._signals.findall(normalised)) if self._signals is not None and catalogue.long_signal else 0
        if found:
            signal = catalogue.long_signal * math.log1p(found)
            offsets = [offset + signal if department else offset
                       for offset, department in zip(offsets, self._departments)]
        return offsets

    def _weighed(self, ruled: Decision, text: str, normalised: str, tallies: dict[str, _Tally],
                 blocked: list[str]) -> Decision:
        """A long text (a letter): an emergency rule's match stands; otherwise every category scores
        `long_scale` x the model's logit + its offset (`_letter_offsets`: rules, bias, title, signals), and
        their softmax decides as the model alone would (`long_match`, `model_none`). It is decided by the
        rules when their match wins, else by the model."""
        catalogue = self.catalogue
        if ruled.outcome == "match" and tallies[ruled.category].priority > 0:
            return self._decided(ruled, ruled.category, "match", ruled.score, "rules",
                                 self.model.ranking(normalised, blocked, RANKED), normalised)
        offsets = self._letter_offsets(text, normalised, tallies)
        ranking = self.model.ranking(normalised, blocked, RANKED, (catalogue.long_scale, offsets))
        if ranking and ranking[0].category == NONE_LABEL and ranking[0].score >= catalogue.model_none:
            return self._decided(ruled, None, "none", ranking[0].score, "model", ranking, normalised)
        matters = [c for c in ranking if c.category != NONE_LABEL]
        if not matters:
            return ruled
        top = matters[0]
        by = "rules" if ruled.outcome == "match" and ruled.category == top.category else "model"
        outcome = "match" if top.score >= catalogue.long_match else "ask"
        return self._decided(ruled, top.category, outcome, top.score, by, ranking, normalised)

    def _decided(self, ruled: Decision, category: str | None, outcome: str, score: float, by: str,
                 ranking: list[Candidate], seen: str, also: str | None = None) -> Decision:
        """The decision for `category`; its other choices are the ranking's next, and when asking, `also`
        (e.g. the rules' category, where the model decided) comes first among them. `seen`: the text the model
        ranked (its features explain the decision)."""
        others = [c for c in ranking if c.category not in (category, NONE_LABEL)][:3]
        if also and outcome == "ask" and also != category:
            given = next((c for c in others if c.category == also), Candidate(also, 0.0))
            others = [given, *(c for c in others if c.category != also)][:3]
        explained = category or (ranking[0].category if ranking else None)
        return Decision(category, outcome, score, others, ruled.rules, ruled.normalised,
                        grid_matter=self.catalogue.get(category).grid_matter if category else False,
                        decided_by=by, ranking=ranking,
                        explain=partial(self.model.explain, seen, explained) if explained else None)

    def _score(self, text: str) -> dict[str, _Tally]:
        hits: dict[int, list[tuple[Span, str, int]]] = defaultdict(list)
        if self._terms is not None:
            for end, (term, entries) in self._terms.iter(text):
                span = (end - len(term) + 1, end + 1)
                for index, slot in entries:
                    hits[index].append((span, term, slot))
        if self._homophones is not None:
            sounds = to_pinyin(text)
            for end, (term, entries) in self._homophones.iter(sounds):
                span = char_span(sounds, end, term)
                heard = text[span[0]:span[1]]
                for index, original in entries:
                    if heard != original:
                        hits[index].append((span, f"{heard}≈{original}", -1))
        masks: dict[str, list[Span]] = {}  # the spans of each category's fired exclusions (most texts: none)
        for index, found in hits.items():
            if self.rules[index].kind == "exclude":
                masks.setdefault(self.rules[index].category, []).extend(span for span, _, _ in found)
        cut = self.catalogue.urgent_cut(text)  # urgent categories' hits from here on are incidental (a letter)
        tallies: dict[str, _Tally] = defaultdict(_Tally)
        for index, found in hits.items():
            rule = self.rules[index]
            masked = masks.get(rule.category) if rule.kind != "exclude" else None
            kept = [hit for hit in found if not _covered(hit[0], masked)] if masked else found
            if cut is not None and rule.kind != "exclude" and rule.category in self._urgent:
                kept = [hit for hit in kept if hit[0][0] < cut]
            fired = _fire(rule, kept)
            if fired is not None:
                _add(tallies[rule.category], fired)
        for fired in self._fuzzy_hits(text):
            if not _covered(fired.span, masks.get(fired.rule.category, ())) and not (
                    cut is not None and fired.span[0] >= cut and fired.rule.category in self._urgent):
                _add(tallies[fired.rule.category], fired)
        return tallies

    def _fuzzy_hits(self, text: str) -> list[_Fired]:
        if self._bigrams is None or len(text) < 2:
            return []
        shared: dict[int, set[str]] = defaultdict(set)
        for _, (gram, entries) in self._bigrams.iter(text):
            for entry in entries:
                shared[entry].add(gram)
        best: dict[str, _Fired] = {}
        for entry, grams in shared.items():
            rule, phrase = self._fuzzy[entry]
            if len(grams) < _min_shared_bigrams(phrase, rule.threshold):
                continue
            aligned = fuzz.partial_ratio_alignment(phrase, text, score_cutoff=rule.threshold)
            if aligned is None:
                continue
            fired = _Fired(rule, rule.weight * aligned.score / 100, (aligned.dest_start, aligned.dest_end), phrase)
            if rule.id not in best or fired.score > best[rule.id].score:
                best[rule.id] = fired
        return list(best.values())


def _columns(model: TextModel, classes: list[str]) -> list[int | None]:
    """For each of `classes`, its column in a further model's classes (None: that model never saw the class)."""
    return [model.classes.index(name) if name in model.classes else None for name in classes]


def _voted(offsets: list[float], weight: float, model: TextModel, seen: str, columns: list[int | None]) -> list[float]:
    """`offsets` plus `weight` x a further model's logit of `seen` for each class (`columns`, from `_columns`); a
    class that model never saw gets its lowest logit."""
    logits = model.logits(seen)
    lowest = min(logits)
    return [offset + weight * (logits[column] if column is not None else lowest)
            for offset, column in zip(offsets, columns)]


def _disputed(catalogue: Catalogue, normalised: str, ruled: Decision, matters: list[Candidate]) -> bool:
    """Whether the model disputes the rules' match of a chat message (not `Catalogue.is_long`): it gives the
    rules' category less than `model_dispute` and its own top category at least `model_rival`. The resident
    is then asked (the rules' category first, the model's next); long letters keep the rules' match, and so
    does a match the rules are sure of (a score of `rules_sure` or more, e.g. an admin's strong keyword)."""
    category = ruled.category
    if catalogue.is_long(normalised) or not matters or matters[0].category == category:
        return False
    if catalogue.rules_sure and ruled.score >= catalogue.rules_sure:
        return False
    given = next((c.score for c in matters if c.category == category), 0.0)
    return given < catalogue.model_dispute and matters[0].score >= catalogue.model_rival


def _snapshot(data: Any) -> Any:
    """A deep copy of JSON-like data (several times faster than copy.deepcopy)."""
    return json.loads(json.dumps(data, ensure_ascii=False))


def _fire(rule: Rule, hits: list[tuple[Span, str, int]]) -> _Fired | None:
    if not hits:
        return None
    if rule.kind == "all":
        firsts: dict[int, tuple[Span, str, int]] = {}
        for hit in hits:
            firsts.setdefault(hit[2], hit)
        if len(firsts) < len(rule.slots):
            return None
        spans = [hit[0] for hit in firsts.values()]
        span = (min(s for s, _ in spans), max(e for _, e in spans))
        return _Fired(rule, rule.weight, span, "+".join(hit[1] for _, hit in sorted(firsts.items())))
    span, term, _ = hits[0]
    score = -rule.weight if rule.kind == "exclude" else rule.weight
    return _Fired(rule, score, span, term)


def _add(tally: _Tally, fired: _Fired) -> None:
    tally.score += fired.score
    tally.fired.append(fired)
    if fired.score > 0:
        tally.priority = max(tally.priority, fired.rule.priority)


def _covered(span: Span, masks: Iterable[Span]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in masks)


def _min_shared_bigrams(phrase: str, threshold: float) -> int:
    """A lower bound on the bigrams a text must share with `phrase` to reach `threshold`."""
    edits = len(phrase) * (1 - threshold / 100)
    return max(1, math.ceil(len(phrase) - 1 - 2 * edits))


def _build_term_automaton(rules: list[Rule]) -> ahocorasick.Automaton | None:
    entries: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for index, rule in enumerate(rules):
        if rule.kind == "fuzzy":
            continue
        if rule.kind == "all":
            for slot, alternatives in enumerate(rule.slots):
                for term in alternatives:
                    entries[term].append((index, slot))
        else:
            for term in rule.terms:
                entries[term].append((index, -1))
    return _automaton({term: (term, tuple(found)) for term, found in entries.items()})


def _build_homophone_automaton(rules: list[Rule]) -> ahocorasick.Automaton | None:
    entries: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for index, rule in enumerate(rules):
        if rule.homophones and rule.kind in ("keywords", "exclude"):
            for term in rule.terms:
                entries[to_pinyin(term)].append((index, term))
    return _automaton({sound: (sound, tuple(found)) for sound, found in entries.items()})


def _build_bigram_automaton(fuzzy: list[tuple[Rule, str]]) -> ahocorasick.Automaton | None:
    entries: dict[str, list[int]] = defaultdict(list)
    for index, (_, phrase) in enumerate(fuzzy):
        for gram in {phrase[i:i + 2] for i in range(max(1, len(phrase) - 1))}:
            entries[gram].append(index)
    return _automaton({gram: (gram, tuple(found)) for gram, found in entries.items()})


def _automaton(words: dict[str, tuple]) -> ahocorasick.Automaton | None:
    if not words:
        return None
    automaton = ahocorasick.Automaton()
    for word, value in words.items():
        automaton.add_word(word, value)
    automaton.make_automaton()
    return automaton
