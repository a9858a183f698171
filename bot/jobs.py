"""Background jobs of an app process: the outbox sender and the case clock, each in a thread."""

from __future__ import annotations

import logging
import threading
import time

from bot import metrics
from bot.outbox.sender import OutboxSender, SendPolicy
from bot.state import AppState
from bot.wecom.api import WeComClient
from handlers.clocks import run_clocks
from handlers.visits.clock import run_visit_clock

log = logging.getLogger("gridbot.jobs")
VISIT_CLOCK_INTERVAL = 600.0  # seconds


def make_client(state: AppState) -> WeComClient:
    s = state.settings
    return WeComClient(s.wecom_api_base, s.wecom_corp_id, s.wecom_secret, s.wecom_agent_id)


class BackgroundJobs:
    """Starts and stops the periodic jobs; safe to run in any number of processes."""

    def __init__(self, state: AppState) -> None:
        self._state = state
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sender: OutboxSender | None = None

    def start(self) -> None:
        sender = self._sender = OutboxSender(self._state.factory, make_client(self._state),
                                             SendPolicy.from_settings(self._state.settings), media=self._state.media)
        self._spawn("outbox", lambda: sender.run_forever(self._stop, self._state.settings.outbox_interval))
        self._spawn("clock", self._run_clock)

    def _run_clock(self) -> None:
        """The frequent clocks (case, waiting reports, 报到: handlers/clocks.py) every `clock_interval`
        seconds, each pass in its own transaction; the visit clock (periods of weeks and months, seconds
        of reading at 10,000 special-group residents: see benchmarks/RESULTS.md) at most every
        VISIT_CLOCK_INTERVAL, in a transaction of its own so that SQLite's write lock, taken by the
        frequent clocks' writes, is not held while it reads."""
        state = self._state
        visits_due = 0.0
        while not self._stop.wait(state.settings.clock_interval):
            try:
                with state.factory.begin() as session:
                    now = state.services.clock()
                    counts = run_clocks(session, state.services, now)
                if time.monotonic() >= visits_due:
                    visits_due = time.monotonic() + VISIT_CLOCK_INTERVAL
                    with state.factory.begin() as session:
                        counts |= run_visit_clock(session, state.services, state.services.clock())
                metrics.clock_pass(counts)
            except Exception:
                log.exception("clock pass failed")

    def _spawn(self, name: str, target) -> None:
        thread = threading.Thread(target=target, name=f"gridbot-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def wake_outbox(self) -> None:
        """Send now what was just queued, instead of at the sender's next poll."""
        if self._sender is not None:
            self._sender.wakeup.set()

    def stop(self) -> None:
        self._stop.set()
        self.wake_outbox()
        for thread in self._threads:
            thread.join(timeout=10)
