"""The matter catalogue: categories with their grid/department flag, priority and 117 clock.

A category may also carry a short ASCII `code` (its Open311 service code) and `attributes`:
names of entries in the catalogue's `attributes` map, the extra facts a partner system may
send with a report (Open311 service definitions).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from handlers.classify._errors import RuleConfigError

_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
DEFAULT_CLOCK = {"take": "1h", "plan": "1d", "close": "7d"}


def parse_duration(value: Any) -> timedelta:
    """`15m`, `1h`, `7d` or a number of minutes as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return timedelta(minutes=value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration (like 15m, 1h, 7d): {value!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class Clock:
    """The 117 promise: time to take a case, to propose a plan, to close it."""

    take: timedelta
    plan: timedelta
    close: timedelta


@dataclass(frozen=True)
class Attribute:
    """An extra fact a report of some categories may carry (e.g. 楼栋, 是否紧急)."""

    code: str
    name: str
    datatype: str  # string / number / datetime / text / singlevaluelist / multivaluelist
    required: bool = False
    description: str = ""
    values: tuple[tuple[str, str], ...] = ()  # (key, name) of a list's choices


DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


@dataclass(frozen=True)
class Category:
    """One matter a resident may report; `department` says where non-grid matters go."""

    name: str
    grid_matter: bool
    priority: int
    urgent: bool
    clock: Clock
    department: str | None = None
    role: str | None = None
    description: str = ""
    code: str | None = None
    attributes: tuple[Attribute, ...] = ()
    long_bias: float = 0.0  # added to this category's weighed score in a long text (see Catalogue.long_rules)


@dataclass
class Catalogue:
    """The categories by name, plus the decision thresholds that go with them."""

    categories: dict[str, Category]
    threshold: float = 1.0
    ask_threshold: float = 0.5
    margin: float = 0.25
    model_match: float = 0.6
    model_none: float = 0.35
    model_overrule: float = 0.9
    model_dispute: float = 0.0  # 0: the model never disputes a rules' match (see _engine._disputed)
    model_rival: float = 1.0
    rules_sure: float = 0.0  # a rules' match scoring this much is never disputed (0: any may be)
    # Two matters in one chat message (0: not looked for): a clause the model reads as another category at
    # two_matters or more puts that category among the ask-back's choices, and asks unless the model gives the
    # matched category two_sure or more (see _engine.Classifier._two_matters).
    two_matters: float = 0.0
    two_sure: float = 1.0
    long_text: float = 0.0  # a normalised text of at least this many characters is long (0: none is)
    long_match: float = 0.6  # model_match for a long text
    long_overrule: float = 0.9  # model_overrule for a long text
    # A long text's rules and model weighed together (0: not; long_overrule decides): each category scores
    # long_scale x the model's logit + long_rules x its rule score (at most long_rule_cap) + its long_bias.
    long_rules: float = 0.0
    long_scale: float = 1.0
    long_rule_cap: float = 3.0
    # ... + long_title x the title model's logit (a second model, trained on the long examples' titles: the
    # topic a letter was labelled from; 0: no title model is trained) + long_signal x ln(1 + how many times
    # the `department_signals` occur) for every department category (a policy question, an official addressed)
    # + long_letters x the letters model's logit (a third model, trained on the long examples alone: letters have
    # another vocabulary and label balance than chat; 0: no letters model is trained).
    long_title: float = 0.0
    long_signal: float = 0.0
    long_letters: float = 0.0
    department_signals: tuple[str, ...] = ()
    urgent_length: float = 0.0  # in a normalised text longer than this (a letter; 0: none is) ...
    urgent_opening: float = 0.0  # ... an urgent category's rules count only in the first this many characters
    data: dict = field(default_factory=dict, repr=False)

    def get(self, name: str) -> Category:
        """The category called `name` (KeyError when unknown)."""
        return self.categories[name]

    def is_long(self, normalised: str) -> bool:
        """Whether a normalised text is long (`long_text` characters or more: a letter, not a chat message)."""
        return bool(self.long_text) and len(normalised) >= self.long_text

    def model_thresholds(self, normalised: str) -> tuple[float, float]:
        """(model_match, model_overrule) for a normalised text: the long_* pair for a long one (a letter,
        where rules fire on incidental words and the model reads the whole text), else the model_* pair."""
        if self.is_long(normalised):
            return self.long_match, self.long_overrule
        return self.model_match, self.model_overrule

    def urgent_cut(self, normalised: str) -> int | None:
        """Where an urgent category's rules stop counting in a normalised text: `urgent_opening` in a text
        longer than `urgent_length` (a letter), else None (everywhere: a chat message). A letter names an
        ongoing danger in its title and first lines; deeper in, such words are background (a past incident,
        a hypothetical, another sense), and an emergency rule is authoritative, so they do not count there."""
        if self.urgent_length and len(normalised) > self.urgent_length:
            return int(self.urgent_opening)
        return None

    def names(self) -> list[str]:
        return list(self.categories)

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories.values())

    def __contains__(self, name: object) -> bool:
        return name in self.categories

    def __len__(self) -> int:
        return len(self.categories)

    @classmethod
    def from_data(cls, data: dict, source: str = "<data>") -> Catalogue:
        """Validate a catalogue mapping (the content of catalogue.yaml)."""
        if not isinstance(data, dict):
            raise RuleConfigError(source, None, None, "must be a mapping")
        default = _clock(data.get("default_clock", DEFAULT_CLOCK), DEFAULT_CLOCK, source, None)
        decision = data.get("decision") or {}
        if not isinstance(decision, dict):
            raise RuleConfigError(source, None, "decision", "must be a mapping")
        thresholds = {key: _number(decision.get(key, fallback), source, None, f"decision.{key}")
                      for key, fallback in (("threshold", 1.0), ("ask_threshold", 0.5), ("margin", 0.25),
                                            ("model_match", 0.6), ("model_none", 0.35), ("model_overrule", 0.9),
                                            ("model_dispute", 0.0), ("model_rival", 1.0), ("rules_sure", 0.0),
                                            ("two_matters", 0.0), ("two_sure", 1.0),
                                            ("long_text", 0.0), ("long_match", 0.6), ("long_overrule", 0.9),
                                            ("long_rules", 0.0), ("long_scale", 1.0), ("long_rule_cap", 3.0),
                                            ("long_title", 0.0), ("long_signal", 0.0), ("long_letters", 0.0),
                                            ("urgent_length", 0.0), ("urgent_opening", 0.0))}
        entries = data.get("categories")
        if not isinstance(entries, list) or not entries:
            raise RuleConfigError(source, None, "categories", "must be a non-empty list")
        attributes = _attributes(data.get("attributes") or {}, source)
        categories: dict[str, Category] = {}
        for entry in entries:
            category = _category(entry, default, attributes, source)
            if category.name in categories:
                raise RuleConfigError(source, category.name, "name", "duplicate category")
            if category.code and any(other.code == category.code for other in categories.values()):
                raise RuleConfigError(source, category.name, "code", "duplicate code")
            categories[category.name] = category
        signals = data.get("department_signals") or []
        if not isinstance(signals, list) or not all(isinstance(term, str) and term.strip() for term in signals):
            raise RuleConfigError(source, None, "department_signals", "must be a list of non-empty words")
        return cls(categories=categories, data=data, department_signals=tuple(term.strip() for term in signals),
                   **thresholds)


_CATEGORY_KEYS = {"name", "grid_matter", "priority", "urgent", "clock", "department", "role", "description", "code",
                  "attributes", "long_bias"}
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


def _attributes(data: Any, source: str) -> dict[str, Attribute]:
    if not isinstance(data, dict):
        raise RuleConfigError(source, None, "attributes", "must be a mapping of code → definition")
    found = {}
    for code, entry in data.items():
        where = f"attributes.{code}"
        if not isinstance(code, str) or not _CODE.match(code) or not isinstance(entry, dict):
            raise RuleConfigError(source, None, where, "needs an ASCII code and a mapping")
        if not isinstance(entry.get("name"), str) or entry.get("datatype") not in DATATYPES:
            raise RuleConfigError(source, None, where, f"needs a name and a datatype of {', '.join(DATATYPES)}")
        values = entry.get("values") or []
        if not isinstance(values, list) or not all(isinstance(v, dict) and {"key", "name"} <= set(v) for v in values):
            raise RuleConfigError(source, None, f"{where}.values", "must be a list of {key, name}")
        if entry["datatype"].endswith("valuelist") != bool(values):
            raise RuleConfigError(source, None, f"{where}.values", "a list datatype needs values, others none")
        found[code] = Attribute(code=code, name=entry["name"], datatype=entry["datatype"],
                                required=entry.get("required") is True, description=str(entry.get("description", "")),
                                values=tuple((str(v["key"]), str(v["name"])) for v in values))
    return found


def _category(entry: Any, default: dict, attributes: dict[str, Attribute], source: str) -> Category:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
        raise RuleConfigError(source, None, "name", f"each category needs a name: {entry!r}")
    name = entry["name"].strip()
    unknown = set(entry) - _CATEGORY_KEYS
    if unknown:
        raise RuleConfigError(source, name, sorted(unknown)[0], "unknown key")
    grid_matter = entry.get("grid_matter", True)
    urgent = entry.get("urgent", False)
    for key, value in (("grid_matter", grid_matter), ("urgent", urgent)):
        if not isinstance(value, bool):
            raise RuleConfigError(source, name, key, "must be true or false")
    priority = entry.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise RuleConfigError(source, name, "priority", "must be an integer")
    department = entry.get("department")
    if not grid_matter and not department:
        raise RuleConfigError(source, name, "department", "a department matter must name its department")
    code = entry.get("code")
    if code is not None and (not isinstance(code, str) or not _CODE.match(code)):
        raise RuleConfigError(source, name, "code", "must be ASCII letters, digits, - or _ (at most 40)")
    wanted = entry.get("attributes") or []
    if not isinstance(wanted, list) or any(item not in attributes for item in wanted):
        raise RuleConfigError(source, name, "attributes", f"must list codes of the catalogue's attributes: {wanted!r}")
    return Category(name=name, grid_matter=grid_matter, priority=priority, urgent=urgent,
                    clock=Clock(**_clock(entry.get("clock") or {}, default, source, name)),
                    department=department, role=entry.get("role"),
                    description=str(entry.get("description", "")), code=code,
                    attributes=tuple(attributes[item] for item in wanted),
                    long_bias=_bias(entry.get("long_bias", 0.0), source, name))


def _clock(value: Any, default: dict, source: str, name: str | None) -> dict:
    if not isinstance(value, dict):
        raise RuleConfigError(source, name, "clock", "must be a mapping of take/plan/close")
    unknown = set(value) - {"take", "plan", "close"}
    if unknown:
        raise RuleConfigError(source, name, f"clock.{sorted(unknown)[0]}", "unknown key")
    clock = {}
    for key in ("take", "plan", "close"):
        try:
            clock[key] = parse_duration(value.get(key, default[key]))
        except ValueError as error:
            raise RuleConfigError(source, name, f"clock.{key}", str(error)) from None
    return clock


def _bias(value: Any, source: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleConfigError(source, name, "long_bias", "must be a number")
    return float(value)


def _number(value: Any, source: str, name: str | None, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RuleConfigError(source, name, key, "must be a number >= 0")
    return float(value)
