"""Login throttling per client, checked before any password is looked at.

A client (its address, as uvicorn reports it: behind a proxy set `--forwarded-allow-ips`) may fail
`limit` logins in `window`; then it waits. Failures are rows in the database
(handlers/console/accounts.client_wait), so the limit holds whichever app process a client's tries reach; a
process that found a client waiting answers it at once, without the database or a password hash, until the
wait ends. The per-account lockout (handlers/console/accounts.py) needs failures from several clients, so no
single client can lock an account out. At most `concurrent` password checks run at once in a process, so a
flood from many addresses cannot take every core from the rest of the app.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from handlers.console import accounts

LIMIT = 5
WINDOW = timedelta(minutes=15)
MAX_CLIENTS = 50_000  # clients this process remembers as waiting


class Busy(Exception):
    """Every password-check slot stayed taken for the whole wait."""


class LoginThrottle:
    def __init__(self, limit: int = LIMIT, window: timedelta = WINDOW, concurrent: int = 2) -> None:
        self.limit, self.window = limit, window
        self._waiting: OrderedDict[str, datetime] = OrderedDict()  # client → the end of its wait
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrent)

    def retry_after(self, session: Session, client: str, now: datetime) -> float:
        """Seconds `client` must wait before its next attempt (0: it may try now)."""
        with self._lock:
            until = self._waiting.get(client)
        if until is not None and until > now:
            return (until - now).total_seconds()
        wait = accounts.client_wait(session, client, now, self.limit, self.window)
        if wait > timedelta(0):
            with self._lock:
                self._waiting[client] = now + wait
                self._waiting.move_to_end(client)
                while len(self._waiting) > MAX_CLIENTS:
                    self._waiting.popitem(last=False)
        return wait.total_seconds()

    def failed(self, session: Session, client: str, now: datetime) -> None:
        """Count a failed login (committed with the caller's transaction)."""
        accounts.client_failed(session, client, now, self.window)

    def succeeded(self, session: Session, client: str) -> None:
        """Forget the client's failures (committed with the caller's transaction)."""
        accounts.client_succeeded(session, client)
        with self._lock:
            self._waiting.pop(client, None)

    @contextmanager
    def checking(self, wait: float = 5.0) -> Iterator[None]:
        """One of the few password-check slots, or Busy after `wait` seconds."""
        if not self._slots.acquire(timeout=wait):
            raise Busy
        try:
            yield
        finally:
            self._slots.release()
