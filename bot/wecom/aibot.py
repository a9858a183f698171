"""`/wecom/aibot`: the 智能机器人 (AI bot) callback — @-mentions in a grid group and single chats with the bot.

WeCom delivers a group member's words to gridbot only this way: an encrypted JSON body
(`{"encrypt": …}`, the app callback's crypto with an empty receive id) that decrypts to
`{msgid, chattype, chatid, from: {userid}, msgtype, text: {content}}`. The answer is an
encrypted JSON envelope holding a finished `stream` message. Commands go through the same
dispatcher as the app callback (handlers/intake/dispatch.py), so they behave identically.

The route answers only when the bot's own Token and key are configured (404 otherwise: a shipped
demo key must never move a case), and only for the configured `aibotid` when one is set.
"""

from __future__ import annotations

import json
import re
import time

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from bot.state import AppState, get_state
from bot.wecom.callback import answer_verification, read_limited, refuse, reply_nonce
from bot.wecom.crypto import CallbackError, MalformedCallback, WrongReceiver
from bot.wecom.parsing import MAX_TEXT
from handlers.chat.inbound import Inbound
from handlers.intake import dispatch
from handlers.texts import wording
from models import InboundMessage

router = APIRouter()
MAX_USERID = InboundMessage.__table__.c.from_userid.type.length
_MENTIONS = re.compile(r"^(?:\s*@[^\s\u2005]+[\s\u2005]*)+")
# The bot's own mention after the words ("进展 12 已修好 @网格通"); other people's stay (转派 12 @林建华).
_OWN_MENTION_AFTER = re.compile(rf"(?:[\s\u2005]*@{re.escape(wording()['brand'])})+[\s\u2005]*$")


def _object(value: object, what: str) -> dict:
    if not isinstance(value, dict):
        raise MalformedCallback(f"{what} is not a JSON object")
    return value


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


def encrypted_field(body: bytes) -> str:
    """The `encrypt` value of the callback body."""
    try:
        encrypted = _object(json.loads(body), "body").get("encrypt")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[…" nested too deep
        raise MalformedCallback("body is not JSON") from None
    if not isinstance(encrypted, str) or not encrypted:
        raise MalformedCallback("no encrypt field")
    return encrypted


def _text_of(payload: dict) -> str:
    """The words of a text or mixed (图文混排) message, without the leading @mentions."""
    if payload.get("msgtype") == "mixed":
        items = _object(payload.get("mixed"), "mixed").get("msg_item")
        items = items if isinstance(items, list) else []
        parts = [_string(_object(item.get("text") or {}, "text").get("content")) for item in items
                 if isinstance(item, dict) and item.get("msgtype") == "text"]
        content = " ".join(parts)
    else:
        content = _string(_object(payload.get("text"), "text").get("content"))
    return _OWN_MENTION_AFTER.sub("", _MENTIONS.sub("", content))[:MAX_TEXT].strip()


def inbound_from_bot(plaintext: str, bot_id: str | None = None) -> Inbound | None:
    """The decrypted JSON as an `Inbound`; None for what needs no answer (events, stream refreshes).

    With `bot_id`, a payload for any other `aibotid` is refused (WrongReceiver).
    """
    try:
        payload = _object(json.loads(plaintext), "payload")
    except (ValueError, RecursionError):
        raise MalformedCallback("payload is not JSON") from None
    if "\\u0000" in plaintext:  # PostgreSQL text cannot hold NUL, and WeCom never sends it
        raise MalformedCallback("NUL character in payload")
    if bot_id is not None and payload.get("aibotid") != bot_id:
        raise WrongReceiver("another aibotid")
    msgtype = _string(payload.get("msgtype"))
    if msgtype in ("event", "stream"):
        return None
    userid = _string(_object(payload.get("from"), "from").get("userid")).strip()
    msgid = _string(payload.get("msgid")).strip()
    if not userid or not msgid or not msgtype:
        raise MalformedCallback("missing msgid, from.userid or msgtype")
    if len(userid) > MAX_USERID:
        raise MalformedCallback("from.userid too long")
    chat_id = (_string(payload.get("chatid")) or None) if payload.get("chattype") == "group" else None
    common = {"msg_key": f"aibot:{msgid}"[:128], "userid": userid, "channel": "aibot", "chat_id": chat_id,
              "raw": payload}
    if msgtype in ("text", "mixed"):
        return Inbound(kind="text", text=_text_of(payload), **common)
    if msgtype in ("image", "file", "voice"):
        media = _object(payload.get(msgtype) or {}, msgtype)
        return Inbound(kind=msgtype, pic_url=_string(media.get("url")) or None, **common)
    return Inbound(kind="other", **common)


def stream_reply(state: AppState, inbound: Inbound, reply: str, nonce: str) -> JSONResponse:
    """The encrypted envelope of a finished stream message carrying `reply`."""
    message = {"msgtype": "stream", "stream": {"id": inbound.msg_key, "finish": True, "content": reply}}
    timestamp = str(int(time.time()))
    encrypted, signature = state.bot_crypto.encrypt(json.dumps(message, ensure_ascii=False), nonce, timestamp)
    return JSONResponse({"encrypt": encrypted, "msgsignature": signature, "timestamp": timestamp, "nonce": nonce})


def _not_configured() -> Response:
    return PlainTextResponse("not found", status_code=404)


@router.get("/wecom/aibot", response_class=PlainTextResponse)
async def verify_url(msg_signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = "",
                     state: AppState = Depends(get_state)) -> Response:
    """URL verification of the AI bot's callback address: answer the decrypted echostr."""
    if state.bot_crypto is None:
        return _not_configured()
    return answer_verification(state.bot_crypto, msg_signature, timestamp, nonce, echostr)


@router.post("/wecom/aibot")
async def receive(request: Request, msg_signature: str = "", timestamp: str = "", nonce: str = "",
                  state: AppState = Depends(get_state)) -> Response:
    """A message to the AI bot: recorded, handled like any other, answered in the bot's envelope."""
    if state.bot_crypto is None:
        return _not_configured()
    try:
        body = await read_limited(request, state.settings.max_body_bytes)
        encrypted = encrypted_field(body)
        inbound = inbound_from_bot(state.bot_crypto.decrypt_field(encrypted, msg_signature, timestamp, nonce),
                                   state.settings.wecom_bot_id)
    except CallbackError as error:
        return refuse(error)
    if inbound is None:
        return Response(status_code=200)
    reply = await state.runner.run(dispatch.process, state.factory, state.services, inbound)
    if not reply:
        return Response(status_code=200)
    return stream_reply(state, inbound, reply, reply_nonce(nonce))
