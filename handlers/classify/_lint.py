"""`rules lint`: findings an admin should look at before publishing a rule set."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.classify._engine import Classifier
from handlers.classify._rules import Rule
from models import InboundMessage


@dataclass(frozen=True)
class Finding:
    kind: str  # duplicate / shadowed / shared / unused
    rule: str
    message: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "rule": self.rule, "message": self.message}


def lint(classifier: Classifier, texts: Iterable[str] | None = None,
         progress: Callable[[Iterable], Iterable] = iter) -> list[Finding]:
    """Duplicate keywords, shadowed rules, terms shared by categories and (given texts) unused rules."""
    findings = [*_duplicates(classifier.rules), *_shadowed(classifier.rules), *_shared(classifier.rules)]
    if texts is not None:
        findings.extend(_unused(classifier, texts, progress))
    return findings


def _exact_terms(rule: Rule) -> tuple[str, ...]:
    return rule.terms if rule.kind in ("keywords", "exclude") else ()


def _duplicates(rules: list[Rule]) -> list[Finding]:
    owners: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for rule in rules:
        for term in _exact_terms(rule):
            owners[(rule.category, rule.kind, term)].append(rule.id)
    return [Finding("duplicate", ids[1], f"{kind} '{term}' of {category} also in rule {ids[0]}")
            for (category, kind, term), ids in owners.items() if len(ids) > 1]


def _shadowed(rules: list[Rule]) -> list[Finding]:
    """Rules that can never count: each term contains an exclusion of their own category (which masks
    every occurrence; a term inside a longer exclusion still counts elsewhere, e.g. 着火 beside 容易着火), or
    each lies inside a term of a higher-priority category's rule, which then always ranks first."""
    excludes = defaultdict(list)
    for rule in rules:
        if rule.kind == "exclude":
            excludes[rule.category].extend(rule.terms)
    findings = []
    for rule in rules:
        if rule.kind != "keywords":
            continue
        if all(any(ex in term for ex in excludes[rule.category]) for term in rule.terms):
            findings.append(Finding("shadowed", rule.id, "every keyword contains an exclusion of "
                                    f"{rule.category}, so the rule never counts"))
            continue
        for other in rules:
            if other.kind == "keywords" and other.priority > rule.priority and other.category != rule.category \
                    and all(any(theirs in mine for theirs in other.terms) for mine in rule.terms):
                findings.append(Finding("shadowed", rule.id, f"whenever it fires, rule {other.id} of "
                                        f"{other.category} fires with a higher priority"))
                break
    return findings


def _shared(rules: list[Rule]) -> list[Finding]:
    owners: dict[str, dict[str, str]] = defaultdict(dict)
    for rule in rules:
        if rule.kind in ("keywords", "fuzzy"):
            for term in rule.terms:
                owners[term].setdefault(rule.category, rule.id)
    return [Finding("shared", ", ".join(by_category.values()),
                    f"'{term}' counts for {len(by_category)} categories: {', '.join(by_category)}")
            for term, by_category in owners.items() if len(by_category) > 1]


def _unused(classifier: Classifier, texts: Iterable[str], progress: Callable[[Iterable], Iterable]) -> list[Finding]:
    fired: set[str] = set()
    count = 0
    for text in progress(texts):
        count += 1
        fired.update(rule["id"] for rule in classifier.classify(text).rules)
    return [Finding("unused", rule.id, f"matched none of {count} messages")
            for rule in classifier.rules if rule.id not in fired]


def stored_texts(session: Session, limit: int = 100_000) -> list[str]:
    """The newest stored inbound text messages (what `lint` replays for unused rules)."""
    query = (select(InboundMessage.content).where(InboundMessage.msg_type == "text",
                                                  InboundMessage.content.is_not(None))
             .order_by(InboundMessage.id.desc()).limit(limit))
    return list(session.scalars(query))
