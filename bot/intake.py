"""The app callback's intake: messages committed in groups, handled behind the HTTP answer.

Two threads per process (handlers/inbox.py holds what they run):
- the writer commits every message the event loop hands it — all that queued up
  meanwhile in one transaction, so a burst costs one commit, not one per message —
  and then lets each request answer;
- the processor handles accepted messages one at a time. During a burst it yields to
  the writer (fast acknowledgements keep WeCom from redelivering, and nothing accepted
  can be lost), starting a message only when the writer has been idle for QUIET seconds
  for QUIET seconds, and otherwise spends at most 1 / (1 + YIELD) of the time processing.

A request whose message is at the head of the line waits up to REPLY_WAIT seconds and
answers with its reply (WeCom's passive reply); behind a backlog it answers at once and
the reply follows through the outbox (message/send).

On SQLite both threads write through one gate, so they never wait on the database lock.
On PostgreSQL they run freely, and other processes (`gridbot worker`) may process too.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy.orm import Session, sessionmaker

from handlers import inbox
from handlers.inbound import Inbound
from handlers.services import Services

log = logging.getLogger("gridbot.intake")

QUIET = 0.02
YIELD = 3.0
REPLY_WAIT = 1.5  # WeCom gives up on an answer after 5 s and redelivers
PASSIVE_BACKLOG = 2  # wait for a passive reply only with at most this many messages ahead
POLL = 0.5  # how often to look for messages accepted by other processes
MAX_BATCH = 256


class _Waiter:
    """One HTTP request waiting for its message's reply; the processor claims it before committing."""

    __slots__ = ("loop", "future", "state")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future = loop.create_future()
        self.state = "waiting"  # → claimed (processor) or gone (request timed out)


def _settle(future: asyncio.Future, value: object) -> None:
    if not future.done():
        future.set_exception(value) if isinstance(value, BaseException) else future.set_result(value)


def _settle_all(pairs: list[tuple[asyncio.Future, object]]) -> None:
    for future, value in pairs:
        _settle(future, value)


class Intake:
    """Accepts app-callback messages and processes them; `start` before use, `stop` at the end."""

    def __init__(self, factory: sessionmaker[Session], services: Services, rebuild: inbox.Rebuild, *,
                 single_writer: bool, on_reply_queued: Callable[[], None] = lambda: None) -> None:
        self._factory = factory
        self._services = services
        self._rebuild = rebuild
        self.on_reply_queued = on_reply_queued  # e.g. wakes this process's outbox sender
        self._gate: AbstractContextManager = threading.Lock() if single_writer else nullcontext()
        self._incoming: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards waiter states
        self._waiters: dict[str, _Waiter] = {}
        self._claimed: list[_Waiter] = []
        self._backlog = 0  # accepted here, not yet processed (approximate across processes)
        self._last_write = 0.0
        self._rest_until = 0.0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- the event loop's side --------------------------------------------------------------

    async def accept(self, inbound: Inbound) -> str | None:
        """Record `inbound` durably; the reply to answer with now, or None (an empty 200).

        Raises whatever the database raised when the message could not be recorded.
        """
        loop = asyncio.get_running_loop()
        accepted: asyncio.Future = loop.create_future()
        self._incoming.put((inbound, accepted, loop))
        result = await accepted
        if isinstance(result, inbox.Accepted):
            return result.stored_reply
        return await self._await_reply(inbound.msg_key, result)

    async def _await_reply(self, msg_key: str, waiter: _Waiter | None) -> str | None:
        if waiter is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(waiter.future), REPLY_WAIT)
        except asyncio.TimeoutError:
            with self._lock:
                if waiter.state == "waiting":
                    waiter.state = "gone"
                    self._waiters.pop(msg_key, None)
                    return None
            return await waiter.future  # claimed: the processor is committing and settles it next

    # --- the writer thread ------------------------------------------------------------------

    def _write_forever(self) -> None:
        while (first := self._incoming.get()) is not None:
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._incoming.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._incoming.put(None)
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[tuple[Inbound, asyncio.Future, asyncio.AbstractEventLoop]]) -> None:
        try:
            results = self._commit([inbound for inbound, _, _ in batch])
        except Exception as error:
            if len(batch) > 1:  # one bad message must not refuse the others
                for item in batch:
                    self._write([item])
                return
            log.exception("could not record a message", extra={"msg_key": batch[0][0].msg_key})
            results = [error]
        self._last_write = time.monotonic()
        answers = [self._answer_for(inbound, loop, result) for (inbound, _, loop), result in zip(batch, results)]
        if any(answer is None or isinstance(answer, _Waiter) for answer in answers):
            self._wake.set()  # something new to process
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        for (_, future, loop), answer in zip(batch, answers):
            by_loop.setdefault(loop, []).append((future, answer))
        for loop, pairs in by_loop.items():
            loop.call_soon_threadsafe(_settle_all, pairs)

    def _commit(self, messages: list[Inbound]) -> list[inbox.Accepted]:
        with self._gate, self._factory.begin() as session:
            now = self._services.clock()
            return inbox.accept(session, messages, now)

    def _answer_for(self, inbound: Inbound, loop: asyncio.AbstractEventLoop,
                    result: inbox.Accepted | Exception) -> object:
        """What the request's future gets: a repeat's Accepted, an error, or the new message's waiter (or None)."""
        if isinstance(result, Exception) or not result.new:
            return result
        with self._lock:
            self._backlog += 1
            if self._backlog > PASSIVE_BACKLOG + 1:
                return None
            waiter = self._waiters[inbound.msg_key] = _Waiter(loop)
        return waiter

    # --- the processor thread ---------------------------------------------------------------

    def _process_forever(self) -> None:
        while not self._stopping.is_set():
            pause = self._pause()
            if pause > 0:
                self._stopping.wait(pause)
                continue
            self._wake.clear()
            started = time.monotonic()
            try:
                with self._gate:
                    outcome = inbox.process_next(self._factory, self._services, self._rebuild, self._claim)
            except Exception:
                log.exception("processing failed; trying again in 1 s")
                self._release_claimed(None)
                self._stopping.wait(1.0)
                continue
            self._release_claimed(outcome)
            with self._lock:
                self._backlog = 0 if outcome is None else max(0, self._backlog - 1)
            if outcome is None:
                self._wake.wait(POLL)
                continue
            finished = time.monotonic()
            self._rest_until = finished + (finished - started) * YIELD
            if outcome.reply and not outcome.passive:
                self.on_reply_queued()

    def _pause(self) -> float:
        """Seconds to yield to the writer before starting a message (0: start now)."""
        if self._waiters:
            return 0.0
        now = time.monotonic()
        return max(0.0, min(self._last_write + QUIET - now, self._rest_until - now))

    def _claim(self, msg_key: str) -> bool:
        """Called by the handler just before it commits: may this message's reply ride on the HTTP answer?"""
        with self._lock:
            waiter = self._waiters.pop(msg_key, None)
            if waiter is None or waiter.state != "waiting":
                return False
            waiter.state = "claimed"
            self._claimed.append(waiter)
            return True

    def _release_claimed(self, outcome: inbox.Processed | None) -> None:
        """Hand claimed requests their reply (None when it was not committed as passive)."""
        with self._lock:
            claimed, self._claimed = self._claimed, []
        for waiter in claimed:
            reply = outcome.reply if outcome is not None and outcome.passive else None
            waiter.loop.call_soon_threadsafe(_settle, waiter.future, reply)

    # --- lifetime ---------------------------------------------------------------------------

    def start(self, *, accepting: bool = True) -> None:
        """Start the processor (and the writer when this process accepts messages)."""
        targets = [("process", self._process_forever)] + ([("intake", self._write_forever)] if accepting else [])
        for name, target in targets:
            thread = threading.Thread(target=target, name=f"gridbot-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Finish the writes already handed over, then stop both threads."""
        self._incoming.put(None)
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        with self._lock:
            waiters, self._waiters = list(self._waiters.values()), {}
        for waiter in waiters:
            waiter.loop.call_soon_threadsafe(_settle, waiter.future, None)
