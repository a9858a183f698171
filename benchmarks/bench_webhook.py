"""Encrypted end-to-end webhook throughput and latency vs a bare FastAPI endpoint, same run.

Both servers run under uvicorn (uvloop + httptools, one worker); wrk drives them at the
same concurrency. The gridbot side gets real encrypted reports from bound residents, each
with a distinct MsgId, so every request takes the whole acknowledged path: verify, decrypt,
parse, and a durable commit of the message (group commit, fsync) before the answer. The same
process handles the messages behind the answers (classify, route, case + event + notices,
reply through the outbox), yielding to the intake while it is busy; the script reports how
many it handled during the run and how fast it drains the backlog after it.

    .venv/bin/python benchmarks/bench_webhook.py [--seconds 15] [--connections 32] [--database-url URL]

`--database-url` (e.g. postgresql+psycopg://postgres@127.0.0.1:55432/dev_g): that database
is emptied and set up with the demo district; default: a fresh SQLite file (WAL).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config.settings import Settings  # noqa: E402
from tests.deploy_secrets import TEST_SECRETS, secrets_env  # noqa: E402
from tests.wecom_sim import WeComSide, text_xml  # noqa: E402


def wait_up(url: str) -> None:
    for _ in range(200):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def serve(app: str, port: int, env: dict, factory: bool) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--loop", "uvloop", "--http", "httptools",
           "--log-level", "warning", "--no-access-log"] + (["--factory"] if factory else [])
    return subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env})


def report_texts() -> list[str]:
    path = REPO.parent / "shared" / "data" / "citizen-messages-unlabelled.csv"
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            return [row["text"][:300].replace("]]>", "") for row in csv.DictReader(handle)]
    return ["小区垃圾桶满了没人清理", "楼上装修噪音太大", "路灯坏了", "楼道堆放杂物有火灾隐患"]


def prepare_database(database_url: str | None) -> tuple[str, dict]:
    """(URL, environment) of a benchmark database holding the demo district: `database_url` emptied
    first (every table dropped), or a fresh SQLite file (WAL)."""
    from tests.conftest import reset_database

    url = database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='gridbot-bench-')) / 'bench.db'}"
    env = {"GRIDBOT_DATABASE_URL": url, "GRIDBOT_RUN_BACKGROUND_JOBS": "false",
           "GRIDBOT_USER_RATE_LIMIT": "0", "GRIDBOT_WECOM_MAX_AGE": "3600",
           **secrets_env(Settings(_env_file=None, **TEST_SECRETS))}
    reset_database(url)
    subprocess.run([sys.executable, "-m", "bot", "db", "init", "--demo"], cwd=REPO,
                   env={**os.environ, **env}, check=True, capture_output=True)
    return url, env


def bind_residents(database_url: str, count: int) -> list[str]:
    from sqlalchemy import select

    from models import Resident, Unit
    from models.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    with make_session_factory(engine).begin() as session:
        units = session.scalars(select(Unit.id).order_by(Unit.id)).all()
        userids = [f"bench-{i:05d}" for i in range(count)]
        session.add_all(Resident(userid=u, unit_id=units[i % len(units)]) for i, u in enumerate(userids))
    engine.dispose()
    return userids


def write_requests(path: Path, side: WeComSide, userids: list[str], texts: list[str], count: int) -> None:
    with path.open("w") as out:
        for i in range(count):
            encrypted = side.encrypt(text_xml(userids[i % len(userids)], texts[i % len(texts)], 10**12 + i))
            params = side.signed_params(encrypted, nonce=f"n{i}")
            query = "&".join(f"{k}={v}" for k, v in params.items())
            body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            out.write(f"/wecom/callback?{query}\t{body}\n")


def run_wrk(url: str, script: Path, bodies: Path, seconds: int, connections: int, threads: int = 2) -> dict:
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url,
         "--", str(bodies), str(threads)],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    lat = {p: re.search(rf"\s{p}%\s+([\d.]+)(\w+)", output) for p in ("50", "99")}
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rps, **{f"p{p}_ms": float(m.group(1)) * unit[m.group(2)] for p, m in lat.items()},
            "non2xx": int(errors.group(1)) if errors else 0, "raw": output}


def _counts(engine) -> tuple[int, int, int]:
    """(messages accepted, still waiting, cases) in the benchmark database."""
    from sqlalchemy import func, select

    from models import Case, InboundMessage

    with engine.connect() as connection:
        accepted = connection.scalar(select(func.count()).select_from(InboundMessage))
        waiting = connection.scalar(select(func.count()).select_from(InboundMessage)
                                    .where(InboundMessage.status == "received"))
        cases = connection.scalar(select(func.count()).select_from(Case))
    return accepted, waiting, cases


def drain(database_url: str, timeout: float = 900) -> dict:
    """Wait until the app has handled every accepted message; what it handled during and after the run."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url)  # not models.db.make_engine: its BEGIN takes SQLite's write lock
    try:
        accepted, backlog, _ = _counts(engine)
        started = time.monotonic()
        waiting = backlog
        while waiting and time.monotonic() - started < timeout:
            time.sleep(0.5)
            _, waiting, _ = _counts(engine)
        _, waiting, cases = _counts(engine)
    finally:
        engine.dispose()
    return {"accepted": accepted, "during": accepted - backlog, "backlog": backlog - waiting,
            "seconds": time.monotonic() - started, "cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database-url", help="default: a fresh SQLite file (WAL)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gridbot-bench-"))
    database_url, env = prepare_database(args.database_url)
    settings = Settings(_env_file=None, database_url=database_url, **TEST_SECRETS)
    side = WeComSide(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    userids = bind_residents(database_url, 2000)
    expected_requests = 6000 * args.seconds  # distinct MsgIds for a run at up to 6,000 req/s
    bodies = work / "requests.txt"
    write_requests(bodies, side, userids, report_texts(), expected_requests)
    script = REPO / "benchmarks" / "wrk_bodies.lua"

    results = {}
    for name, app, factory, port in (("bare FastAPI endpoint", "benchmarks.bare_app:app", False, 18801),
                                     ("gridbot full path", "bot.app:create_app", True, 18802)):
        proc = serve(app, port, env, factory)
        try:
            wait_up(f"http://127.0.0.1:{port}/")
            results[name] = run_wrk(f"http://127.0.0.1:{port}", script, bodies, args.seconds, args.connections)
            if factory:
                handling = drain(database_url)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    bare, full = results["bare FastAPI endpoint"], results["gridbot full path"]
    print(f"machine: {os.uname().sysname} {os.uname().release} {os.uname().machine}, {os.cpu_count()} cores")
    database = "SQLite WAL" if database_url.startswith("sqlite") else "PostgreSQL"
    option = f" --database-url {args.database_url}" if args.database_url else ""
    print(f"command: .venv/bin/python benchmarks/bench_webhook.py --seconds {args.seconds} "
          f"--connections {args.connections}{option}  (wrk -t2 -c{args.connections}, uvicorn 1 worker, {database})")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| server | requests/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['non2xx']} |")
    print(f"full path / bare = {full['rps'] / bare['rps']:.1%} (target ≥ 25 %); p99 {full['p99_ms']:.1f} ms (target < 50)")
    print(f"handled behind the answers: {handling['during']} of {handling['accepted']} during the run; "
          f"the other {handling['backlog']} in {handling['seconds']:.1f} s after it "
          f"({handling['backlog'] / max(handling['seconds'], 1e-9):.0f} messages/s); "
          f"cases opened: {handling['cases']}")
    if os.environ.get("BENCH_VERBOSE"):
        print(full["raw"])


if __name__ == "__main__":
    main()
