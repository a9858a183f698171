"""One pass of the clocks that run every few seconds, in the caller's transaction: the 117 case clock,
the reports waiting for the resident (ask-back, media waiting for words; reports still without a place go to
the street's staff) and the departments' 报到 clock.

The visit clock (periods of weeks and months) runs apart, less often: see bot/jobs.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.cases.clock import run_clock
from handlers.cases.timing import clock_rules
from handlers.cases.unplaced import hand_over_due
from handlers.conversation.drafts import settle_due
from handlers.conversation.where_first import forget_due
from handlers.departments.clock import run_whistle_clock
from handlers.services import Services


def run_clocks(session: Session, services: Services, now: datetime) -> dict:
    """Apply every frequent clock as of `now`; counts of what each did (`settled`: drafts opened,
    `handed_over`: reports without a place given to the street's staff, `forgotten`: words saying only where whose
    matter never followed)."""
    counts = run_clock(session, services, now)
    counts.update(run_whistle_clock(session, services, now))
    counts["settled"] = settle_due(session, services, now)
    counts["handed_over"] = hand_over_due(session, clock_rules(services.config_dir), now)
    counts["forgotten"] = forget_due(session, services, now)
    return counts
