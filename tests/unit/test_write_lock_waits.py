"""SQLite: a processor batch holds the write lock. With nobody waiting for it the batch runs its whole
budget (one commit, one fsync, for more messages); once another thread of the process waits in BEGIN
IMMEDIATE (the outbox sender, the console), the batch ends after SQLITE_BATCH_BUDGET, as before."""

from __future__ import annotations

import threading
import time

from bot.intake import BATCH_BUDGET, SQLITE_BATCH_BUDGET, Intake
from models.db import lock_waiters, make_engine, make_session_factory


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
