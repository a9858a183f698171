"""What-if: replay a draft rule set over stored messages or a labelled CSV, before publishing it."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.classify import Classifier
from handlers.classify._evaluate import predicted_label, read_examples, scores
from handlers.console.scoping import messages_within
from handlers.privacy.masking import mask_text
from models import InboundMessage

MAX_CSV_ROWS = 20_000


class ReplayError(ValueError):
    """The uploaded CSV cannot be read (encoding, missing columns, too many rows)."""


@dataclass(frozen=True)
class Change:
    text: str
    before: str
    before_outcome: str
    after: str
    after_outcome: str
    label: str | None = None


@dataclass
class Replay:
    rows: int = 0
    changes: list[Change] = field(default_factory=list)
    before_scores: dict | None = None  # accuracy / macro_f1 … when labels exist
    after_scores: dict | None = None


def replay(texts: list[str], before: Classifier, after: Classifier, labels: list[str] | None = None) -> Replay:
    """Classify every text with both rule sets; keep those whose category or outcome changes (shown with
    phone and ID numbers masked)."""
    result = Replay(rows=len(texts))
    predicted_before, predicted_after = [], []
    for i, text in enumerate(texts):
        old, new = before.classify(text), after.classify(text)
        predicted_before.append(predicted_label(old))
        predicted_after.append(predicted_label(new))
        if (old.category, old.outcome) != (new.category, new.outcome):
            result.changes.append(Change(mask_text(text), predicted_label(old), old.outcome, predicted_label(new), new.outcome,
                                         labels[i] if labels else None))
    if labels:
        result.before_scores = scores(labels, predicted_before)
        result.after_scores = scores(labels, predicted_after)
    return result


def recent_texts(session: Session, limit: int, grid_ids: frozenset[int] | None = None) -> list[str]:
    """The last `limit` inbound texts within the viewer's grids (newest first)."""
    query = select(InboundMessage.content).where(
        InboundMessage.msg_type == "text", InboundMessage.content.is_not(None), InboundMessage.content != "")
    if grid_ids is not None:
        query = query.where(messages_within(grid_ids))
    return list(session.scalars(query.order_by(InboundMessage.id.desc()).limit(limit)))


def read_labelled_csv(payload: bytes) -> tuple[list[str], list[str]]:
    """(texts, labels) from a `text,label` CSV upload, read as `gridbot rules eval` reads its file."""
    with tempfile.NamedTemporaryFile(suffix=".csv") as handle:
        handle.write(payload)
        handle.flush()
        try:
            examples = read_examples(Path(handle.name))
        except UnicodeDecodeError:
            raise ReplayError("CSV 须为 UTF-8 编码") from None
        except ValueError as error:
            raise ReplayError(f"CSV 须有 text,label 两列：{error}".replace(handle.name, "")) from None
    if len(examples) > MAX_CSV_ROWS:
        raise ReplayError(f"CSV 最多 {MAX_CSV_ROWS} 行")
    return [e.text for e in examples], [e.label for e in examples]
