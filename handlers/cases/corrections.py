"""Corrections that teach the classifier: every 改类, console relabel and ask-back answer, as labelled examples.

Stored with who and when (models.Correction); exported in the examples format (`text,label`)
that `gridbot rules eval --data`, the console's what-if and the learned model read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Correction, RuleSetVersion

SOURCES = ("recategorize", "console", "ask_back")


def record_correction(session: Session, *, text: str, label: str, previous: str | None, source: str,
                      actor: str, now: datetime, case_id: int | None = None) -> Correction:
    """Store one labelled example: `text` is `label` (it was `previous`), said by `actor`."""
    if source not in SOURCES:
        raise ValueError(f"unknown correction source {source!r}")
    correction = Correction(text=text, label=label, previous=previous, source=source, actor=actor,
                            case_id=case_id, created_at=now)
    session.add(correction)
    return correction


def recent(session: Session, *, limit: int = 100, before: int | None = None) -> list[Correction]:
    """The newest corrections first (`before`: an id, for the next page)."""
    query = select(Correction).order_by(Correction.id.desc()).limit(limit)
    if before is not None:
        query = query.where(Correction.id < before)
    return list(session.scalars(query))


def count_since(session: Session, since: datetime | None) -> int:
    """How many corrections were stored after `since` (all of them when None)."""
    query = select(func.count()).select_from(Correction)
    if since is not None:
        query = query.where(Correction.created_at > since)
    return session.scalar(query) or 0


def examples(session: Session) -> list[tuple[str, str]]:
    """(text, label) for training: one per case (its latest correction) plus every correction without a case."""
    latest: dict[object, tuple[str, str]] = {}
    for row in session.scalars(select(Correction).order_by(Correction.id)):
        latest[row.case_id if row.case_id is not None else f"row{row.id}"] = (row.text, row.label)
    return list(latest.values())


def to_csv(rows: Iterable[tuple[str, str]]) -> str:
    """The examples format: a `text,label` header, then one example a row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    return out.getvalue()


def last_publish(session: Session) -> datetime | None:
    """When a rule set was last published: corrections after it are new to the rules in force."""
    return session.scalar(select(func.max(RuleSetVersion.published_at)))
