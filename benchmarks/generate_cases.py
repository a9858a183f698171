"""Fill a database with N realistic cases over the demo district, for the console's benchmarks.

Cases spread over the last year (ids in time order), across every grid, category and
state in plausible shares, with real citizen message texts; PostgreSQL is loaded with
COPY, SQLite with executemany. Existing cases are kept; new ids follow them.

    .venv/bin/python benchmarks/generate_cases.py --count 1000000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:55432/dev_e
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, insert, select, text  # noqa: E402

from config.settings import SHIPPED_CONFIG_DIR  # noqa: E402
from demo.district import init_demo_database  # noqa: E402
from handlers.classify import load_classifier  # noqa: E402
from models import Case, Grid, Unit  # noqa: E402
from models.db import make_engine, make_session_factory  # noqa: E402

# shared/ sits beside the checkout, or one level up from a worktree (/work/wt/<name>)
MESSAGES = next((folder / "shared" / "data" for folder in (REPO.parent, REPO.parent.parent)
                 if (folder / "shared" / "data").is_dir()), REPO.parent / "shared" / "data") \
    / "citizen-messages-unlabelled.csv"
# (state, share) — most cases of a year are archived; a small backlog is open.
STATES = [("archived", 0.80), ("closed", 0.04), ("in_progress", 0.05), ("pending", 0.03), ("escalated", 0.01),
          ("suspended", 0.01), ("transferred", 0.03), ("withdrawn", 0.02), ("merged", 0.01)]
RATINGS = [("satisfied", 0.75), ("basic", 0.18), ("unsatisfied", 0.07)]
COLUMNS = ["id", "state", "category", "priority", "urgent", "text", "source", "reporter_userid", "grid_id",
           "unit_id", "place_source", "assignee_id", "level", "take_due", "plan_due", "close_due", "taken_at",
           "planned_at", "closed_at", "rating", "created_at", "updated_at"]


def _texts() -> list[str]:
    with MESSAGES.open(encoding="utf-8") as handle:
        return [row["text"][:200] for row in csv.DictReader(handle)]


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([value for value, _ in weighted], [share for _, share in weighted])[0]


def generate(rng: random.Random, first_id: int, count: int, *, grids: dict[int, tuple[list[int], list[int]]],
             categories: list, texts: list[str], now: datetime, days: int = 365):
    """Rows as tuples in COLUMNS order, oldest first, spread over the last `days` days."""
    span = timedelta(days=days).total_seconds()
    grid_ids = list(grids)
    for i in range(count):
        created = now - timedelta(seconds=span * (1 - i / count) + rng.random() * 30)
        category = rng.choice(categories)
        grid_id = rng.choice(grid_ids)
        units, workers = grids[grid_id]
        state = _pick(rng, STATES)
        take_due, plan_due, close_due = (created + category.clock.take, created + category.clock.plan,
                                         created + category.clock.close)
        taken = planned = closed = rating = None
        if state not in ("pending", "withdrawn", "merged", "transferred"):
            taken = created + category.clock.take * rng.uniform(0.1, 1.4)
            if state != "in_progress" or rng.random() < 0.5:
                planned = taken + (plan_due - taken) * rng.uniform(0.1, 1.2)
        if state in ("closed", "archived"):
            closed = (planned or taken) + timedelta(hours=rng.uniform(2, 24 * 9))
            rating = _pick(rng, RATINGS) if state == "archived" and rng.random() < 0.7 else None
        yield (first_id + i, state, category.name, category.priority, category.urgent, rng.choice(texts),
               "resident", f"gen-resident-{rng.randrange(50_000)}", grid_id, rng.choice(units) if units else None,
               "profile", rng.choice(workers) if workers else None, 1 if state == "escalated" else 0,
               take_due, plan_due, close_due, taken, planned, closed, rating, created, closed or taken or created)


def _copy_postgres(engine, rows) -> None:
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(f"COPY cases ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def _insert_sqlite(engine, rows, batch: int = 20_000) -> None:
    chunk: list[dict] = []
    with engine.begin() as connection:
        for row in rows:
            chunk.append(dict(zip(COLUMNS, row)))
            if len(chunk) >= batch:
                connection.execute(insert(Case), chunk)
                chunk = []
        if chunk:
            connection.execute(insert(Case), chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=365, help="spread the cases over this many days")
    args = parser.parse_args()

    init_demo_database(args.database_url, SHIPPED_CONFIG_DIR)
    engine = make_engine(args.database_url)
    with make_session_factory(engine)() as session:
        grids = {}
        for grid in session.scalars(select(Grid)):
            units = list(session.scalars(select(Unit.id).where(Unit.grid_id == grid.id)))
            grids[grid.id] = (units, [w.id for w in grid.workers])
        first_id = (session.scalar(select(func.max(Case.id))) or 0) + 1
    catalogue = load_classifier(SHIPPED_CONFIG_DIR).catalogue
    categories = [catalogue.get(name) for name in catalogue.names() if catalogue.get(name).grid_matter]
    rows = generate(random.Random(args.seed), first_id, args.count, grids=grids, categories=categories,
                    texts=_texts(), now=datetime.now(timezone.utc), days=args.days)
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        _copy_postgres(engine, rows)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
            connection.execute(text("VACUUM ANALYZE cases"))
    else:
        _insert_sqlite(engine, rows)
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    print(f"inserted {args.count} cases from id {first_id} in {time.perf_counter() - started:.1f}s")
    engine.dispose()


if __name__ == "__main__":
    main()
