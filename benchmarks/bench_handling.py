"""Handled messages per second for 6,000 reports from 6,000 residents, against a bare FastAPI endpoint.

The scenario of issue 21 (a typhoon night): 6,000 residents nobody has seen before each send one
report naming their estate and building ("阳光小区1期3栋楼道里的灯坏了…"), so every message
creates its resident, finds the unit in the text, classifies, routes, opens (or links) a case and
queues its notices. All 6,000 are sent at `--connections` keep-alive connections (the raw
asyncio + uvloop client of bench_load.py); the figure is the time from the first request to the
moment the last message is handled, counted by `gridbot_inbound_messages_total{outcome="handled"}`
on every handling process's `/metrics` (polled every POLL seconds: a scrape reads the outbox backlog,
which on SQLite takes the write lock, so polling more often slows what it measures).

Beside the rate, the CPU the handling processes spent (user + system, from /proc, between the app being up
and the last message handled) per message handled: on this shared machine the rate moves with other
processes' load by ±10–15 %, the CPU a message costs much less.

Baseline, same run: wrk against the bare FastAPI endpoint (`benchmarks/bare_app.py`) with the same
encrypted requests; the target is handled/s ≥ 10 % of its requests/s.

Runs: SQLite (one app process), and with `--postgres URL` (that database is wiped) PostgreSQL with
the app and two `gridbot worker --no-jobs` processes handling beside it (no outbox sender, no clock: the
figure is about handling; before 2026-11-30 16:00 UTC the workers ran both, and their senders tried to deliver
every queued notice to an unreachable API during the run).

    .venv/bin/python benchmarks/bench_handling.py [--residents 6000] [--connections 32]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:55432/bench] [--skip-sqlite]
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
from pathlib import Path

import httpx
import uvloop

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_load import _load  # noqa: E402
from benchmarks.bench_webhook import prepare_database, run_wrk, serve, wait_up, write_requests  # noqa: E402
from config.settings import Settings  # noqa: E402
from tests.deploy_secrets import TEST_SECRETS  # noqa: E402
from tests.loadgen import encrypted_reports  # noqa: E402
from tests.wecom_sim import WeComSide  # noqa: E402

FIRST_MSG_ID = 7 * 10**12
POLL = 0.5
PHRASES = ["楼道里的灯坏了好几天，晚上上下楼很危险", "门口的垃圾桶满了没人清理，臭味很大",
           "楼上装修电钻声从早到晚不停，吵得没法休息", "楼道里堆满了杂物和纸箱，有火灾隐患",
           "地下室漏水积水很深，墙都泡坏了", "电梯又坏了，老人上不了楼", "楼下有人占用消防通道停车",
           "小区里有人乱扔垃圾，草坪上到处都是", "单元门的门禁坏了，陌生人随便进出",
           "楼下井盖丢了，差点有人掉下去", "楼前的路面塌陷了一个大坑", "半夜广场舞音响太吵了"]
_HANDLED = re.compile(r'^gridbot_inbound_messages_total\{[^}]*outcome="(\w+)"[^}]*\} ([\d.e+]+)$', re.M)


def scenario_texts(database_url: str, count: int) -> list[str]:
    """`count` reports, each naming a unit's estate and building the way residents write it (its aliases)."""
    from sqlalchemy import create_engine, select

    from models import Unit

    engine = create_engine(database_url)
    with engine.connect() as connection:
        aliases = [max(row.aliases, key=len) if row.aliases else row.address
                   for row in connection.execute(select(Unit.address, Unit.aliases).order_by(Unit.id))]
    engine.dispose()
    return [f"{aliases[i % len(aliases)]}{PHRASES[(i // len(aliases)) % len(PHRASES)]}" for i in range(count)]


def raw_requests(side: WeComSide, texts: list[str]) -> list[bytes]:
    """One encrypted report per resident (a resident of their own for each text), as raw HTTP/1.1 requests."""
    userids = [f"typhoon-{i:05d}" for i in range(len(texts))]
    return [(f"POST {d.target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
             f"Content-Length: {len(d.body)}\r\n\r\n").encode() + d.body
            for d in encrypted_reports(side, userids, len(texts), FIRST_MSG_ID, texts)]


async def _outcomes(client: httpx.AsyncClient, urls: list[str]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for url in urls:
        text = (await client.get(url)).text
        for outcome, value in _HANDLED.findall(text):
            totals[outcome] = totals.get(outcome, 0) + float(value)
    return totals


async def _run(port: int, requests: list[bytes], connections: int, metrics: list[str], timeout: float) -> dict:
    """Send everything; poll the handling processes' counters until every message is accounted for."""
    expected = len(requests)
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()
        sending = asyncio.ensure_future(_load(port, requests, connections))
        totals: dict[str, float] = {}
        while time.perf_counter() - started < timeout:
            await asyncio.sleep(POLL)
            try:
                totals = await _outcomes(client, metrics)
            except httpx.HTTPError:  # a scrape that waited too long (a busy process): look again
                continue
            if sending.done() and sum(v for k, v in totals.items() if k != "redelivery") >= expected:
                break
        handled_at = time.perf_counter() - started
        load = await sending
    return {"load": load, "seconds": handled_at, "outcomes": totals}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes `pids` have spent so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    return total / ticks


def run_scenario(port: int, requests: list[bytes], connections: int, metrics: list[str]) -> dict:
    uvloop.install()
    return asyncio.run(_run(port, requests, connections, metrics, timeout=1800))


def run_database(name: str, url: str, env: dict, side: WeComSide, residents: int, connections: int,
                 workers: int) -> dict:
    """The scenario on one database: the app (+ `workers` gridbot worker processes) handling."""
    requests = raw_requests(side, scenario_texts(url, residents))
    port = 18822
    env = {**env, "GRIDBOT_DATABASE_URL": url, "GRIDBOT_LOG_LEVEL": "WARNING",
           # No outbox sender and no clock run (the app: prepare_database's environment; the workers:
           # --no-jobs): the figure is about handling. Were one to run, it would find the API refused at once.
           "GRIDBOT_OUTBOX_INTERVAL": "3600", "GRIDBOT_CLOCK_INTERVAL": "3600",
           "GRIDBOT_WECOM_API_BASE": "http://127.0.0.1:9"}
    helpers = [subprocess.Popen([sys.executable, "-m", "bot", "worker", "--no-jobs"], cwd=REPO, stderr=subprocess.DEVNULL,
                                env={**os.environ, **env, "GRIDBOT_METRICS_PORT": str(port + 1 + i)})
               for i in range(workers)]
    app = serve("bot.app:create_app", port, env, True)
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz")
        metrics = [f"http://127.0.0.1:{port}/metrics"] + [f"http://127.0.0.1:{port + 1 + i}/metrics"
                                                          for i in range(workers)]
        for url_ in metrics[1:]:
            wait_up(url_)
        pids = [process.pid for process in [app, *helpers]]
        spent = cpu_seconds(pids)
        result = run_scenario(port, requests, connections, metrics)
        result["cpu"] = cpu_seconds(pids) - spent
    finally:
        for process in [app, *helpers]:
            process.terminate()
        for process in [app, *helpers]:
            process.wait(timeout=30)
    result["cases"] = _cases(url)
    print(f"  {name}: {result['outcomes']} in {result['seconds']:.1f} s", file=sys.stderr)
    return result


def _cases(url: str) -> int:
    from sqlalchemy import create_engine, func, select

    from models import Case

    engine = create_engine(url)
    with engine.connect() as connection:
        cases = connection.scalar(select(func.count()).select_from(Case))
    engine.dispose()
    return cases


def bare_baseline(side: WeComSide, seconds: int, connections: int) -> dict:
    """wrk against the bare FastAPI endpoint with encrypted callbacks, as bench_webhook.py does."""
    work = Path(tempfile.mkdtemp(prefix="gridbot-handling-"))
    bodies = work / "requests.txt"
    write_requests(bodies, side, [f"bare-{i}" for i in range(100)], PHRASES, 2000)
    proc = serve("benchmarks.bare_app:app", 18821, {}, False)
    try:
        wait_up("http://127.0.0.1:18821/")
        return run_wrk("http://127.0.0.1:18821", REPO / "benchmarks" / "wrk_bodies.lua", bodies, seconds, connections)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=6000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--bare-seconds", type=int, default=8)
    parser.add_argument("--postgres", help="also run on this PostgreSQL database (it is wiped), app + 2 workers")
    parser.add_argument("--workers", type=int, default=2, help="gridbot worker processes beside the app (PostgreSQL)")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    settings = Settings(_env_file=None, **TEST_SECRETS)
    side = WeComSide(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    rows = []
    databases = [] if args.skip_sqlite else [("SQLite WAL, app", None, 0)]
    if args.postgres:
        databases.append((f"PostgreSQL, app + {args.workers} workers", args.postgres, args.workers))
    bare = bare_baseline(side, args.bare_seconds, args.connections)
    for name, url, workers in databases:
        url, env = prepare_database(url)
        rows.append((name, run_database(name, url, env, side, args.residents, args.connections, workers)))
    bare_after = bare_baseline(side, args.bare_seconds, args.connections)
    baseline = (bare["rps"] + bare_after["rps"]) / 2

    print(f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {os.uname().sysname} "
          f"{os.uname().release} {os.uname().machine}, {os.cpu_count()} cores; load average at the end: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"command: .venv/bin/python benchmarks/bench_handling.py --residents {args.residents} "
          f"--connections {args.connections}{' --postgres …' if args.postgres else ''}")
    print(f"bare FastAPI endpoint (wrk -t2 -c{args.connections}, before / after): {bare['rps']:.0f} / "
          f"{bare_after['rps']:.0f} req/s")
    print("| run | answered/s | answer p50 ms | p99 ms | errors | handled | failed | seconds to the last handled | "
          "handled/s | % of bare | CPU ms per handled | cases |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        load, outcomes = r["load"], r["outcomes"]
        handled = outcomes.get("handled", 0)
        rate = handled / r["seconds"]
        print(f"| {name} | {load['rps']:.0f} | {load['p50']:.1f} | {load['p99']:.1f} | {load['errors']} | "
              f"{handled:.0f} | {outcomes.get('failed', 0):.0f} | {r['seconds']:.1f} | {rate:.0f} | "
              f"{rate / baseline:.1%} | {1000 * r['cpu'] / max(handled, 1):.2f} | {r['cases']} |")


if __name__ == "__main__":
    main()
