"""Runs blocking database work off the event loop: one writer thread for SQLite, a pool for PostgreSQL.

SQLite allows one writer at a time; funnelling writes through one thread avoids lock
contention entirely, while crypto and parsing stay on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

T = TypeVar("T")


class DbRunner:
    def __init__(self, threads: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gridbot-db")

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Await `fn(*args, **kwargs)` on the database threads."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(fn, *args, **kwargs))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
