"""Bounded load test on loopback: N distinct encrypted reports, each delivered K times, at concurrency C.

Every request takes the whole path (verify, decrypt, parse, classify, route, one commit, encrypted
reply). A redelivery repeats the exact signed request, as WeCom does; the second copy is sent
right behind the first (often while it is still being handled), the third well after. Afterwards
the database must hold exactly N handled messages, one case at most per message, nothing from the
redeliveries. A bare FastAPI endpoint takes the same requests in the same run as the baseline.
The load generator is a small raw HTTP/1.1 keep-alive client on asyncio + uvloop (below): it sends
each request exactly once and costs a few µs a request, so it does not hide the baseline (wrk
cannot stop after a fixed number of requests).

    .venv/bin/python benchmarks/bench_load.py [--messages 10000] [--copies 3] [--connections 32]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:55432/DB]   # that database is wiped
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path

import uvloop

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_webhook import report_texts, serve, wait_up  # noqa: E402
from benchmarks.stats import percentile  # noqa: E402
from config.settings import Settings  # noqa: E402
from tests.deploy_secrets import TEST_SECRETS, secrets_env  # noqa: E402
from tests.loadgen import bind_residents, encrypted_reports  # noqa: E402
from tests.wecom_sim import WeComSide  # noqa: E402

FIRST_MSG_ID = 5 * 10**12
RESIDENTS = 2000
_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")


def build_requests(side: WeComSide, messages: int, copies: int) -> list[bytes]:
    """Raw HTTP requests: copy 2 five places after copy 1 (concurrent with it), copy 3 1,000 places later."""
    userids = [f"load-{i:05d}" for i in range(RESIDENTS)]
    deliveries = encrypted_reports(side, userids, messages, FIRST_MSG_ID, report_texts())
    offsets = [0, 5] + [1000 * k for k in range(1, copies - 1)]
    order = sorted(((i + offsets[c], c, d) for i, d in enumerate(deliveries) for c in range(copies)),
                   key=lambda item: item[:2])
    return [(f"POST {d.target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
             f"Content-Length: {len(d.body)}\r\n\r\n").encode() + d.body for _, _, d in order]


async def _connection(port: int, pending: deque[bytes], latencies: list[float], failures: Counter) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while pending:
        raw = pending.popleft()
        started = time.perf_counter()
        try:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            length = _CONTENT_LENGTH.search(head)
            await reader.readexactly(int(length.group(1)) if length else 0)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            failures[type(error).__name__] += 1
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        latencies.append(time.perf_counter() - started)
        status = int(head[9:12])
        if status != 200:
            failures[f"HTTP {status}"] += 1
    writer.close()


async def _load(port: int, requests: list[bytes], connections: int) -> dict:
    pending, latencies, failures = deque(requests), [], Counter()
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, pending, latencies, failures) for _ in range(connections)))
    seconds = time.perf_counter() - started
    return {"answers": len(latencies), "seconds": seconds, "rps": len(latencies) / seconds,
            **{f"p{p}": percentile(latencies, p / 100) * 1000 for p in (50, 95, 99)},
            "max": max(latencies) * 1000, "errors": sum(failures.values()),
            "failures": dict(failures)}


def run_load(port: int, requests: list[bytes], connections: int) -> dict:
    uvloop.install()
    return asyncio.run(_load(port, requests, connections))


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def prepare_database(url: str) -> None:
    """An empty database with the schema, the demo district and the bench's bound residents."""
    from models.db import make_engine, make_session_factory
    from tests.conftest import reset_database

    reset_database(url)
    subprocess.run([sys.executable, "-m", "bot", "db", "init", "--demo"], cwd=REPO, check=True,
                   env={**os.environ, "GRIDBOT_DATABASE_URL": url}, capture_output=True)
    engine = make_engine(url)
    bind_residents(make_session_factory(engine), "load", RESIDENTS)
    engine.dispose()


def outcome(url: str, messages: int) -> dict:
    """What the database holds after the run."""
    from sqlalchemy import func, select

    from models import Case, InboundMessage, OutboxMessage
    from models.db import make_engine, make_session_factory

    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        def count(model) -> int:
            return session.scalar(select(func.count()).select_from(model))

        linked = session.execute(select(InboundMessage.case_id, func.count()).where(InboundMessage.case_id.is_not(None))
                                 .group_by(InboundMessage.case_id)).all()
        ours = session.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.msg_key.in_([f"app:{FIRST_MSG_ID + i}" for i in range(messages)])))
        result = {"handled": ours, "records": count(InboundMessage), "cases": count(Case),
                  "messages_with_case": sum(n for _, n in linked), "messages_per_case_max": max((n for _, n in linked), default=0),
                  "notices": count(OutboxMessage)}
    engine.dispose()
    return result


def run_app(name: str, app: str, factory: bool, env: dict, requests: list[bytes], connections: int,
            port: int) -> dict:
    proc = serve(app, port, env, factory)
    try:
        wait_up(f"http://127.0.0.1:{port}/")
        result = run_load(port, requests, connections)
        result["rss_mb"] = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"  {name}: {result['answers']:.0f} answers in {result['seconds']:.1f} s", file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", help="also run on this PostgreSQL database (it is wiped)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gridbot-load-"))
    settings = Settings(_env_file=None, **TEST_SECRETS)
    side = WeComSide(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    requests = build_requests(side, args.messages, args.copies)
    env = {"GRIDBOT_RUN_BACKGROUND_JOBS": "false", "GRIDBOT_USER_RATE_LIMIT": "0",
           "GRIDBOT_WECOM_MAX_AGE": "3600", "GRIDBOT_LOG_LEVEL": "WARNING", **secrets_env(settings)}
    databases = {"SQLite (WAL)": f"sqlite:///{work / 'load.db'}"}
    if args.postgres:
        databases["PostgreSQL 15"] = args.postgres

    rows = [("bare FastAPI endpoint", run_app("bare", "benchmarks.bare_app:app", False, env, requests,
                                              args.connections, 18811), None)]
    for name, url in databases.items():
        prepare_database(url)
        result = run_app(name, "bot.app:create_app", True, {**env, "GRIDBOT_DATABASE_URL": url}, requests,
                         args.connections, 18812)
        rows.append((f"gridbot full path, {name}", result, outcome(url, args.messages)))

    print(f"date: {datetime.date.today()}; machine: {os.uname().sysname} {os.uname().release} "
          f"{os.uname().machine}, {os.cpu_count()} cores")
    print(f"command: .venv/bin/python benchmarks/bench_load.py --messages {args.messages} --copies {args.copies} "
          f"--connections {args.connections}{' --postgres …' if args.postgres else ''}  "
          f"(raw asyncio+uvloop HTTP/1.1 client, {args.connections} keep-alive connections, "
          f"{len(requests)} requests; uvicorn 1 worker, uvloop + httptools)")
    print("| server | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r, _ in rows:
        print(f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p95']:.2f} | {r['p99']:.2f} | {r['max']:.1f} | "
              f"{r['errors']} {r['failures'] or ''} | {r['rss_mb']:.0f} |")
    print("\n| database | distinct reports | handled (one record each) | records in all | cases | "
          "messages linked to a case | max messages per case | notices queued |")
    print("|---|---|---|---|---|---|---|---|")
    for name, _, o in rows[1:]:
        print(f"| {name.split(', ')[1]} | {args.messages} | {o['handled']} | {o['records']} | {o['cases']} | "
              f"{o['messages_with_case']} | {o['messages_per_case_max']} | {o['notices']} |")


if __name__ == "__main__":
    main()
