"""The console's case list (and dashboard) on a large database: latency per filter, p50/p95.

Fill the database first with benchmarks/generate_cases.py. Per request, in one run:
- page: the whole console page over HTTP (GET /admin/cases?…, logged in, rendered);
- query: the list's database work as the console does it (`admin_cases.page`: keyset
  pagination, total counted up to 10,001);
- baseline: the same filters the naive way, exact COUNT(*) and OFFSET paging to the same depth.
Plus the dashboard page for 30 and 365 days.

    .venv/bin/python benchmarks/bench_admin_cases.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:55432/dev_e [--repeat 20]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import selectinload  # noqa: E402

from benchmarks.stats import percentile  # noqa: E402
from bot.app import create_app  # noqa: E402
from config.settings import Settings  # noqa: E402
from handlers.console.cases import NEWEST_FIRST, CaseFilter, filtered, page  # noqa: E402
from models import Case, Grid, Worker  # noqa: E402
from models.db import make_engine, make_session_factory  # noqa: E402
from tests.deploy_secrets import TEST_SECRETS  # noqa: E402
from tests.servers import serve_in_thread  # noqa: E402

PASSWORD = "bench-admin-pass"


def scenarios(rng: random.Random, grids: list[str], workers: list[str], categories: list[str],
              max_id: int) -> dict[str, callable]:
    """name → a function giving fresh query parameters for one request."""
    today = datetime.now(timezone.utc).date()

    def week() -> dict:
        start = today - timedelta(days=rng.randrange(7, 360))
        return {"date_from": start.isoformat(), "date_to": (start + timedelta(days=6)).isoformat()}

    return {
        "no filter": lambda: {},
        "state=pending": lambda: {"state": "pending"},
        "state=archived": lambda: {"state": "archived"},
        "category": lambda: {"category": rng.choice(categories)},
        "grid": lambda: {"grid": rng.choice(grids)},
        "worker": lambda: {"worker": rng.choice(workers)},
        "overdue": lambda: {"overdue": "1"},
        "date range (a week)": week,
        "text: common word": lambda: {"q": rng.choice(["物业", "噪音", "小区", "停车"])},
        "text: rare phrase": lambda: {"q": rng.choice(["电梯困人", "化粪池", "广场舞音响"])},
        "text: rare, 30 days*": lambda: {"q": rng.choice(["电梯困人", "化粪池", "广场舞音响"]),
                                         "date_from": (today - timedelta(days=29)).isoformat()},
        "case number": lambda: {"q": f"GB-{rng.randrange(1, max_id):06d}"},
        "grid + state": lambda: {"grid": rng.choice(grids), "state": "in_progress"},
        "category + week": lambda: {"category": rng.choice(categories), **week()},
        "deep page (keyset)": lambda: {"before": str(rng.randrange(max_id // 10, max_id))},
    }


def login(client: httpx.Client) -> None:
    page = client.get("/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/admin/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303, answer.text


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def naive(session, params: dict, now: datetime) -> None:
    """Baseline: exact COUNT(*) and OFFSET paging to the same depth as `before` would reach."""
    before = params.pop("before", None)
    query = filtered(session, CaseFilter.from_params(params), None, now)
    session.scalar(select(func.count()).select_from(query.with_only_columns(Case.id).subquery()))
    offset = 0
    if before is not None:
        offset = session.scalar(select(func.count()).where(Case.id >= int(before)))
    session.scalars(query.options(selectinload(Case.grid), selectinload(Case.assignee))
                    .order_by(*NEWEST_FIRST).offset(offset).limit(50)).all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    engine = make_engine(args.database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        total = session.scalar(select(func.count()).select_from(Case))
        max_id = session.scalar(select(func.max(Case.id)))
        grids = list(session.scalars(select(Grid.code)))
        workers = list(session.scalars(select(Worker.userid).where(Worker.id.in_(select(Case.assignee_id).distinct()))))
        categories = list(session.scalars(select(Case.category).distinct().where(Case.category.is_not(None))))
    rng = random.Random(args.seed)
    plans = scenarios(rng, grids, workers, categories, max_id)
    settings = Settings(_env_file=None, database_url=args.database_url, admin_password=PASSWORD,
                        run_background_jobs=False, **TEST_SECRETS)
    print(f"{total:,} cases on {engine.dialect.name}; {args.repeat} requests per scenario")
    print(f"{'scenario':22} {'page p50':>9} {'page p95':>9} {'query p50':>10} {'query p95':>10} "
          f"{'naive p50':>10} {'naive p95':>10}  (ms)")
    columns: dict[str, list[float]] = {"page": [], "query": [], "naive": []}
    with serve_in_thread(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as client:
        login(client)
        for make in plans.values():  # warm the pool, caches and templates
            client.get("/admin/cases", params=make())
        for name, make in plans.items():
            found: dict[str, list[float]] = {"page": [], "query": [], "naive": []}
            for _ in range(args.repeat):
                params = make()
                now = datetime.now(timezone.utc)
                found["page"].append(timed(lambda: client.get("/admin/cases", params=params).raise_for_status()))
                with factory() as session:
                    before = int(params["before"]) if "before" in params else None
                    found["query"].append(timed(lambda: page(session, CaseFilter.from_params(params), None, now,
                                                             before=before)))
                with factory() as session:
                    found["naive"].append(timed(lambda: naive(session, dict(params), now)))
            if not name.endswith("*"):
                for key in columns:
                    columns[key] += found[key]
            print(f"{name:22} " + " ".join(f"{percentile(found[k], .5):9.1f} {percentile(found[k], .95):9.1f}"
                                          for k in ("page", "query", "naive")))
        print(f"{'ALL':22} " + " ".join(f"{percentile(columns[k], .5):9.1f} {percentile(columns[k], .95):9.1f}"
                                       for k in ("page", "query", "naive")))
        print("* outside the default: a text search the user widened to 30 days (reads every row in the window)")
        for days in (30, 365):
            runs = [timed(lambda: client.get("/admin/", params={"days": days}).raise_for_status())
                    for _ in range(max(3, args.repeat // 4))]
            print(f"dashboard {days:3} days: median {statistics.median(runs):.1f}ms, max {max(runs):.1f}ms")
    engine.dispose()


if __name__ == "__main__":
    main()
