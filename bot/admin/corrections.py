"""Corrections: the labelled examples people taught (改类, console relabels, ask-back answers), and their export."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bot.admin import rules
from bot.admin.common.deps import Viewer, current_viewer, get_now, get_session
from bot.admin.common.rendering import render_page, see_other
from bot.state import AppState, get_state
from handlers.cases import corrections
from handlers.console import rulesets
from handlers.console.audit import record

router = APIRouter(prefix="/corrections")
EXAMPLES_SOURCE = "corrections"  # the draft's examples/corrections.csv
PAGE = 100


@router.get("", response_class=HTMLResponse)
def listing(request: Request, before: int | None = None, viewer: Viewer = Depends(current_viewer),
            session: Session = Depends(get_session)) -> HTMLResponse:
    since = corrections.last_publish(session)
    rows = corrections.recent(session, limit=PAGE, before=before)
    return render_page(request, "corrections", rows=rows, since=since, new=corrections.count_since(session, since),
                       total=corrections.count_since(session, None), page=PAGE)


@router.get(".csv")
def export(viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
           now: datetime = Depends(get_now)) -> Response:
    """Every case's latest correction as `text,label` (the examples format)."""
    rows = corrections.examples(session)
    record(session, actor=viewer.name, action="corrections_export", target="csv", now=now, rows=len(rows))
    session.commit()
    return Response(corrections.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="corrections-{now:%Y%m%d-%H%M}.csv"'})


@router.post("/to-draft")
def to_draft(request: Request, viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
             state: AppState = Depends(get_state), now: datetime = Depends(get_now)) -> Response:
    """Every case's latest correction joins the draft's examples: what-if then shows what retraining the
    model on them would change, and publishing puts it in force."""
    viewer.require("manage")
    row = rulesets.start_draft(session, state.settings.config_dir, author=viewer.name, now=now)
    try:
        added = rulesets.add_examples(session, row, corrections.examples(session), source=EXAMPLES_SOURCE,
                                      author=viewer.name, now=now)
    except rulesets.RuleSetError as error:
        return rules.refused(request, session, state, str(error))  # said on the page, never in a URL
    session.commit()
    return see_other("/admin/rules", done="examples" if added else "no_examples")
