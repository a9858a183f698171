"""Login throttling per client, checked before any password or account is looked at.

A client (its address, as uvicorn reports it: behind a proxy set `--forwarded-allow-ips`) may fail
`limit` logins in `window` seconds; then it waits, answered at once without touching the database
or hashing a password. The per-account lockout (handlers/console/accounts.py) needs failures from
several clients, so no single client can lock an account out. At most `concurrent` password checks
run at once, so a flood from many addresses cannot take every core from the rest of the app.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager

LIMIT = 5
WINDOW = 15 * 60.0
MAX_CLIENTS = 50_000


class Busy(Exception):
    """Every password-check slot stayed taken for the whole wait."""


class LoginThrottle:
    def __init__(self, limit: int = LIMIT, window: float = WINDOW, concurrent: int = 2,
                 clock=time.monotonic) -> None:
        self.limit, self.window = limit, window
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrent)

    def retry_after(self, client: str) -> float:
        """Seconds `client` must wait before its next attempt (0: it may try now)."""
        now = self._clock()
        with self._lock:
            failures = self._failures.get(client)
            if failures is None:
                return 0.0
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) < self.limit:
                return 0.0
            return failures[0] + self.window - now

    def failed(self, client: str) -> None:
        with self._lock:
            failures = self._failures.setdefault(client, deque(maxlen=self.limit))
            failures.append(self._clock())
            self._failures.move_to_end(client)
            while len(self._failures) > MAX_CLIENTS:
                self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    @contextmanager
    def checking(self, wait: float = 5.0) -> Iterator[None]:
        """One of the few password-check slots, or Busy after `wait` seconds."""
        if not self._slots.acquire(timeout=wait):
            raise Busy
        try:
            yield
        finally:
            self._slots.release()
