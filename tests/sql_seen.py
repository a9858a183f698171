"""The SQL statements an engine or connection sends while a block runs (tests that count or read them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def statements_sent(target, keep: Callable[[str], bool] = lambda _sql: True) -> Iterator[list[str]]:
    """The SQL of each statement `target` (an engine or a connection) sends meanwhile that `keep` accepts."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if keep(statement):
            seen.append(statement)

    event.listen(target, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", note)
