"""`/wecom/callback`: the self-built app's URL verification and encrypted message callbacks."""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.routing import Match, Route
from wechatpy.work.replies import TextReply

from bot.state import AppState, get_state
from bot.wecom.crypto import CallbackCrypto, CallbackError, parse_xml
from bot.wecom.kf import kf_event
from bot.wecom.parsing import inbound_from_fields
from handlers.chat.inbound import Inbound

router = APIRouter()
log = logging.getLogger("gridbot.callback")


class BodyTooLarge(CallbackError):
    status = 413


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over `limit` without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge("body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge("body too large")
    return bytes(body)


def refuse(error: CallbackError) -> Response:
    log.info("callback refused", extra={"status": error.status, "reason": str(error)})
    return PlainTextResponse(str(error) or "refused", status_code=error.status)


def _cdata_safe(text: str) -> str:
    return text.replace("]]>", "]]]]><![CDATA[>")


def answer_verification(crypto: CallbackCrypto, signature: str, timestamp: str, nonce: str,
                        echostr: str) -> Response:
    """A URL verification's answer: the decrypted echostr as plain text, or the refusal."""
    try:
        return PlainTextResponse(crypto.verify_url(signature, timestamp, nonce, echostr))
    except CallbackError as error:
        return refuse(error)


def reply_nonce(nonce: str) -> str:
    """The nonce a reply echoes: the request's when it is plain ASCII letters and digits, else a fresh one."""
    return nonce if nonce.isalnum() and nonce.isascii() else secrets.token_hex(8)


@router.get("/wecom/callback", response_class=PlainTextResponse)
async def verify_url(msg_signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = "",
                     state: AppState = Depends(get_state)) -> Response:
    """URL verification: answer the decrypted echostr."""
    return answer_verification(state.crypto, msg_signature, timestamp, nonce, echostr)


async def receive(request: Request) -> Response:
    """An encrypted message or event: recorded before the answer, handled behind it (bot/intake.py);
    a 微信客服 `kf_msg_or_event` only starts a pull (bot/wecom/kf.py).

    The answer carries the reply (an encrypted passive reply) when it is ready within the
    wait, else it is an empty 200 and the reply follows through the outbox. The hottest
    route, so a plain Starlette route (see `router`): no FastAPI parameter or dependency solving.
    """
    state: AppState = request.app.state.gridbot
    query = request.query_params
    nonce = query.get("nonce", "")
    try:
        body = await read_limited(request, state.settings.max_body_bytes)
        plaintext, crypto = state.crypto.open_xml(body, query.get("msg_signature", ""), query.get("timestamp", ""),
                                                  nonce)
        fields = parse_xml(plaintext.encode())
        kf = kf_event(fields)
        if kf is not None:  # 微信客服: answered at once, the messages are pulled behind the answer
            state.kf.notify(*kf)
            return Response(status_code=200)
        inbound = inbound_from_fields(fields)
    except CallbackError as error:
        return refuse(error)
    try:
        reply = await state.intake.accept(inbound)
    except Exception:  # not recorded (database down): WeCom redelivers after a failed answer
        return PlainTextResponse("not recorded, try again", status_code=503)
    if not reply:
        return Response(status_code=200)
    return Response(render_reply(state, inbound, reply, nonce, crypto), media_type="application/xml")


class _PlainRoute(Route):
    """A Starlette route that names itself in the scope like FastAPI's do (the latency metric's label)."""

    def matches(self, scope: dict) -> tuple[Match, dict]:
        match, child_scope = super().matches(scope)
        if match != Match.NONE:
            child_scope["route"] = self
        return match, child_scope


post_route = _PlainRoute("/wecom/callback", receive, methods=["POST"])  # installed by bot/app.py


def render_reply(state: AppState, inbound: Inbound, reply: str, nonce: str,
                 crypto: CallbackCrypto | None = None) -> str:
    """The encrypted passive-reply envelope answering `inbound` with the text `reply`, sealed with `crypto`
    (the key the callback came in with; default the current one)."""
    xml = TextReply(source=state.settings.wecom_corp_id, target=_cdata_safe(inbound.userid),
                    content=_cdata_safe(reply), agent=state.settings.wecom_agent_id).render()
    return (crypto or state.crypto).encrypt_xml(xml, reply_nonce(nonce))
