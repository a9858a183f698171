"""Outbox sending rate against the fake WeCom on loopback, with a bare-client baseline in the same run.

    .venv/bin/python benchmarks/bench_outbox.py [--notices 1000] [--database-url URL]

Baseline: the same `WeComClient` posting message/send in a loop with no database (the ceiling the
fake and httpx allow). Then `OutboxSender` draining queued notices (one row claimed, sent and
marked sent per notice, each in its own transaction): without and with per-recipient pacing,
and three senders racing. Every notice has its own recipient, so pacing never folds; it only
costs its per-batch query.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.outbox.sender import OutboxSender, SendPolicy  # noqa: E402
from bot.wecom.api import WeComClient  # noqa: E402
from demo.fake_wecom import create_fake_wecom  # noqa: E402
from models.db import make_engine, make_session_factory  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.outbox import queue_notice  # noqa: E402
from tests.conftest import reset_database  # noqa: E402
from tests.servers import serve_in_thread  # noqa: E402

POLICY = SendPolicy(lease=60)


def client(url: str) -> WeComClient:
    return WeComClient(url, "wwbench", "bench-secret", 1000002)


def baseline(url: str, count: int) -> float:
    wecom = client(url)
    started = time.perf_counter()
    for i in range(count):
        wecom.send_text(f"bare-{i}", f"bare notice {i}")
    return count / (time.perf_counter() - started)


def queue(factory, count: int, prefix: str) -> None:
    with factory.begin() as session:
        for i in range(count):
            queue_notice(session, channel="user", recipient=f"{prefix}-{i}", text=f"{prefix} notice {i}",
                         dedupe_key=f"{prefix}:{i}")


def drain(factory, url: str, count: int, prefix: str, policy: SendPolicy, senders: int = 1) -> float:
    queue(factory, count, prefix)
    workers = [OutboxSender(factory, client(url), policy) for _ in range(senders)]

    def run(sender: OutboxSender) -> None:
        while sender.run_once():
            pass

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert sum(w.stats.sent for w in workers) == count, [w.stats for w in workers]
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=1000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    reset_database(url)
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    n = args.notices
    with serve_in_thread(create_fake_wecom()) as fake:
        client(fake).token()  # warm up the fake
        rows = [
            ("bare WeComClient loop, no database (baseline)", baseline(fake, n)),
            ("1 sender, pacing off", drain(factory, fake, n, "off", replace(POLICY, pace_per_minute=0))),
            ("1 sender, pacing on (default 25/min/recipient)", drain(factory, fake, n, "on", POLICY)),
            ("3 senders racing, pacing on", drain(factory, fake, n, "race", POLICY, senders=3)),
        ]
    engine.dispose()
    print(f"{engine.dialect.name}, {n} notices each, load average {os.getloadavg()[0]:.1f}")
    print("| run | sends/s |\n|---|---|")
    for name, rate in rows:
        print(f"| {name} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
