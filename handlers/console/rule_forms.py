"""The console's rule editor without YAML: one rule as form fields, checked field by field, saved into
the draft, and tried on recent messages before it is saved; a category's settings (its 117 clock and
priority) the same way.

Field errors are codes with parameters (`FieldError`); the page words them (templates/admin/rule_form).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from handlers.cases.timing import parse_duration
from handlers.classify import Classifier, normalise, predicted_label
from handlers.console import rulesets
from handlers.privacy.masking import mask_text
from models import RuleSetVersion

KINDS = ("keywords", "fuzzy", "all", "exclude")
DEFAULT_THRESHOLD = 85
MAX_TERMS, MAX_TERM_CHARS, MAX_GROUPS = 200, 30, 8
MAX_WEIGHT, MAX_PRIORITY, MAX_NOTE = 10.0, 99, 200
MAX_HITS = 50  # matches the test box lists (all are counted)
_SEPARATORS = re.compile(r"[,，、;；\n\r\t]+")
_RULE_ID = re.compile(r"[\w\-]{1,64}")


@dataclass(frozen=True)
class FieldError:
    """Why one field was refused: a code the page words, with what the wording needs."""

    code: str
    params: dict = field(default_factory=dict)


class RuleFormError(ValueError):
    """The form cannot become a rule (or a category's settings); `errors` maps a field name (or "form") to
    its FieldError."""

    def __init__(self, errors: dict[str, FieldError]) -> None:
        super().__init__(", ".join(f"{name}: {error.code}" for name, error in errors.items()))
        self.errors = errors


def split_terms(text: str) -> list[str]:
    """Terms typed in one box: separated by commas (either width), 、, semicolons or new lines."""
    terms = (_printable(term).strip() for term in _SEPARATORS.split(text or ""))
    return list(dict.fromkeys(term for term in terms if term))


def _printable(text: str) -> str:
    """Without control characters (a NUL cannot even be stored in PostgreSQL's JSON)."""
    return "".join(char for char in text if char.isprintable())


@dataclass
class RuleForm:
    """One rule as the form shows it: plain strings, exactly as typed (so a refused form comes back as it was)."""

    kind: str = "keywords"
    terms: str = ""  # keywords / fuzzy / exclude, see split_terms
    groups: list[str] = field(default_factory=list)  # co-occurrence: one box per group of alternatives
    weight: str = "1.0"
    threshold: str = str(DEFAULT_THRESHOLD)
    priority: str = "0"
    homophones: bool = False
    note: str = ""
    rule_id: str = ""

    @classmethod
    def from_rule(cls, rule: dict) -> RuleForm:
        """The form for a stored rule mapping (as in config/rules/*.yaml)."""
        kind = next((k for k in KINDS if k in rule), "keywords")
        raw = rule.get(kind) or []
        raw = [raw] if isinstance(raw, str) else [str(item) for item in raw]
        return cls(kind=kind, terms="" if kind == "all" else "、".join(raw),
                   groups=["、".join(item.split("|")) for item in raw] if kind == "all" else [],
                   weight=_number(rule.get("weight", 1.0)), threshold=_number(rule.get("threshold", DEFAULT_THRESHOLD)),
                   priority=str(rule.get("priority", 0)), homophones=bool(rule.get("homophones", False)),
                   note=str(rule.get("note") or ""), rule_id=str(rule.get("id") or ""))

    def term_list(self) -> list[str]:
        return split_terms(self.terms)

    def group_lists(self) -> list[list[str]]:
        return [terms for terms in map(split_terms, self.groups) if terms]

    def to_rule(self, taken_ids: dict[str, str]) -> dict:
        """The rule mapping, or RuleFormError naming every field that is wrong. `taken_ids` maps the ids
        other rules already use to their category."""
        errors: dict[str, FieldError] = {}
        rule: dict = {}
        rule_id = self.rule_id.strip()
        if rule_id and not _RULE_ID.fullmatch(rule_id):
            errors["rule_id"] = FieldError("id_format", {"max": 64})
        elif rule_id in taken_ids:
            errors["rule_id"] = FieldError("id_taken", {"id": rule_id, "category": taken_ids[rule_id]})
        elif rule_id:
            rule["id"] = rule_id
        if self.kind not in KINDS:
            errors["kind"] = FieldError("kind")
        elif self.kind == "all":
            groups = self.group_lists()
            problem = _check_groups(groups)
            if problem:
                errors["groups"] = problem
            rule["all"] = ["|".join(group) for group in groups]
        else:
            terms = self.term_list()
            problem = _check_terms(terms)
            if problem:
                errors["terms"] = problem
            rule[self.kind] = terms
        weight = _parse_number(self.weight, 0, MAX_WEIGHT)
        if weight is None:
            errors["weight"] = FieldError("weight", {"max": _number(MAX_WEIGHT)})
        rule["weight"] = weight
        priority = _parse_number(self.priority or "0", 0, MAX_PRIORITY)
        if priority is None or priority != int(priority):
            errors["priority"] = FieldError("priority", {"max": MAX_PRIORITY})
        elif priority:
            rule["priority"] = int(priority)
        if self.kind == "fuzzy":
            threshold = _parse_number(self.threshold, 1, 100)
            if threshold is None:
                errors["threshold"] = FieldError("threshold")
            rule["threshold"] = threshold
        if self.homophones and self.kind in ("keywords", "exclude"):
            rule["homophones"] = True
        note = _printable(self.note).strip()
        if len(note) > MAX_NOTE:
            errors["note"] = FieldError("note_long", {"max": MAX_NOTE})
        elif note:
            rule["note"] = note
        if errors:
            raise RuleFormError(errors)
        return rule


def _check_terms(terms: list[str]) -> FieldError | None:
    if not terms:
        return FieldError("terms_missing")
    if len(terms) > MAX_TERMS:
        return FieldError("too_many_terms", {"max": MAX_TERMS})
    for term in terms:
        if len(term) > MAX_TERM_CHARS:
            return FieldError("term_long", {"term": term[:MAX_TERM_CHARS] + "…", "max": MAX_TERM_CHARS})
        if not normalise(term):
            return FieldError("term_empty", {"term": term})
    return None


def _check_groups(groups: list[list[str]]) -> FieldError | None:
    if len(groups) < 2:
        return FieldError("groups_missing")
    if len(groups) > MAX_GROUPS:
        return FieldError("too_many_groups", {"max": MAX_GROUPS})
    for group in groups:
        problem = _check_terms(group)
        if problem:
            return problem
    return None


def _parse_number(text: str, low: float, high: float) -> float | None:
    """A number typed in a box (full-width digits and 。 accepted), or None outside [low, high]."""
    cleaned = _ascii_digits(text.strip())
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if low <= value <= high else None


def _ascii_digits(text: str) -> str:
    """Full-width digits, point and minus as ASCII (staff type them with a Chinese input method)."""
    return text.translate(str.maketrans("０１２３４５６７８９．。－", "0123456789..-"))


def _number(value) -> str:
    """1.0 → "1", 1.5 → "1.5": a number as staff would write it."""
    return f"{float(value):g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


# --- the draft -------------------------------------------------------------------------------------------

class RuleNotFound(LookupError):
    """No such category, or no rule at that position (404)."""


def category_entry(data: dict, category: str) -> dict:
    """The category's catalogue entry in a rule set (RuleNotFound for a category not in the catalogue)."""
    entry = next((e for e in data["catalogue"].get("categories", []) if e.get("name") == category), None)
    if entry is None:
        raise RuleNotFound(category)
    return entry


def category_rules(data: dict, category: str) -> list[dict]:
    """The category's rule mappings in a rule set (RuleNotFound for a category not in the catalogue)."""
    category_entry(data, category)
    return data["rules"].get(category, [])


def rule_id_of(rules: list[dict], category: str, index: int) -> str:
    """A rule's id as the classifier names it (its own, else `<category>#<position>`)."""
    return str(rules[index].get("id") or f"{category}#{index + 1}")


def taken_ids(data: dict, category: str, index: int | None) -> dict[str, str]:
    """{rule id: category} of every rule except the one at `index` of `category`."""
    return {rule_id_of(rules, name, i): name for name, rules in data["rules"].items()
            for i in range(len(rules)) if not (name == category and i == index)}


def new_rule_id(data: dict, category: str) -> str:
    """A free id for a new rule: the category's code (else its name), `-rule-` and the next free number."""
    entry = category_entry(data, category)
    stem = f"{entry.get('code') or category}-rule-"
    taken = taken_ids(data, category, None)
    return next(f"{stem}{n}" for n in range(1, len(taken) + 2) if f"{stem}{n}" not in taken)


def with_rule(data: dict, category: str, index: int | None, rule: dict | None) -> dict:
    """A copy of the rule set with the rule at `index` replaced (None: `rule` appended; `rule` None: removed)."""
    changed = copy.deepcopy(data)
    rules = changed["rules"].setdefault(category, [])
    if index is None:
        rules.append(rule)
    elif rule is None:
        del rules[index]
    else:
        rules[index] = rule
    return changed


def check_position(data: dict, category: str, index: int | None, expected_id: str) -> None:
    """RuleNotFound unless the rule at `index` is still the one the form was opened on (another admin may
    have changed the draft meanwhile)."""
    rules = category_rules(data, category)
    if index is not None and (not 0 <= index < len(rules) or rule_id_of(rules, category, index) != expected_id):
        raise RuleNotFound(f"{category}#{index}")


def store(session: Session, row: RuleSetVersion, category: str, changed: dict, *, author: str,
          now: datetime) -> None:
    """Write the category's rules of `changed` into the draft (validated and audited as any draft edit)."""
    rulesets.edit_category(session, row, category, entry=copy.deepcopy(category_entry(row.data, category)),
                           rules=changed["rules"].get(category, []), author=author, now=now)


# --- a category's settings: its 117 clock and priority ---------------------------------------------------

CLOCK_STEPS = ("take", "plan", "close")
MAX_CLOCK_DAYS, MAX_CATEGORY_PRIORITY = 365, 99
_TYPED_DURATION = re.compile(r"(\d{1,6})\s*(m|min|分钟|分|h|小时|时|d|天|日)")
_DURATION_UNITS = {"min": "m", "分钟": "m", "分": "m", "小时": "h", "时": "h", "天": "d", "日": "d"}


def _duration_text(value) -> str:
    """A stored clock value as its box shows it: `30m`, `2h`, `3d` (a bare number is minutes)."""
    if value is None:
        return ""
    return f"{value}m" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _typed_duration(text: str) -> str | None:
    """`30分钟`, `2 小时`, `3天`, `３ｄ` or `3d` as the catalogue writes it (`3d`); None when it is not a duration."""
    match = _TYPED_DURATION.fullmatch(_ascii_digits(text.strip()).lower())
    if match is None:
        return None
    return f"{int(match.group(1))}{_DURATION_UNITS.get(match.group(2), match.group(2))}"


def entry_fingerprint(entry: dict) -> str:
    """Names one state of a category's catalogue entry: a form opened on another state is stale."""
    return hashlib.sha256(json.dumps(entry, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


@dataclass
class CategoryForm:
    """A category's clock (an empty box: the catalogue's default_clock) and priority, exactly as typed."""

    take: str = ""
    plan: str = ""
    close: str = ""
    priority: str = "0"

    @classmethod
    def from_entry(cls, entry: dict) -> CategoryForm:
        clock = entry.get("clock") or {}
        return cls(**{step: _duration_text(clock.get(step)) for step in CLOCK_STEPS},
                   priority=str(entry.get("priority", 0)))

    def to_entry(self, entry: dict) -> dict:
        """A copy of `entry` with this clock and priority, or RuleFormError naming every field that is wrong."""
        errors: dict[str, FieldError] = {}
        clock: dict[str, str] = {}
        for step in CLOCK_STEPS:
            typed = getattr(self, step).strip()
            value = _typed_duration(typed) if typed else None
            if typed and value is None:
                errors[step] = FieldError("duration")
            elif value and not timedelta(0) < parse_duration(value) <= timedelta(days=MAX_CLOCK_DAYS):
                errors[step] = FieldError("duration_range", {"max": MAX_CLOCK_DAYS})
            elif value:
                clock[step] = value
        priority = _parse_number(self.priority or "0", 0, MAX_CATEGORY_PRIORITY)
        if priority is None or priority != int(priority):
            errors["category_priority"] = FieldError("category_priority", {"max": MAX_CATEGORY_PRIORITY})
        if errors:
            raise RuleFormError(errors)
        changed = {key: value for key, value in copy.deepcopy(entry).items() if key != "clock"}
        changed["priority"] = int(priority)
        if clock:
            changed["clock"] = clock
        return changed


def checked_settings(data: dict, category: str, form: CategoryForm) -> dict:
    """The category's new catalogue entry: each box checked (RuleFormError), the rule set as a whole
    (rulesets.RuleSetError), and the clock in order with the defaults it keeps (take ≤ plan ≤ close)."""
    entry = form.to_entry(category_entry(data, category))
    changed = copy.deepcopy(data)
    entries = changed["catalogue"]["categories"]
    entries[next(i for i, e in enumerate(entries) if e.get("name") == category)] = entry
    clock = rulesets.validate(changed).catalogue.get(category).clock
    if clock.take > clock.plan:
        raise RuleFormError({"plan": FieldError("clock_order")})
    if clock.plan > clock.close:
        raise RuleFormError({"close": FieldError("clock_order")})
    return entry


def store_settings(session: Session, row: RuleSetVersion, category: str, entry: dict, *, author: str,
                   now: datetime) -> None:
    """Write the category's settings into the draft, its rules unchanged (validated and audited)."""
    rulesets.edit_category(session, row, category, entry=entry,
                           rules=copy.deepcopy(row.data["rules"].get(category, [])), author=author, now=now)


# --- the test box ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """A message the rule fires on: the text (numbers masked), what fired, and what the whole draft with
    the rule as edited decides."""

    text: str
    match: str
    decided: str
    outcome: str
    won: bool


@dataclass
class Trial:
    """What the test box shows: hits among `searched` recent messages, and on the typed sentence."""

    searched: int = 0
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    sample: Hit | None = None
    sample_missed: bool = False


def try_rule(data: dict, category: str, rule: dict, rule_id: str, texts: list[str], sample: str = "") -> Trial:
    """Fire `rule` alone over `texts` (and `sample`); for each hit, also classify it with the rule set
    `data` (which already holds the rule as edited)."""
    alone = Classifier.from_data(data["catalogue"], {category: [{**rule, "id": rule_id}]})
    whole = rulesets.validate(data)
    trial = Trial(searched=len(texts))
    for text in texts:
        hit = _hit(alone, whole, rule_id, category, text)
        if hit is not None:
            trial.total += 1
            if len(trial.hits) < MAX_HITS:
                trial.hits.append(hit)
    if sample.strip():
        trial.sample = _hit(alone, whole, rule_id, category, sample)
        trial.sample_missed = trial.sample is None
    return trial


def _hit(alone: Classifier, whole: Classifier, rule_id: str, category: str, text: str) -> Hit | None:
    fired = [r for r in alone.classify(text).rules if r["id"] == rule_id]
    if not fired:
        return None
    decision = whole.classify(text)
    return Hit(mask_text(text), fired[0]["match"], predicted_label(decision), decision.outcome,
               decision.category == category)
