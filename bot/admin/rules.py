"""Rules: browse and edit the draft, explain a text, what-if replay, publish, roll back, import/export."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot.admin.common.deps import Viewer, current_viewer, get_now, get_session
from bot.admin.common.rendering import render_page
from bot.state import AppState, get_state
from handlers.cases import corrections
from handlers.classify import Classifier, Explanation, explain_decision
from handlers.console import rule_replay, rulesets
from handlers.console.audit import record

router = APIRouter(prefix="/rules")
REPLAY_DEFAULT, REPLAY_MAX = 500, 5000


def _back(error: str | None = None, **params) -> RedirectResponse:
    """Back to the overview with a done or error code (codes only: see ERRORS and _DONE)."""
    query = {**params, **({"error": error} if error else {})}
    return RedirectResponse("/admin/rules" + (f"?{urlencode(query)}" if query else ""), status_code=303)


def _classifiers(session: Session, state: AppState) -> tuple[Classifier, Classifier | None]:
    """(the rule set in force, the draft's or None)."""
    row = rulesets.draft(session)
    return state.services.classifier(), (rulesets.validate(row.data) if row is not None else None)


ERRORS = {"no_draft": "还没有草稿：请先编辑一条规则。"}  # the only error codes a URL may carry
_DONE = re.compile(r"saved|discarded|imported|examples|no_examples|v\d{1,9}")


@router.get("", response_class=HTMLResponse)
def overview(request: Request, text: str = "", error: str | None = None, done: str | None = None,
             viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
             state: AppState = Depends(get_state)) -> HTMLResponse:
    return _page(request, session, state, text=text, error=ERRORS.get(error or ""),
                 done=done if done and _DONE.fullmatch(done) else None)


def _page(request: Request, session: Session, state: AppState, *, text: str = "", error: str | None = None,
          done: str | None = None, status_code: int = 200) -> HTMLResponse:
    """The rules overview; `error` is shown as written (known words only, never text from a URL)."""
    number, live_data = rulesets.in_force(session, state.settings.config_dir)
    row = rulesets.draft(session)
    live, drafted = _classifiers(session, state)
    explained = None
    if text.strip():
        explained = {"live": _explained(live, text), "draft": _explained(drafted, text) if drafted else None}
    data = row.data if row is not None else live_data
    counts = {name: len(items) for name, items in data["rules"].items()}
    return render_page(request, "rules", status_code=status_code, number=number, draft=row,
                       categories=data["catalogue"]["categories"], counts=counts, text=text, explained=explained,
                       versions=rulesets.versions(session), error=error, done=done, replay_default=REPLAY_DEFAULT)


def _explained(classifier: Classifier, text: str) -> tuple[Explanation, dict]:
    """(who won and why, the decision as JSON) for the explain box."""
    decision = classifier.classify(text).to_json()
    return explain_decision(decision, classifier), decision


def refused(request: Request, session: Session, state: AppState, message: str) -> HTMLResponse:
    """The overview showing why a change was refused (422), rendered here rather than passed in a URL."""
    session.rollback()
    return _page(request, session, state, error=message, status_code=422)


@router.post("/draft/discard")
def discard(viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
            now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    rulesets.discard_draft(session, author=viewer.name, now=now)
    session.commit()
    return _back(done="discarded")


@router.post("/whatif", response_class=HTMLResponse)
async def whatif(request: Request, limit: int = Form(REPLAY_DEFAULT), labelled: UploadFile | None = File(None),
                 with_corrections: bool = Form(False), viewer: Viewer = Depends(current_viewer),
                 session: Session = Depends(get_session), state: AppState = Depends(get_state),
                 now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")  # only those who may edit rules replay them (up to REPLAY_MAX messages)
    payload = await labelled.read() if labelled is not None and labelled.filename else None
    return await run_in_threadpool(_whatif, request, viewer, session, state, now, limit, payload, with_corrections)


def _whatif(request: Request, viewer: Viewer, session: Session, state: AppState, now: datetime, limit: int,
            payload: bytes | None, with_corrections: bool = False) -> Response:
    live, drafted = _classifiers(session, state)
    if drafted is None:
        return _back("no_draft")
    limit = min(max(limit, 1), REPLAY_MAX)
    messages = rule_replay.replay(rule_replay.recent_texts(session, limit, viewer.scope.grid_ids), live, drafted)
    texts, labels = [], []
    if payload is not None:
        try:
            texts, labels = rule_replay.read_labelled_csv(payload)
        except rule_replay.ReplayError as error:
            return refused(request, session, state, str(error))
    if with_corrections:  # what people taught (改类, ask-back answers) scores the draft too
        taught = corrections.examples(session)
        texts, labels = texts + [text for text, _ in taught], labels + [label for _, label in taught]
    labelled = rule_replay.replay(texts, live, drafted, labels) if texts else None
    record(session, actor=viewer.name, action="rules_whatif", target=None, now=now, messages=messages.rows,
           changed=len(messages.changes), labelled_rows=labelled.rows if labelled else 0)
    session.commit()
    return render_page(request, "whatif", messages=messages, labelled=labelled, limit=limit)


def _publishing(request: Request, session: Session, state: AppState, publish) -> Response:
    """Run a publish or rollback; commit and name the new version, or report why not."""
    try:
        published = publish()
    except rulesets.RuleSetError as error:
        return refused(request, session, state, str(error))
    session.commit()
    state.rules.look_again()
    return _back(done=f"v{published.number}")


@router.post("/publish")
def publish(request: Request, note: str = Form(""), viewer: Viewer = Depends(current_viewer),
            session: Session = Depends(get_session), state: AppState = Depends(get_state),
            now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    return _publishing(request, session, state, lambda: rulesets.publish(
        session, state.settings.config_dir, author=viewer.name, note=note.strip() or None, now=now))


@router.post("/rollback")
def rollback(request: Request, number: int = Form(...), viewer: Viewer = Depends(current_viewer),
             session: Session = Depends(get_session), state: AppState = Depends(get_state),
             now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    return _publishing(request, session, state, lambda: rulesets.rollback(
        session, state.settings.config_dir, number, author=viewer.name, now=now))


@router.get("/export.zip")
def export(which: str = "live", viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
           state: AppState = Depends(get_state), now: datetime = Depends(get_now)) -> Response:
    row = rulesets.draft(session) if which == "draft" else None
    if row is not None:
        data, name = row.data, "draft"
    else:
        number, data = rulesets.in_force(session, state.settings.config_dir)
        name = f"v{number}" if number else "config"
    record(session, actor=viewer.name, action="rules_export", target=name, now=now)
    session.commit()
    return Response(rulesets.export_zip(data), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="gridbot-rules-{name}.zip"'})


@router.post("/import")
async def import_rules(request: Request, upload: UploadFile = File(...), viewer: Viewer = Depends(current_viewer),
                       session: Session = Depends(get_session), state: AppState = Depends(get_state),
                       now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    payload = await upload.read(rulesets.MAX_IMPORT_BYTES + 1)

    def run() -> Response:
        try:
            data = rulesets.import_zip(payload)
        except rulesets.RuleSetError as error:
            return refused(request, session, state, str(error))
        rulesets.replace_draft(session, state.settings.config_dir, data, author=viewer.name, now=now,
                               source=upload.filename or "upload")
        session.commit()
        return _back(done="imported")

    return await run_in_threadpool(run)
