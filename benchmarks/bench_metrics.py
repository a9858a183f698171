"""Cost of observability on the hot path: the latency middleware per request, and one /metrics scrape.

The middleware is timed in-process (ASGI calls, no sockets) on a one-route FastAPI app, with and
without `bot.metrics.LatencyMiddleware`, alternating rounds so machine load hits both alike; CPU
time of the thread is reported beside wall time. Run it once as is (in-memory counters) and once
with `--multiprocess` (PROMETHEUS_MULTIPROC_DIR: counters in mmap files, as with several workers).

    .venv/bin/python benchmarks/bench_metrics.py [--requests 20000] [--rounds 7] [--multiprocess]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _app(with_middleware: bool):
    from fastapi import FastAPI
    from fastapi.responses import Response

    from bot.metrics import LatencyMiddleware

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/wecom/callback")
    async def callback() -> Response:
        return Response(status_code=200)

    if with_middleware:
        app.add_middleware(LatencyMiddleware)
    return app


async def _requests(app, count: int) -> tuple[float, float]:
    """(wall µs, CPU µs) per request for `count` sequential ASGI requests."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/wecom/callback", "raw_path": b"/wecom/callback", "query_string": b"",
             "root_path": "", "headers": [], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    await app(dict(scope), receive, send)  # build the middleware stack outside the timing
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(count):
        await app(dict(scope), receive, send)
    return ((time.perf_counter() - wall) * 1e6 / count, (time.thread_time() - cpu) * 1e6 / count)


def _scrape_ms(samples: int = 50) -> float:
    """Median ms of one /metrics page (process counters + backlog queries) on a SQLite demo database."""
    from prometheus_client import generate_latest

    from bot.metrics import registry_for
    from config.settings import SHIPPED_CONFIG_DIR
    from demo.district import init_demo_database
    from models.db import make_engine, make_session_factory

    url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    init_demo_database(url, SHIPPED_CONFIG_DIR)
    factory = make_session_factory(make_engine(url))
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        generate_latest(registry_for(factory))
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--multiprocess", action="store_true")
    args = parser.parse_args()
    if args.multiprocess:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prom-")
    bare, timed = _app(False), _app(True)
    results: dict[str, list[tuple[float, float]]] = {"bare": [], "middleware": []}
    for _ in range(args.rounds):
        results["bare"].append(asyncio.run(_requests(bare, args.requests)))
        results["middleware"].append(asyncio.run(_requests(timed, args.requests)))
    mode = "multiprocess (mmap files)" if args.multiprocess else "single process (in memory)"
    print(f"{mode}: {args.rounds} rounds x {args.requests} ASGI requests, median of rounds")
    medians = {name: (statistics.median(w for w, _ in rows), statistics.median(c for _, c in rows))
               for name, rows in results.items()}
    for name, (wall, cpu) in medians.items():
        print(f"  {name:<11} {wall:7.2f} µs wall  {cpu:7.2f} µs CPU per request")
    print(f"  middleware cost: {medians['middleware'][0] - medians['bare'][0]:.2f} µs wall, "
          f"{medians['middleware'][1] - medians['bare'][1]:.2f} µs CPU per request")
    print(f"  one /metrics page (demo district, SQLite): {_scrape_ms():.2f} ms median")


if __name__ == "__main__":
    main()
