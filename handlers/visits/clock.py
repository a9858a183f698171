"""The visit clock: remind the worker before a period ends, tell the grid leader once it ended
without a visit, and send each worker one morning digest of their lists.

Every notice is queued once under its own outbox dedupe key (recipient + period, or worker + day),
so running the step twice, or in two processes, sends nothing twice. Nothing goes out in quiet
hours (config/lifecycle.yaml); what was held back goes at the end of them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from handlers.cases.timing import clock_rules
from handlers.services import Services
from handlers.texts import BEIJING, render
from handlers.visits.due import VisitStatus, grid_leaders, statuses
from handlers.visits.lists import work_lists
from handlers.visits.rules import VisitRules, visit_rules
from models import OutboxMessage, Worker, WorkerRole
from models.outbox import OutboxChannel, queue_notice

_DIGEST_ROLES = (WorkerRole.FULLTIME, WorkerRole.LEADER)


def _queued(session: Session, keys: list[str]) -> set[str]:
    """Which of `keys` the outbox already holds (one query per 500)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        found.update(session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))))
    return found


def _notices(rows: list[VisitStatus], rules: VisitRules, now: datetime) -> dict[str, tuple[str, str, dict]]:
    """dedupe key → (recipient, template, context): one reminder per worker and period listing everyone
    still unvisited near its end, one notice per leader and missed period listing who was missed."""
    out: dict[str, tuple[str, str, dict]] = {}
    for row in rows:
        if row.visited:
            continue
        if row.worker is not None and now >= row.period.end - rules.remind_before:
            key = f"visit:{row.period.start:%Y%m%d}:{row.frequency}:remind:{row.worker.userid}"
            out.setdefault(key, (row.worker.userid, "visits/reminder", {"rows": []}))[2]["rows"].append(row)
        if row.overdue:
            missed = row.period.previous(row.frequency)
            for leader in grid_leaders(row.grid):
                key = f"visit:{missed.start:%Y%m%d}:{row.frequency}:late:{leader.userid}"
                context = out.setdefault(key, (leader.userid, "visits/overdue_leader", {"rows": [], "missed": missed}))
                context[2]["rows"].append(row)
    return out


def _digest_workers(session: Session) -> list[Worker]:
    query = (select(Worker).where(Worker.on_duty.is_(True), Worker.role.in_(_DIGEST_ROLES))
             .options(selectinload(Worker.grids)).order_by(Worker.id))
    return [worker for worker in session.scalars(query) if worker.grids]


def _digests(session: Session, rules: VisitRules, rows: list[VisitStatus], now: datetime) -> int:
    """The morning digest: once a Beijing day, from `digest_at`, to each worker with a list."""
    local = now.astimezone(BEIJING)
    if local.time() < rules.digest_at:
        return 0
    workers = _digest_workers(session)
    keys = {worker.id: f"visits-digest:{local:%Y%m%d}:{worker.userid}" for worker in workers}
    done = _queued(session, list(keys.values()))
    by_grid: dict[int, list[VisitStatus]] = defaultdict(list)
    by_worker: dict[int, list[VisitStatus]] = defaultdict(list)
    for row in rows:
        by_grid[row.grid.id if row.grid else 0].append(row)
        by_worker[row.worker.id if row.worker else 0].append(row)
    sent = 0
    for worker in workers:
        if keys[worker.id] in done:
            continue
        mine = {id(row): row for grid in worker.grids for row in by_grid[grid.id]}
        mine.update((id(row), row) for row in by_worker[worker.id])
        lists = work_lists(session, rules, worker, now, list(mine.values()))
        if lists:
            text = render("visits/today", lists=lists, day=local.date(), masked=False)
            sent += queue_notice(session, channel=OutboxChannel.USER, recipient=worker.userid, text=text,
                                 dedupe_key=keys[worker.id])
    return sent


def run_visit_clock(session: Session, services: Services, now: datetime) -> dict:
    """The visit step of a clock pass, in the caller's transaction; counts of what it queued."""
    counts: Counter = Counter(visit_reminders=0, visit_overdue=0, digests=0)
    if clock_rules(services.config_dir).is_quiet(now):
        return dict(counts)
    rules = visit_rules(services.config_dir)
    rows = statuses(session, rules, now)
    notices = _notices(rows, rules, now)
    done = _queued(session, list(notices))
    for key, (recipient, template, context) in notices.items():
        if key in done:
            continue
        text = render(template, **context)
        if queue_notice(session, channel=OutboxChannel.USER, recipient=recipient, text=text, dedupe_key=key):
            counts["visit_overdue" if template.endswith("leader") else "visit_reminders"] += 1
    counts["digests"] = _digests(session, rules, rows, now)
    return dict(counts)
