"""Facts a transaction establishes (a message handled, a case opened), told to listeners once it commits.

Domain code notes plain facts on its session; a transaction or savepoint that rolls back forgets
the facts noted inside it, so a listener (bot/metrics.py) never counts work that did not happen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from models.rows import within

Listener = Callable[[str, dict[str, str]], None]

log = logging.getLogger("gridbot.facts")
_listeners: list[Listener] = []
_KEY = "gridbot_facts"


def note(session: Session, name: str, **labels: str) -> None:
    """Tell the listeners `name` with `labels` when (and only if) this transaction commits."""
    if _listeners:
        transaction = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_KEY, []).append((transaction, name, labels))


def subscribe(listener: Listener) -> None:
    """Call `listener(name, labels)` for every fact of every committed transaction of this process."""
    if listener not in _listeners:
        _listeners.append(listener)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the outer transaction may still roll back
    for _, name, labels in session.info.pop(_KEY, ()):
        for listener in _listeners:
            try:
                listener(name, labels)
            except Exception:
                log.exception("fact listener failed", extra={"fact": name})


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    facts = session.info.get(_KEY)
    if facts:
        session.info[_KEY] = [fact for fact in facts if not within(fact[0], previous)]
