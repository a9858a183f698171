"""Routes of the progress page: the page, its photos, and the rating buttons after 办结.

A link that is tampered with, unknown or revoked gets the same polite not-found page (404), so a
guess learns nothing. The rating buttons act exactly like the chat words (满意 / 基本满意 / 不满意 +
reason): they call the same domain function for the resident the link was given to.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.media import served_headers
from bot.state import AppState, get_state
from handlers.cases.progress_page import progress_view, worker_photos
from handlers.conversation.opening import ensure_resident
from handlers.conversation.resident_requests import RATINGS, has_rated, rate
from handlers.progress_links import case_and_holder, case_for_link
from handlers.texts import TEMPLATES_DIR, wording

router = APIRouter()


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["labels"] = wording()
    return env


def _page(template: str, status_code: int = 200, **context) -> HTMLResponse:
    html = _environment().get_template(f"progress/{template}.html.j2").render(**context)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store",
                                                                 "Referrer-Policy": "no-referrer"})


def _not_found() -> HTMLResponse:
    return _page("not_found", status_code=404)


@router.get("/p/{link}", response_class=HTMLResponse)
def progress_page(link: str, request: Request, done: str = "", state: AppState = Depends(get_state)) -> HTMLResponse:
    """The case's page, or the polite not-found page."""
    with state.factory() as session:
        case = case_for_link(session, link)
        if case is None:
            return _not_found()
        view = progress_view(session, case)
        session.commit()
    return _page("case", view=view, link=link, done=done)


@router.post("/p/{link}/rate")
def rate_case(link: str, rating: str = Form(...), reason: str = Form(""),
              state: AppState = Depends(get_state)) -> Response:
    """满意 / 基本满意 / 不满意 (+ reason) from the page, as if the link's holder (the reporter, or a resident
    following the case) had said it in chat."""
    reason = reason.strip()[:500]
    if rating not in RATINGS:
        return _not_found()
    with state.factory.begin() as session:
        held = case_and_holder(session, link)
        if held is None:
            return _not_found()
        if rating == "unsatisfied" and not reason:
            return RedirectResponse(f"/p/{link}?done=need_reason", status_code=303)
        case, holder = held
        resident = ensure_resident(session, holder)
        rate(session, resident, RATINGS[rating], case.id, reason, state.services.clock())
        done = "rated" if has_rated(session, case, holder) else "not_rated"
    return RedirectResponse(f"/p/{link}?done={done}", status_code=303)


@router.get("/p/{link}/photos/{index}")
def photo(link: str, index: int, state: AppState = Depends(get_state)) -> Response:
    """A photo a worker attached to the case (kept in the media store), behind the link's check."""
    with state.factory() as session:
        case = case_for_link(session, link)
        photos = worker_photos(session, case) if case is not None else []
        if not 0 <= index < len(photos):
            return _not_found()
        found = state.media.open(session, photos[index].media_id)
    if found is None:
        return _not_found()
    media_type, headers = served_headers(found)
    return Response(found.content, media_type=media_type, headers=headers)
