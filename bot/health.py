"""`/healthz`: the database answers."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.state import AppState, get_state

router = APIRouter()


def _database_answers(state: AppState) -> bool:
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@router.get("/healthz")
async def healthz(state: AppState = Depends(get_state)) -> JSONResponse:
    ok = await state.runner.run(_database_answers, state)
    return JSONResponse({"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503)
