"""SQLite: a processor batch holds the write lock. With nobody waiting for it the batch runs its whole
budget (one commit, one fsync, for more messages); once another thread of the process waits in BEGIN
IMMEDIATE (the outbox sender, the console), or a request for its passive reply from this batch, the batch
ends after SQLITE_BATCH_BUDGET, as before, and the next one starts only once that thread got the lock."""

from __future__ import annotations

import asyncio
import threading
import time

from bot import intake as intake_module
from bot.intake import BATCH_BUDGET, SQLITE_BATCH_BUDGET, Intake, _Waiter
from bot.metrics import BacklogCollector
from handlers.intake import inbox
from models import OutboxMessage
from models.db import lock_waiters, make_engine, make_session_factory
from models.migrate import upgrade


def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_a_thread_waiting_for_the_write_lock_is_counted_and_cuts_the_batch_until_it_got_the_lock(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    factory = make_session_factory(engine)
    intake = Intake(factory, None, None, accept_factory=factory, single_writer=True)
    holder = engine.connect()
    holder.begin()  # BEGIN IMMEDIATE: this connection holds the write lock, as a batch does
    assert lock_waiters(engine) == 0
    assert not intake.lock_wanted(BATCH_BUDGET * 0.9)  # nobody waits: the batch may run its whole budget
    wrote = threading.Event()

    def writer() -> None:
        with engine.begin() as connection:  # waits in BEGIN IMMEDIATE (busy_timeout) for the lock
            connection.exec_driver_sql("CREATE TABLE written (id INTEGER)")
        wrote.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        _until(lambda: lock_waiters(engine) == 1)
        assert intake.lock_wanted(SQLITE_BATCH_BUDGET)  # past the short budget: end the batch now
        assert not intake.lock_wanted(SQLITE_BATCH_BUDGET / 2)  # ...but not before it
    finally:
        holder.commit()
        holder.close()
        thread.join(timeout=10)
    assert wrote.is_set() and lock_waiters(engine) == 0
    assert not intake.lock_wanted(BATCH_BUDGET * 0.9)
    engine.dispose()


def test_a_request_waiting_for_its_reply_from_the_batch_cuts_the_batch_after_the_short_budget(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    factory = make_session_factory(engine)
    intake = Intake(factory, None, None, accept_factory=factory, single_writer=True)
    loop = asyncio.new_event_loop()
    try:
        intake._waiters["app:1"] = _Waiter(loop)
        assert intake._claim("app:1")  # the batch took the message whose request waits for its reply
        assert not intake._waiters
        assert intake.lock_wanted(SQLITE_BATCH_BUDGET)  # its reply waits for the commit: end the batch now
        assert not intake.lock_wanted(SQLITE_BATCH_BUDGET / 2)
        intake._release_claimed([])
        assert not intake.lock_wanted(BATCH_BUDGET * 0.9)
    finally:
        loop.close()
        engine.dispose()


def test_a_thread_waiting_for_the_write_lock_gets_it_before_the_processors_next_batch(tmp_path, monkeypatch):
    # The writer waits in SQLite's busy handler, which sleeps longer and longer between tries (25-100 ms once
    # it has waited a while): a short gap between two batches let the next batch take the lock while it slept.
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    factory = make_session_factory(engine)
    order: list[str] = []
    holding = threading.Event()

    def batch(factory, *_args, **_kwargs) -> list[inbox.Processed]:
        if order.count("batch") == 2:
            return []
        with factory.begin() as session:
            session.connection()  # BEGIN IMMEDIATE: the batch holds the write lock
            order.append("batch")
            holding.set()
            time.sleep(0.4)
        return [inbox.Processed(f"app:{len(order)}", None, False)]

    def writer() -> None:
        holding.wait(10)
        with engine.begin():
            order.append("writer")

    monkeypatch.setattr(intake_module.inbox, "process_batch", batch)
    intake = Intake(factory, None, None, accept_factory=factory, single_writer=True)
    thread = threading.Thread(target=writer)
    thread.start()
    intake.start()
    try:
        _until(lambda: order.count("batch") == 2 and "writer" in order)
    finally:
        intake.stop()
        thread.join(timeout=10)
        engine.dispose()
    assert order == ["batch", "writer", "batch"]


def test_a_metrics_scrape_reads_the_outbox_backlog_while_a_batch_holds_the_write_lock(tmp_path):
    # bench_handling scrapes /metrics every 0.5 s: its backlog read began IMMEDIATE, so it waited for the lock a
    # processor's batch held, on the database thread the intake's group commits share, and cut that batch short.
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    upgrade(url)
    engine = make_engine(url, busy_timeout=1.0)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        session.add(OutboxMessage(dedupe_key="n1", channel="user", recipient="w", text="您好", status="pending"))
    holder = engine.connect()
    holder.begin()  # BEGIN IMMEDIATE: this connection holds the write lock, as a batch does
    try:
        started = time.monotonic()
        families = {family.name: family for family in BacklogCollector(factory).collect()}
        assert time.monotonic() - started < 0.5  # read at once, not after the lock's busy timeout
        assert {sample.labels["status"]: sample.value for sample in families["gridbot_outbox_notices"].samples} \
            == {"pending": 1, "dead": 0}
        assert lock_waiters(engine) == 0
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
