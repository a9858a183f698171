"""Rules as data: validation of rule mappings, and reading/writing a config dir of YAML files.

A rule set is `{category name: [rule mapping, ...]}`; on disk one file per category,
`<rules dir>/<name>.yaml` holding `category: <name>` and `rules: [...]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from handlers.classify._catalogue import Catalogue
from handlers.classify._errors import RuleConfigError
from handlers.classify._examples import example_files, write_example_files
from handlers.classify._normalise import normalise

KINDS = ("keywords", "all", "fuzzy", "exclude")
_OPTIONAL = {"id", "weight", "priority", "threshold", "note", "homophones"}
DEFAULT_THRESHOLD = 85.0
RULES_DIR = "rules"


@dataclass(frozen=True)
class Rule:
    """One validated rule. `terms` are normalised; for `all`, each slot holds its alternatives."""

    id: str
    category: str
    kind: str
    terms: tuple[str, ...]
    slots: tuple[tuple[str, ...], ...] = ()
    weight: float = 1.0
    priority: int = 0
    threshold: float = DEFAULT_THRESHOLD
    homophones: bool = False
    source: str = "<data>"


def parse_rule(data: Any, category: str, source: str, position: int) -> Rule:
    """Validate one rule mapping; errors name the source, the rule and the field."""
    if not isinstance(data, dict):
        raise RuleConfigError(source, f"#{position + 1}", None, "a rule must be a mapping")
    rule_id = data.get("id", f"{category}#{position + 1}")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise RuleConfigError(source, f"#{position + 1}", "id", "must be a non-empty string")
    kinds = [kind for kind in KINDS if kind in data]
    if len(kinds) != 1:
        raise RuleConfigError(source, rule_id, "/".join(KINDS), f"needs exactly one of these keys, has {kinds or 'none'}")
    unknown = set(data) - _OPTIONAL - set(KINDS)
    if unknown:
        raise RuleConfigError(source, rule_id, sorted(unknown)[0], "unknown key")
    kind = kinds[0]
    raw = data[kind]
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(t, str) for t in raw):
        raise RuleConfigError(source, rule_id, kind, "must be a non-empty list of strings")
    slots: tuple[tuple[str, ...], ...] = ()
    if kind == "all":
        slots = tuple(_terms([alt for alt in item.split("|")], source, rule_id, kind) for item in raw)
        if len(slots) < 2:
            raise RuleConfigError(source, rule_id, kind, "co-occurrence needs at least two items")
        terms = tuple(t for slot in slots for t in slot)
    else:
        terms = _terms(raw, source, rule_id, kind)
    weight = data.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise RuleConfigError(source, rule_id, "weight", "must be a number >= 0")
    priority = data.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise RuleConfigError(source, rule_id, "priority", "must be an integer")
    threshold = data.get("threshold", DEFAULT_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 100:
        raise RuleConfigError(source, rule_id, "threshold", "must be a number in (0, 100]")
    if "threshold" in data and kind != "fuzzy":
        raise RuleConfigError(source, rule_id, "threshold", "only fuzzy rules take a threshold")
    homophones = data.get("homophones", False)
    if not isinstance(homophones, bool):
        raise RuleConfigError(source, rule_id, "homophones", "must be true or false")
    if homophones and kind not in ("keywords", "exclude"):
        raise RuleConfigError(source, rule_id, "homophones", "only keywords and exclude rules take homophones")
    return Rule(id=rule_id.strip(), category=category, kind=kind, terms=terms, slots=slots,
                weight=float(weight), priority=priority, threshold=float(threshold),
                homophones=homophones, source=source)


def _terms(raw: list[str], source: str, rule_id: str, kind: str) -> tuple[str, ...]:
    terms = []
    for item in raw:
        term = _normalise_term(item)
        if not term:
            raise RuleConfigError(source, rule_id, kind, f"{item!r} is empty after normalisation")
        terms.append(term)
    return tuple(dict.fromkeys(terms))


@lru_cache(maxsize=100_000)
def _normalise_term(term: str) -> str:
    return normalise(term)


def parse_rules(catalogue: Catalogue, rules: dict[str, list], sources: dict[str, str] | None = None) -> list[Rule]:
    """Validate a whole rule set against the catalogue; rule ids must be unique."""
    sources = sources or {}
    parsed: list[Rule] = []
    seen: dict[str, str] = {}
    for category, items in rules.items():
        source = sources.get(category, "<data>")
        if category not in catalogue:
            raise RuleConfigError(source, None, "category", f"{category!r} is not in the catalogue")
        if not isinstance(items, list):
            raise RuleConfigError(source, None, "rules", "must be a list")
        for position, item in enumerate(items):
            rule = parse_rule(item, category, source, position)
            if rule.id in seen:
                raise RuleConfigError(source, rule.id, "id", f"duplicate rule id (also in {seen[rule.id]})")
            seen[rule.id] = source
            parsed.append(rule)
    return parsed


def config_files(config_dir: Path) -> list[Path]:
    """The files a classifier is built from (the cache watches these)."""
    catalogue = config_dir / "catalogue.yaml"
    folder = config_dir / RULES_DIR
    rules = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    return [catalogue, *rules, *example_files(config_dir)]


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleConfigError(str(path), None, None, "file not found") from None
    except yaml.YAMLError as error:
        raise RuleConfigError(str(path), None, None, f"not valid YAML: {error}") from None


def read_config(config_dir: Path) -> tuple[dict, dict[str, list], dict[str, str]]:
    """(catalogue mapping, rules by category, source file by category) from a config dir."""
    catalogue = _read_yaml(config_dir / "catalogue.yaml")
    if not isinstance(catalogue, dict):
        raise RuleConfigError(str(config_dir / "catalogue.yaml"), None, None, "must be a mapping")
    rules: dict[str, list] = {}
    sources: dict[str, str] = {}
    folder = config_dir / RULES_DIR
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        content = _read_yaml(path)
        if not isinstance(content, dict) or not isinstance(content.get("category"), str):
            raise RuleConfigError(str(path), None, "category", "a rule file needs `category:` and `rules:`")
        category = content["category"]
        if category in rules:
            raise RuleConfigError(str(path), None, "category", f"{category!r} also has rules in {sources[category]}")
        rules[category] = content.get("rules") or []
        sources[category] = str(path)
    return catalogue, rules, sources


def write_config(config_dir: Path, catalogue: dict, rules: dict[str, list],
                 examples: list[dict] | None = None) -> list[Path]:
    """Write a catalogue, rule set and labelled examples in the shipped format; returns the files written."""
    folder = config_dir / RULES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = [config_dir / "catalogue.yaml"]
    _dump(written[0], catalogue)
    for category, items in rules.items():
        path = folder / f"{_file_name(category)}.yaml"
        _dump(path, {"category": category, "rules": items})
        written.append(path)
    return written + write_example_files(config_dir, examples or [])


def _file_name(category: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in category)


def _dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120, default_flow_style=None),
                    encoding="utf-8")
