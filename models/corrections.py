"""Labelled examples taught by people: a worker's 改类, a resident's answer to the ask-back, a console relabel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Correction(Base):
    """One labelled example: `text` (the resident's words) is `label`, said by `actor` at `created_at`.

    `source` is where it came from (recategorize / console / ask_back); `previous` the label it
    replaced (the category the case had, or the classifier's first choice)."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(40))
    previous: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
