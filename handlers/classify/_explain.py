"""Who won and why: a decision (`Decision.to_json()`, also as stored on a case) arranged for a person to read —
the winning category and its rules first, the other categories' rules apart, the model's confidence.

The console words it (templates/admin/_explain.html.j2); nothing here is text a person reads.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from handlers.classify._engine import Classifier
from handlers.classify._model import NONE_LABEL


@dataclass(frozen=True)
class FiredRule:
    """One rule that fired. `weight` is the rule's weight (for a fuzzy rule only when the rule set is known);
    `similarity` a fuzzy phrase's likeness in percent."""

    id: str
    category: str
    kind: str
    match: str
    score: float
    weight: float | None = None
    similarity: int | None = None
    threshold: float | None = None

    @property
    def parts(self) -> list[str]:
        """What matched, piece by piece: the co-occurring words, or (heard, meant) for a homophone."""
        return self.match.split("≈" if "≈" in self.match else "+")

    @property
    def homophone(self) -> bool:
        return "≈" in self.match


@dataclass(frozen=True)
class CategoryRules:
    category: str
    total: float
    rules: list[FiredRule]


@dataclass(frozen=True)
class Explanation:
    """A decision arranged winner first. `confidence`: the model's probability of the winner (of 无 when the
    model said it is no report); `rules_pick`: the category the rules scored highest when the model chose
    another one."""

    category: str | None
    outcome: str
    decided_by: str
    score: float
    winner_rules: list[FiredRule] = field(default_factory=list)
    winner_total: float = 0.0
    others: list[CategoryRules] = field(default_factory=list)
    confidence: float | None = None
    rules_pick: str | None = None
    threshold: float | None = None
    ask_threshold: float | None = None


def explain_decision(decision: dict, classifier: Classifier | None = None) -> Explanation:
    """Arrange `decision` (a `Decision.to_json()` mapping) for reading; `classifier` (the rule set that
    decided, when known) adds fuzzy rules' weights and thresholds and the decision thresholds."""
    known = {rule.id: rule for rule in classifier.rules} if classifier is not None else {}
    by_category: dict[str, list[FiredRule]] = defaultdict(list)
    for fired in decision.get("rules") or []:
        by_category[fired.get("category", "")].append(_fired(fired, known.get(fired.get("id"))))
    winner = decision.get("category")
    totals = {name: round(sum(rule.score for rule in rules), 3) for name, rules in by_category.items()}
    others = sorted((CategoryRules(name, totals[name], rules) for name, rules in by_category.items() if name != winner),
                    key=lambda group: -group.total)
    rules_pick = max(totals, key=totals.get) if totals else None
    ranking = {item["category"]: item["probability"]
               for item in ((decision.get("model") or {}).get("ranking") or [])}
    catalogue = classifier.catalogue if classifier is not None else None
    return Explanation(
        category=winner, outcome=decision.get("outcome", "none"), decided_by=decision.get("decided_by", "rules"),
        score=float(decision.get("score") or 0.0), winner_rules=by_category.get(winner, []) if winner else [],
        winner_total=totals.get(winner, 0.0) if winner else 0.0, others=others,
        confidence=ranking.get(winner if winner else NONE_LABEL),
        rules_pick=rules_pick if rules_pick != winner and totals.get(rules_pick, 0) > 0 else None,
        threshold=catalogue.threshold if catalogue else None,
        ask_threshold=catalogue.ask_threshold if catalogue else None)


def _fired(fired: dict, rule) -> FiredRule:
    score = float(fired.get("score") or 0.0)
    kind = fired.get("kind", "")
    weight, similarity, threshold = (abs(score) if kind != "fuzzy" else None), None, None
    if rule is not None:
        weight = rule.weight
        if kind == "fuzzy":
            threshold = rule.threshold
            similarity = round(score / rule.weight * 100) if rule.weight else None
    return FiredRule(id=str(fired.get("id", "")), category=fired.get("category", ""), kind=kind,
                     match=str(fired.get("match", "")), score=score, weight=weight, similarity=similarity,
                     threshold=threshold)
