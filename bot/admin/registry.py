"""Registry pages: grids, units, workers and residents — list, search, edit, import the workbook."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot.admin.common.deps import Viewer, current_viewer, get_now, get_session
from bot.admin.common.rendering import refused, render_page, see_other
from bot.state import AppState, get_state
from handlers.console import registry
from handlers.console.scoping import within
from models import Grid, Resident, Unit, Worker, WorkerRole

router = APIRouter(prefix="/registry")

KINDS = {
    "grids": (Grid, Grid.code, registry.edit_grid),
    "units": (Unit, Unit.code, registry.edit_unit),
    "workers": (Worker, Worker.userid, registry.edit_worker),
    "residents": (Resident, Resident.userid, registry.edit_resident),
}
PAGE = 100
_KEY = re.compile(r"[A-Za-z0-9_.@-]{1,64}")  # a code or userid named by "done" (never free text from a URL)


@router.get("/{kind}", response_class=HTMLResponse)
def listing(request: Request, kind: str, q: str = "", page: int = 1, done: str | None = None,
            error: str | None = None, viewer: Viewer = Depends(current_viewer),
            session: Session = Depends(get_session)) -> HTMLResponse:
    if kind not in KINDS:
        return render_page(request, "not_found", status_code=404, what="页面")
    page = max(page, 1)
    rows, total = registry.listing(session, KINDS[kind][0], q=q.strip(), grid_ids=viewer.scope.grid_ids,
                                         offset=(page - 1) * PAGE, limit=PAGE)
    return render_page(request, "registry", kind=kind, rows=rows, total=total, q=q, page=page,
                       pages=max(1, -(-total // PAGE)), done=done if done and _KEY.fullmatch(done) else None,
                       error=error, mask_phones=not viewer.can("work"))


def _find(session: Session, kind: str, key: str, viewer: Viewer):
    """The record, or None when there is none or it is outside the viewer's scope (the same 404)."""
    model, column, _ = KINDS[kind]
    return session.scalars(select(model).where(column == key, within(model, viewer.scope.grid_ids))).first()


@router.get("/{kind}/{key}", response_class=HTMLResponse)
def edit_form(request: Request, kind: str, key: str, error: str | None = None,
              viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session)) -> HTMLResponse:
    obj = _find(session, kind, key, viewer) if kind in KINDS else None
    if obj is None:
        return render_page(request, "not_found", status_code=404, what="记录")
    return render_page(request, "registry_edit", kind=kind, obj=obj, error=error, roles=list(WorkerRole),
                       mask_phones=not viewer.can("work"))


@router.post("/{kind}/{key}")
async def edit(request: Request, kind: str, key: str, viewer: Viewer = Depends(current_viewer),
               session: Session = Depends(get_session), state: AppState = Depends(get_state),
               now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    form = {name: value for name, value in (await request.form()).items() if isinstance(value, str)}

    def run() -> Response:
        obj = _find(session, kind, key, viewer) if kind in KINDS else None
        if obj is None:
            return Response(status_code=404)
        try:
            KINDS[kind][2](session, obj, form, actor=viewer.name, now=now)
        except registry.RegistryEditError as error:
            return refused(session, f"/admin/registry/{kind}/{key}", error.field)
        session.commit()
        if kind in ("units", "grids"):
            state.services.addresses.invalidate()
        return see_other(f"/admin/registry/{kind}", done=key)

    return await run_in_threadpool(run)


@router.post("/import", response_class=HTMLResponse)
async def import_workbook(request: Request, upload: UploadFile = File(...), dry_run: str = Form(""),
                          viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
                          state: AppState = Depends(get_state), now: datetime = Depends(get_now)) -> HTMLResponse:
    viewer.require("manage")
    payload = await upload.read()

    def run() -> HTMLResponse:
        matters = state.services.classifier().catalogue.names()
        ok, report = registry.import_upload(session, upload.filename or "upload.xlsx", payload,
                                                  actor=viewer.name, now=now, dry_run=dry_run == "1",
                                                  known_matters=matters)
        if ok:
            session.commit()
            state.services.addresses.invalidate()
        else:
            session.rollback()
        return render_page(request, "registry_import", status_code=200 if ok else 422, ok=ok, report=report)

    return await run_in_threadpool(run)
