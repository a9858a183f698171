"""The app callback's intake: messages committed in groups, handled behind the HTTP answer.

Two sides per process (handlers/intake/inbox.py holds what they run):
- the event loop commits the messages of all requests that reached it in one turn in
  one transaction (a burst costs one commit and one fsync, not one per message), then
  lets each request answer. A commit is a fraction of a millisecond of I/O: cheaper on
  the loop than any hand-over to a thread and back;
- a processor thread handles accepted messages in batches (the oldest waiting message of each of
  up to BATCH_LIMIT users, started within BATCH_BUDGET seconds — on SQLite up to SQLITE_BATCH_LIMIT users
  within SQLITE_DRAIN_BUDGET, or SQLITE_BATCH_BUDGET while anyone in the process waits for the write lock
  or a reply —, one savepoint each, one commit for all: `inbox.process_batch`), at full speed — except during a
  flood (more than FLOOD_RATE messages/s accepted, beyond what it could handle anyway), when it
  yields to the intake (`FloodPacing`): batches bounded by FLOOD_BUDGET seconds, each followed by a
  rest that keeps the processor (and, on SQLite, its hold on the write gate) to FLOOD_SHARE of the time. Acknowledging fast keeps WeCom from
  redelivering, nothing accepted can be lost, the first messages of a burst are still handled (in
  batches: one commit for several) while it lasts, and the backlog is handled at full speed once the
  flood ebbs. (On SQLite a batch holds the write gate while it is handled: every request in flight
  waits for it, so flood batches are short.) A passive reply is handed to its request only after the commit.

A request whose message is at the head of the line waits up to REPLY_WAIT seconds and
answers with its reply (WeCom's passive reply); behind a backlog it answers at once and
the reply follows through the outbox (message/send).

On SQLite both sides write through one gate, so neither waits on the database lock (the
loop never blocks on it: it tries again a millisecond later). On PostgreSQL they run
freely, and other processes (`gridbot worker`) may process too; there a commit is a round
trip to a server that may be slow, so the group commit runs on a thread of its own and
the loop keeps serving every other route meanwhile (messages arriving during a commit
form the next group).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from handlers.chat.inbound import Inbound
from handlers.intake import inbox
from handlers.services import Services
from models.db import is_busy, lock_waiters

log = logging.getLogger("gridbot.intake")

FLOOD_RATE = 200.0  # messages/s accepted, beyond what the processor handles (~100-150/s on a 2-core machine)
FLOOD_SHARE = 0.5  # during a flood the processor runs at most this share of the time...
FLOOD_BUDGET = 0.01  # ...in batches that start no message after this many seconds (the write gate is freed often)
RATE_WINDOW = 0.1  # seconds over which the intake's rate is measured
FLOOD_POLL = 0.005  # how often a yielding processor looks again
REPLY_WAIT = 1.5  # WeCom gives up on an answer after 5 s and redelivers
PASSIVE_BACKLOG = 2  # wait for a passive reply only with at most this many messages ahead
POLL = 0.5  # how often to look for messages accepted by other processes
SQLITE_BREATH = 0.002
WRITER_WAIT = 0.15  # SQLite: how long the processor waits between two batches for this process's waiting writers
BATCH_LIMIT = 64  # messages (of distinct users) handled in one transaction
BATCH_BUDGET = 0.04  # seconds after which a batch starts no further message
# SQLite: a batch holds the write lock. While anyone in this process wants it (a group commit of the
# intake, a request waiting for its passive reply, the outbox sender or the console in BEGIN), a batch
# starts no message after this many seconds, as before batching; other processes' writers poll for the
# lock in sleeps of 1-100 ms and find it between two batches (SQLITE_BREATH).
SQLITE_BATCH_BUDGET = 0.01
# SQLite, a backlog nobody in this process waits on (no group commit, no request for a passive reply, no
# thread in BEGIN): a batch may run this long, up to SQLITE_BATCH_LIMIT messages. Each batch ends in a commit
# whose fsync (1-4 ms on a VM's disk, the process idle meanwhile) and SQLITE_BREATH left a 40 ms batch
# idle ~12 % of the time; anyone who comes to wait ends it after SQLITE_BATCH_BUDGET, as before.
SQLITE_DRAIN_BUDGET = 0.25
SQLITE_BATCH_LIMIT = 256
GATE_RETRY = 0.001  # seconds before a group commit tries the SQLite write gate again


class FloodPacing:
    """When the processor may start its next batch during a flood, and how long that batch may run.

    Outside a flood, or while a request waits for its passive reply, a batch starts at once with the
    processor's own budget. In a flood, a batch starts no message after FLOOD_BUDGET seconds and the
    next one starts only after a rest of (1/FLOOD_SHARE - 1) times the last one's duration. Wall time,
    not CPU: on SQLite a batch holds the write gate, and while it does every request in flight waits
    for its group commit (32 connections: 32 requests per gate cycle), so the intake's speed follows
    the share of time the gate is free. FLOOD_SHARE is about what the old pace (one message, a
    transaction of its own, per 0.1 s) took; cheaper messages now mean more of them per batch.
    """

    def __init__(self, budget: float) -> None:
        self.budget = budget  # the processor's batch budget outside a flood
        self._rest_until = 0.0

    def batch_budget(self, flood: bool) -> float:
        return min(self.budget, FLOOD_BUDGET) if flood else self.budget

    def ran(self, started: float, ended: float, flood: bool) -> None:
        """A batch started at `started` (monotonic seconds) ended at `ended`."""
        self._rest_until = ended + (ended - started) * (1 / FLOOD_SHARE - 1) if flood else 0.0

    def pause(self, now: float, flood: bool, waiting: bool) -> float:
        """Seconds to yield to the intake before the next batch (0: start now); `waiting`: a request
        waits for its passive reply."""
        if waiting or not flood:
            return 0.0
        return max(0.0, self._rest_until - now)


class _Busy(Exception):
    """Another writer holds SQLite's lock: the group commit is tried again shortly."""


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


class Intake:
    """Accepts app-callback messages and processes them; `start` before use, `stop` at the end."""

    def __init__(self, factory: sessionmaker[Session], services: Services, rebuild: inbox.Rebuild, *,
                 accept_factory: sessionmaker[Session], single_writer: bool,
                 on_reply_queued: Callable[[], None] = lambda: None) -> None:
        self._factory = factory  # the processor's sessions
        self._accept_factory = accept_factory  # the group commits' sessions (see AppState.build)
        self._services = services
        self._rebuild = rebuild
        self.on_reply_queued = on_reply_queued  # e.g. wakes this process's outbox sender
        self._gate = threading.Lock() if single_writer else None  # SQLite: one writer at a time
        self._pacing = FloodPacing(SQLITE_DRAIN_BUDGET if single_writer else BATCH_BUDGET)
        self._limit = SQLITE_BATCH_LIMIT if single_writer else BATCH_LIMIT
        self._engine = factory.kw["bind"]
        self._pending: list[tuple[Inbound, asyncio.Future]] = []
        self._flush_scheduled = False
        self._lock = threading.Lock()  # guards waiter states
        self._waiters: dict[str, _Waiter] = {}
        self._claimed: dict[str, _Waiter] = {}  # msg_key → waiter, claimed by the batch being handled
        self._backlog = 0  # accepted here, not yet processed (approximate across processes)
        self._accepted = 0  # new messages committed by the group commits
        self._rate_sample = (0.0, 0)  # (when, _accepted then): the processor's last look at the rate
        self._flood = False
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # PostgreSQL's group commits (one at a time); SQLite commits on the loop and never uses it.
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridbot-accept")

    # --- the event loop's side: group commits -------------------------------------------

    async def accept(self, inbound: Inbound) -> str | None:
        """Record `inbound` durably; the reply to answer with now, or None (an empty 200).

        Raises whatever the database raised when the message could not be recorded.
        """
        loop = asyncio.get_running_loop()
        accepted: asyncio.Future = loop.create_future()
        self._pending.append((inbound, accepted))
        if not self._flush_scheduled:
            # After the callbacks already queued: every request parsed in this turn of the loop
            # joins the same commit.
            self._flush_scheduled = True
            loop.call_soon(self._flush, loop)
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

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Commit every pending message in one transaction: on SQLite on the loop (a commit is ~0.3 ms
        of local I/O), on PostgreSQL on the committer thread (see `_flush_off_loop`).

        Never waits for a lock: while the processor (the gate) or another process (SQLite's lock)
        is writing, it tries again GATE_RETRY seconds later, and the requests keep waiting.
        """
        if self._gate is None:
            self._flush_off_loop(loop)
            return
        if not self._gate.acquire(blocking=False):
            loop.call_later(GATE_RETRY, self._flush, loop)
            return
        batch, self._pending = self._pending, []
        try:
            results = self._commit_each_if_needed([inbound for inbound, _ in batch])
        except _Busy:
            self._pending = batch + self._pending
            loop.call_later(GATE_RETRY, self._flush, loop)
            return
        finally:
            self._gate.release()
        self._flush_scheduled = False
        self._settle_batch(loop, batch, results)

    def _flush_off_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """PostgreSQL: the group commit on the committer thread; the loop serves other requests meanwhile."""
        batch, self._pending = self._pending, []
        done = loop.run_in_executor(self._committer, self._commit_each_if_needed, [inbound for inbound, _ in batch])
        done.add_done_callback(lambda future: self._committed(loop, batch, future))

    def _committed(self, loop: asyncio.AbstractEventLoop, batch: list[tuple[Inbound, asyncio.Future]],
                   future: asyncio.Future) -> None:
        """Back on the loop after an off-loop commit: answer its requests; messages that came meanwhile
        are the next group."""
        error = asyncio.CancelledError() if future.cancelled() else future.exception()
        results = [error] * len(batch) if error is not None else future.result()
        if self._pending:
            loop.call_soon(self._flush, loop)
        else:
            self._flush_scheduled = False
        self._settle_batch(loop, batch, results)

    def _settle_batch(self, loop: asyncio.AbstractEventLoop, batch: list[tuple[Inbound, asyncio.Future]],
                      results: list) -> None:
        """Hand each request of a committed group its answer, and wake the processor for new messages."""
        answers = [self._answer_for(inbound, loop, result) for (inbound, _), result in zip(batch, results)]
        if any(answer is None or isinstance(answer, _Waiter) for answer in answers):
            self._wake.set()  # something new to process
        for (_, future), answer in zip(batch, answers):
            _settle(future, answer)

    def _commit_each_if_needed(self, messages: list[Inbound]) -> list[inbox.Accepted | Exception]:
        """All in one commit; if that fails, each alone, so one bad message cannot refuse the others."""
        try:
            return self._commit(messages)
        except _Busy:
            raise
        except Exception as error:
            if len(messages) == 1:
                log.exception("could not record a message", extra={"msg_key": messages[0].msg_key})
                return [error]
        return [result for inbound in messages for result in self._commit_each_if_needed([inbound])]

    def _commit(self, messages: list[Inbound]) -> list[inbox.Accepted]:
        try:
            with self._accept_factory.begin() as session:
                return inbox.accept(session, messages, self._services.clock())
        except OperationalError as error:
            if is_busy(error):
                raise _Busy from error
            raise

    def _answer_for(self, inbound: Inbound, loop: asyncio.AbstractEventLoop,
                    result: inbox.Accepted | Exception) -> object:
        """What the request's future gets: a repeat's Accepted, an error, or the new message's waiter (or None)."""
        if isinstance(result, Exception) or not result.new:
            return result
        with self._lock:
            self._accepted += 1
            self._backlog += 1
            if self._backlog > PASSIVE_BACKLOG + 1:
                return None
            waiter = self._waiters[inbound.msg_key] = _Waiter(loop)
        return waiter

    # --- the processor thread ---------------------------------------------------------------

    def _process_forever(self) -> None:
        single = 0  # messages to handle one per transaction after a batch failed as a whole
        while not self._stopping.is_set():
            pause = self._pause()
            if pause > 0:
                self._stopping.wait(min(pause, FLOOD_POLL))
                continue
            self._wake.clear()
            flood, started = self._flood, time.monotonic()
            limit = 1 if single else self._limit
            try:
                with self._gate or nullcontext():
                    outcomes = inbox.process_batch(self._factory, self._services, self._rebuild, self._claim,
                                                   limit=limit, budget=self._pacing.batch_budget(flood),
                                                   enough=self.lock_wanted if self._gate else None)
            except Exception:
                self._release_claimed([])
                if limit > 1:
                    log.exception("a batch failed; handling its messages one at a time")
                    single = limit
                    continue
                log.exception("processing failed; trying again in 1 s")
                self._stopping.wait(1.0)
                continue
            self._pacing.ran(started, time.monotonic(), flood)
            single = max(0, single - len(outcomes))
            self._release_claimed(outcomes)
            for outcome in outcomes:
                self._release_unclaimed(outcome.msg_key)
            with self._lock:
                self._backlog = max(0, self._backlog - len(outcomes)) if outcomes else 0
            if not outcomes:
                self._wake.wait(POLL)
                continue
            if any(outcome.reply and not outcome.passive for outcome in outcomes):
                self.on_reply_queued()
            if self._gate is not None:
                self._let_writers_in()

    def _let_writers_in(self) -> None:
        """SQLite, between two batches: other writers wait for the lock in SQLite's busy handler, which sleeps
        1-100 ms between two tries. Other processes' writers find it in a gap of SQLITE_BREATH; a thread of this
        process waiting in BEGIN (the outbox sender, a /metrics scrape, the console) is waited for until it got
        the lock, up to WRITER_WAIT — else the next batch, cut short for it after SQLITE_BATCH_BUDGET, and the
        next, would each end while it sleeps, one commit (one fsync) for a few messages."""
        self._stopping.wait(SQLITE_BREATH)
        deadline = time.monotonic() + WRITER_WAIT
        while lock_waiters(self._engine) and time.monotonic() < deadline and not self._stopping.is_set():
            self._stopping.wait(GATE_RETRY)

    def _pause(self) -> float:
        """Seconds to yield to the intake before starting a message (0: start now)."""
        now = time.monotonic()
        when, count = self._rate_sample
        if now - when >= RATE_WINDOW:
            self._flood = (self._accepted - count) / (now - when) > FLOOD_RATE
            self._rate_sample = (now, self._accepted)
        return self._pacing.pause(now, self._flood, bool(self._waiters))

    def lock_wanted(self, elapsed: float) -> bool:
        """SQLite, between two messages of a batch that has run `elapsed` seconds: end it, past
        SQLITE_BATCH_BUDGET, when anyone in this process waits for the write lock the batch holds or for its
        commit — a group commit of the intake, a request waiting for its passive reply (its message in this
        batch or not), another thread in BEGIN (the outbox sender, the console). Nobody waiting: the batch
        runs its whole budget (SQLITE_DRAIN_BUDGET), and one commit (one fsync) serves more messages."""
        return elapsed >= SQLITE_BATCH_BUDGET and bool(self._pending or self._waiters or self._claimed
                                                       or lock_waiters(self._engine))

    def _claim(self, msg_key: str) -> bool:
        """Called by the handler before its batch commits: may this message's reply ride on the HTTP answer?"""
        with self._lock:
            waiter = self._waiters.pop(msg_key, None)
            if waiter is None or waiter.state != "waiting":
                return False
            waiter.state = "claimed"
            self._claimed[msg_key] = waiter
            return True

    def _release_claimed(self, outcomes: list[inbox.Processed]) -> None:
        """After the batch's commit (or its failure): hand claimed requests their reply (None when it was
        not committed as passive: the message failed, or the whole batch did)."""
        with self._lock:
            claimed, self._claimed = self._claimed, {}
        replies = {outcome.msg_key: outcome.reply for outcome in outcomes if outcome.passive}
        for msg_key, waiter in claimed.items():
            waiter.loop.call_soon_threadsafe(_settle, waiter.future, replies.get(msg_key))

    def _release_unclaimed(self, msg_key: str) -> None:
        """A message handled without a passive reply (no reply at all, or one queued in the outbox):
        its request answers now with an empty 200 instead of waiting out REPLY_WAIT."""
        with self._lock:
            waiter = self._waiters.pop(msg_key, None)
            if waiter is None or waiter.state != "waiting":
                return
            waiter.state = "gone"
        waiter.loop.call_soon_threadsafe(_settle, waiter.future, None)

    def wake(self) -> None:
        """Look for waiting messages now (e.g. kf messages another thread just recorded)."""
        self._wake.set()

    # --- lifetime ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the processor thread."""
        self._thread = threading.Thread(target=self._process_forever, name="gridbot-process", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the processor after the message it is handling; answer waiting requests with nothing."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._committer.shutdown(wait=False)
        with self._lock:
            waiters, self._waiters = list(self._waiters.values()), {}
        for waiter in waiters:
            waiter.loop.call_soon_threadsafe(_settle, waiter.future, None)
