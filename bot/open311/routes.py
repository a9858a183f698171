"""`/open311/v2/`: GeoReport v2 for partner systems — thin routes over handlers/open311.

Filing goes through the app's intake like a chat message: the form is checked (403 for a bad
key, 400 for a bad request, nothing written either way), recorded as an `open311` message and
handled by the processor; the answer carries the case number when it is ready within the
intake's reply wait, else a token that `tokens/{token}` resolves once it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bot.open311.formats import FORMATS, answer, errors
from bot.state import AppState
from bot.wecom.callback import BodyTooLarge, read_limited
from handlers import open311
from handlers.chat.inbound import Inbound
from handlers.texts import render

router = APIRouter(prefix="/open311/v2", include_in_schema=False)
log = logging.getLogger("gridbot.open311")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORM = "application/x-www-form-urlencoded"  # the spec's POST body
MAX_BODY = 64 * 1024  # a description is at most 4,000 characters
CHANGESET = "2026-11-29T00:00:00+08:00"  # when this API last changed


async def _in_session(state: AppState, work: Callable[[Session, AppState], Any]) -> Any:
    """`work(session, state)` on the database threads."""

    def in_session() -> Any:
        with state.factory() as session:
            return work(session, state)

    return await state.runner.run(in_session)


async def _run(request: Request, fmt: str, root: str, work: Callable[[Session, AppState], Any]) -> Response:
    """`work`'s value answered in `fmt` (an Open311Error as the spec's errors)."""
    if fmt not in FORMATS:
        return errors("json", 404, f"unknown format {fmt!r}: use .json or .xml")
    try:
        return answer(fmt, root, await _in_session(request.app.state.gridbot, work))
    except open311.Open311Error as error:
        return errors(fmt, error.code, error.description)


@router.get("/discovery.{fmt}")
async def discovery(request: Request, fmt: str) -> Response:
    """Where the API is, its formats, and whom to ask for a key."""
    base = str(request.base_url).rstrip("/")
    found = {"changeset": CHANGESET, "contact": render("open311/contact"), "key_service": render("open311/key_service"),
             "endpoints": [{"specification": SPECIFICATION, "url": f"{base}{router.prefix}", "changeset": CHANGESET,
                            "type": "production", "formats": ["text/xml", "application/json"]}]}
    return await _run(request, fmt, "discovery", lambda session, state: found)


@router.get("/services.{fmt}")
async def services(request: Request, fmt: str) -> Response:
    return await _run(request, fmt, "services",
                      lambda session, state: open311.service_list(state.services.classifier()))


@router.get("/services/{code}.{fmt}")
async def service_definition(request: Request, code: str, fmt: str) -> Response:
    return await _run(request, fmt, "service_definition",
                      lambda session, state: open311.service_definition(state.services.classifier(), code))


@router.get("/requests.{fmt}")
async def find_requests(request: Request, fmt: str) -> Response:
    def work(session: Session, state: AppState) -> list[dict]:
        classifier = state.services.classifier()
        query = open311.parse_query(request.query_params, classifier, state.services.clock())
        return open311.find_requests(session, classifier, query)

    return await _run(request, fmt, "service_requests", work)


@router.get("/requests/{number}.{fmt}")
async def request_detail(request: Request, number: str, fmt: str) -> Response:
    return await _run(request, fmt, "service_requests",
                      lambda session, state: open311.request_detail(session, state.services.classifier(), number))


@router.get("/tokens/{token}.{fmt}")
async def token(request: Request, token: str, fmt: str) -> Response:
    return await _run(request, fmt, "service_requests", lambda session, state: open311.token_status(session, token))


@router.post("/requests.{fmt}")
async def file_request(request: Request, fmt: str) -> Response:
    """Create a request: the key checked, the form checked, then the intake (see the module docstring)."""
    if fmt not in FORMATS:
        return errors("json", 404, f"unknown format {fmt!r}: use .json or .xml")
    state: AppState = request.app.state.gridbot
    if not request.headers.get("content-type", "").startswith(FORM):
        return errors(fmt, 400, f"send the request as {FORM}")
    try:
        body = await read_limited(request, MAX_BODY)
    except BodyTooLarge:
        return errors(fmt, 413, f"the form is larger than {MAX_BODY} bytes")
    fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    key = dict(fields).get("api_key") or request.query_params.get("api_key")

    def checked(session: Session, state: AppState) -> Inbound:
        found = open311.authenticate(session, key, state.services.clock())
        return open311.inbound_for(open311.check(session, state.services, found, fields))

    try:
        inbound = await _in_session(state, checked)
    except open311.Open311Error as error:
        log.info("open311 request refused", extra={"status": error.code, "reason": error.description})
        return errors(fmt, error.code, error.description)
    try:
        await state.intake.accept(inbound)
    except Exception:  # not recorded (database down): nothing was filed
        return errors(fmt, 503, "the request could not be recorded; try again")
    account_id = dict(fields).get("account_id") or None
    return await _run(request, fmt, "service_requests",
                      lambda session, state: [open311.filed(session, inbound.msg_key, account_id)])
