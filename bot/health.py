"""`/healthz`: the database answers. `/readyz`: it answers and the outbox keeps up.

Point a load balancer's health check at `/healthz` (a process that can record messages should
get them); `/readyz` also fails while the oldest pending notice is older than
`GRIDBOT_READY_MAX_BACKLOG_AGE` seconds, for deploy gates and alerting (docs/operations.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.outbox.store import oldest_pending
from bot.state import AppState, get_state
from models import utcnow

router = APIRouter()


def _database_answers(state: AppState) -> bool:
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _readiness(state: AppState) -> tuple[int, dict]:
    """(HTTP status, body) of the readiness check."""
    bound = state.settings.ready_max_backlog_age
    try:
        with state.factory() as session:
            oldest = oldest_pending(session)
    except Exception:
        return 503, {"status": "not ready", "reason": "database unavailable"}
    age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    body = {"oldest_pending_age_seconds": round(age, 1), "max_backlog_age_seconds": bound}
    if age > bound:
        return 503, {"status": "not ready", "reason": f"outbox backlog: oldest pending notice is {age:.0f} s old "
                     f"(bound {bound:.0f} s)", **body}
    return 200, {"status": "ready", **body}


@router.get("/healthz")
async def healthz(state: AppState = Depends(get_state)) -> JSONResponse:
    ok = await state.runner.run(_database_answers, state)
    return JSONResponse({"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503)


@router.get("/readyz")
async def readyz(state: AppState = Depends(get_state)) -> JSONResponse:
    status, body = await state.runner.run(_readiness, state)
    return JSONResponse(body, status_code=status)
