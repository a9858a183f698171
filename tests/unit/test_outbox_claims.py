"""Exactly one send per outbox row with several senders: racing threads, separate processes, a sender
killed mid-send, and a sender whose lease ran out. Runs on SQLite (claims serialised by the single
writer lock) and on PostgreSQL (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

from bot.outbox import claims
from models.db import make_engine, make_session_factory
from tests.unit.outbox_support import (  # noqa: F401 (fixtures)
    AGENT_ID,
    CORP_ID,
    FAST,
    SECRET,
    factory,
    fake,
    fake_url,
    later,
    queue,
    rows,
    sender_for,
)

SEND = "/cgi-bin/message/send"


def raw_sends(fake) -> Counter:
    """Every text WeCom was asked to send, however it answered (duplicates included)."""
    return Counter(c["json"]["text"]["content"] for c in fake.calls(SEND, all=True) if c["errcode"] == 0)


def wait_until(probe, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_senders_racing_in_threads_send_every_row_exactly_once(factory, fake, database_url):
    texts = queue(factory, 300, "race")
    engines = [make_engine(database_url) for _ in range(3)]
    senders = [sender_for(make_session_factory(engine), fake.url) for engine in engines]
    started = time.perf_counter()

    def run(sender) -> None:
        idle = 0
        while idle < 3:
            idle = idle + 1 if sender.run_once() == 0 else 0

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - started
    for engine in engines:
        engine.dispose()
    assert raw_sends(fake) == Counter(texts)  # each row once: not even a duplicate WeCom had to drop
    assert all(row.status == "sent" and row.attempts == 1 for row in rows(factory, "race"))
    shares = [s.stats.sent for s in senders]
    assert sum(shares) == 300 and sum(1 for share in shares if share) >= 2  # they really raced
    print(f"\noutbox race: 3 senders sent 300 rows in {elapsed:.2f} s = {300 / elapsed:.0f} sends/s, "
          f"shares {shares}, 0 duplicates ({factory.kw['bind'].dialect.name})")


def _sender_process(database_url: str, fake_url: str) -> subprocess.Popen:
    env = {**os.environ, "GRIDBOT_DATABASE_URL": database_url, "GRIDBOT_WECOM_API_BASE": fake_url,
           "GRIDBOT_WECOM_CORP_ID": CORP_ID, "GRIDBOT_WECOM_SECRET": SECRET, "GRIDBOT_WECOM_AGENT_ID": str(AGENT_ID)}
    return subprocess.Popen([sys.executable, "-m", "bot", "outbox", "run", "--interval", "0.05"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sender_processes_send_every_row_exactly_once(factory, fake, database_url):
    texts = queue(factory, 150, "proc")
    fake.faults({"path": SEND, "delay": 0.005, "times": -1})  # a WeCom with some latency
    processes = [_sender_process(database_url, fake.url) for _ in range(2)]
    try:
        wait_until(lambda: sum(raw_sends(fake).values()) >= 150)
        time.sleep(0.3)  # room for a double send to show up, if there were one
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        errors = [process.communicate(timeout=20)[1].decode() for process in processes]
    assert raw_sends(fake) == Counter(texts), errors
    wait_until(lambda: all(row.status == "sent" for row in rows(factory, "proc")), 10)


def test_a_sender_killed_mid_send_loses_nothing_and_doubles_nothing(factory, fake, database_url):
    texts = queue(factory, 40, "kill")
    fake.faults({"path": SEND, "delay": 0.1, "times": -1})
    process = _sender_process(database_url, fake.url)
    wait_until(lambda: len(raw_sends(fake)) >= 5)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    fake.http.delete("/_fake/faults")
    marked_sent = {r.text for r in rows(factory, "kill") if r.status == "sent"}

    sender = sender_for(factory, fake.url)
    while sender.run_once():
        pass
    waiting = [r for r in rows(factory, "kill") if r.status == "pending"]
    assert waiting and all(r.claimed_by for r in waiting)  # the dead sender's claims wait for its lease
    while sender.run_once(later(121)):  # the production lease is 120 s
        pass
    assert all(row.status == "sent" for row in rows(factory, "kill"))
    assert fake.delivered_texts() == Counter(texts)  # everyone got each notice once, nothing lost
    sent_twice = {text for text, count in raw_sends(fake).items() if count > 1}
    assert not sent_twice & marked_sent  # a row marked sent is never sent again...
    assert len(sent_twice) <= 1  # ...only one in flight at the kill can be, and WeCom's duplicate check drops it


def test_the_dead_senders_claims_are_sent_only_after_its_lease(factory, fake):
    queue(factory, 5, "lease")
    now = later(0)
    abandoned = claims.claim(factory, "crashed-sender", now, timedelta(seconds=FAST.lease), 3)
    sender = sender_for(factory, fake.url)
    assert sender.run_once(now) == 2
    assert sender.run_once(later(FAST.lease - 1, now)) == 0
    assert sender.run_once(later(FAST.lease + 1, now)) == 3
    assert {r.id: r.attempts for r in rows(factory, "lease")} == {
        r.id: 2 if r.id in {a.id for a in abandoned} else 1 for r in rows(factory, "lease")}
    assert len(raw_sends(fake)) == 5


def test_a_sender_that_outlived_its_lease_cannot_overwrite_the_new_claim(factory, fake):
    queue(factory, 1, "late")
    now = later(0)
    slow, = claims.claim(factory, "slow-sender", now, timedelta(seconds=10), 1)
    fresh, = claims.claim(factory, "next-sender", later(11, now), timedelta(seconds=10), 1)
    assert claims.mark_retry(factory, slow.id, "slow-sender", later(60, now), "too late") is False
    assert claims.mark_sent(factory, [fresh.id], "next-sender", later(12, now)) == 1
    row, = rows(factory, "late")
    assert (row.status, row.last_error, row.attempts) == ("sent", None, 2)
