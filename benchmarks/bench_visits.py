"""The visit clock and the due list at district scale: N special-group residents over the demo's units.

Loads the demo district into a throwaway SQLite database, adds N invented special-group residents
(groups in turn, one in five weekly) and a visit this month for half of them, then times:
- `statuses` (every special-group resident's period, last visit, worker),
- a visit clock pass that queues the reminders, leader notices and digests, and a second pass
  that finds everything queued already (what every later minute costs),
- one worker's due list (待访 / `gridbot visits due --worker`), and the console map's data.

    .venv/bin/python benchmarks/bench_visits.py [--residents 10000]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from config.settings import SHIPPED_CONFIG_DIR  # noqa: E402
from demo.district import init_demo_database  # noqa: E402
from handlers.console.grid_map import map_data  # noqa: E402
from handlers.services import Services  # noqa: E402
from handlers.visits.clock import run_visit_clock  # noqa: E402
from handlers.visits.due import due_list, statuses  # noqa: E402
from handlers.visits.rules import visit_rules  # noqa: E402
from models import Resident, Unit, Visit, Worker  # noqa: E402
from models.db import make_engine  # noqa: E402

GROUPS = ["困难群众", "空巢老人", "残疾家庭", "新增流动人口", "独居老人"]


def _seed(engine, count: int, now: datetime) -> None:
    with Session(engine) as session, session.begin():
        units = list(session.scalars(select(Unit.id)))
        worker = session.scalars(select(Worker).where(Worker.userid == "demo-worker")).one()
        people = [Resident(userid=f"bench-care-{i}", name=f"测试{i}", unit_id=units[i % len(units)],
                           groups=[GROUPS[i % len(GROUPS)]], groups_since=now - timedelta(days=90))
                  for i in range(count)]
        session.add_all(people)
        session.flush()
        session.add_all(Visit(resident_id=p.id, worker_id=worker.id, at=now - timedelta(hours=1), note="")
                        for p in people[::2])


def _timed(run) -> tuple[dict, object]:
    """Wall and CPU milliseconds of `run()` (CPU is what the step costs when the box is busy), and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return {"wall": round((time.perf_counter() - wall) * 1000), "cpu": round((time.process_time() - cpu) * 1000)}, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=10_000)
    args = parser.parse_args()
    # Late in a month, after the digest hour (Beijing): reminders, leader notices and digests all fall due.
    now = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
    services = Services(config_dir=SHIPPED_CONFIG_DIR, rate_limit=0, clock=lambda: now)
    rules = visit_rules()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/visits.db"
        init_demo_database(url, SHIPPED_CONFIG_DIR)
        engine = make_engine(url)
        _seed(engine, args.residents, now)
        figures: dict[str, object] = {"residents": args.residents, "machine": platform.processor() or platform.machine(),
                                      "python": platform.python_version()}
        with Session(engine) as session:
            figures["statuses_ms"], rows = _timed(lambda: statuses(session, rules, now))
        for label in ("clock_first_pass", "clock_next_pass"):
            with Session(engine) as session, session.begin():
                figures[f"{label}_ms"], counts = _timed(lambda: run_visit_clock(session, services, now))
                figures[f"{label}_counts"] = counts
        with Session(engine) as session:
            worker = session.scalars(select(Worker).where(Worker.userid == "demo-worker")).one()
            figures["due_list_one_worker_ms"], due = _timed(lambda: due_list(session, rules, now, worker=worker))
            figures["due_for_that_worker"] = len(due)
            figures["map_data_ms"], _ = _timed(lambda: map_data(session, rules, now, None))
        engine.dispose()
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()},
                     ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
