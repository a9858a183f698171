"""Cases: the filtered list, exports, the detail page and its actions."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.admin.common.deps import Viewer, current_viewer, get_now, get_session
from bot.admin.common.rendering import render_page, see_other
from bot.media import served_headers
from bot.state import AppState, get_state
from handlers.cases.case_views import actor_names
from handlers.cases.lifecycle import IllegalTransition, allowed
from handlers.cases.records import StaleCase
from handlers.classify import explain_decision
from handlers.console import cases
from handlers.console.audit import record
from handlers.console.case_actions import ActionError, act
from handlers.console.scoping import within
from handlers.texts import wording
from models import Case, Grid, Worker, case_channel

router = APIRouter()


def _case_filter(request: Request) -> cases.CaseFilter:
    return cases.CaseFilter.from_params(dict(request.query_params))


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, before: int | None = None, viewer: Viewer = Depends(current_viewer),
              session: Session = Depends(get_session), state: AppState = Depends(get_state),
              now: datetime = Depends(get_now)) -> HTMLResponse:
    flt = _case_filter(request)
    result = cases.page(session, flt, viewer.scope.grid_ids, now, before=before)
    grids = [g for g in session.scalars(select(Grid).order_by(Grid.code)) if viewer.scope.allows(g.id)]
    workers = session.execute(select(Worker.userid, Worker.name).where(within(Worker, viewer.scope.grid_ids))
                              .order_by(Worker.name)).all()
    categories = state.services.classifier().catalogue.names()
    return render_page(request, "cases", result=result, flt=flt, params=flt.params(), grids=grids,
                       workers=workers, categories=categories, states=wording()["states"], now=now,
                       cap=cases.COUNT_CAP, text_days=cases.TEXT_SEARCH_DAYS)


@router.get("/cases/export.{fmt}")
def export(request: Request, fmt: str, viewer: Viewer = Depends(current_viewer),
           session: Session = Depends(get_session), state: AppState = Depends(get_state),
           now: datetime = Depends(get_now)) -> Response:
    if fmt not in ("csv", "xlsx"):
        return Response(status_code=404)
    flt = _case_filter(request)
    record(session, actor=viewer.name, action="case_export", target=fmt, now=now, filters=flt.params())
    session.commit()

    def rows():
        # Its own session: a streamed body outlives the request's session.
        with state.factory() as own:
            yield from cases.export_rows(own, flt, viewer.scope.grid_ids, now)

    rows = rows()
    stamp = now.strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        return StreamingResponse(cases.to_csv(rows), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="cases-{stamp}.csv"'})
    return Response(cases.to_xlsx(rows),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="cases-{stamp}.xlsx"'})


def _load_case(session: Session, viewer: Viewer, case_id: int) -> Case | None:
    case = session.scalars(select(Case).where(Case.id == case_id).options(
        selectinload(Case.events), selectinload(Case.grid), selectinload(Case.unit),
        selectinload(Case.assignee), selectinload(Case.resident))).first()
    if case is not None:
        viewer.require_grid(case.grid_id)
    return case


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_detail(request: Request, case_id: int, error: str | None = None, done: str | None = None, also: str = "",
                viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
                state: AppState = Depends(get_state)) -> HTMLResponse:
    case = _load_case(session, viewer, case_id)
    if case is None:
        return render_page(request, "not_found", status_code=404, what="事项")
    workers = []
    if case.grid is not None:
        workers = sorted(case.grid.workers, key=lambda w: (w.role, w.name))
    possible = {"assign": allowed(case.state, "reassign"), "escalate": allowed(case.state, "escalate"),
                "close": allowed(case.state, "close"), "note": allowed(case.state, "note"),
                "recategorize": allowed(case.state, "recategorize"), "place": allowed(case.state, "place")}
    catalogue = state.services.classifier().catalogue
    categories = [name for name in catalogue.names() if catalogue.get(name).grid_matter]
    names = actor_names(session, {event.actor for event in case.events})
    stored = case.classification or {}
    explained = explain_decision(stored, state.services.classifier()) if "outcome" in stored else None
    placed_with = [int(number) for number in also.split(",") if number.isdigit()]  # from a 定位 of a split message
    return render_page(request, "case", case=case, workers=workers, possible=possible, error=error, done=done,
                       placed_with=placed_with,
                       categories=categories, names=names, channel=case_channel(case.reporter_userid, case.source),
                       explained=explained)


@router.get("/cases/{case_id}/media/{media_id}")
def case_media(case_id: int, media_id: str, viewer: Viewer = Depends(current_viewer),
               session: Session = Depends(get_session), state: AppState = Depends(get_state)) -> Response:
    """A photo, voice or video attached to a case the viewer may see (kept in the media store)."""
    case = _load_case(session, viewer, case_id)
    attached = case is not None and any(attachment.get("media_id") == media_id for event in case.events
                                        for attachment in event.attachments or [])
    found = state.media.open(session, media_id) if attached else None
    if found is None:
        return Response("not found", status_code=404)
    media_type, headers = served_headers(found)
    return Response(found.content, media_type=media_type, headers=headers)


@router.post("/cases/{case_id}/action")
def case_action(case_id: int, action: str = Form(...), note: str = Form(""), worker: str = Form(""),
                category: str = Form(""), viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
                state: AppState = Depends(get_state), now: datetime = Depends(get_now)) -> Response:
    viewer.require("work")
    case = _load_case(session, viewer, case_id)
    if case is None:
        return Response(status_code=404)
    outcome = {"done": action}
    try:
        catalogue = state.services.classifier().catalogue
        take_window = catalogue.get(case.category).clock.take if case.category in catalogue.names() else None
        chosen = catalogue.get(category) if category in catalogue.names() else None
        acted = act(session, case, action, username=viewer.name, scope=viewer.scope.grid_ids, now=now, note=note,
                    worker_userid=worker, category=chosen, services=state.services,
                    **({"take_window": take_window} if take_window else {}))
        session.commit()
        if acted.placed_with:  # the flash names the other matters of the message placed with it
            outcome["also"] = ",".join(map(str, acted.placed_with))
    except (IllegalTransition, StaleCase):
        session.rollback()
        outcome = {"error": "illegal"}
    except ActionError as error:
        session.rollback()
        outcome = {"error": str(error)}
    return see_other(f"/admin/cases/{case_id}", **outcome)
