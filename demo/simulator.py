"""The demo's chat simulator: a page that speaks the real encrypted callback protocol to this app.

Only mounted in demo mode. The browser posts plain text here; this module plays WeCom:
it builds the callback XML, encrypts and signs it, POSTs it to `/wecom/callback` over
HTTP, and decrypts the passive reply. Each pane's conversation is read back from the database
(demo/history.py), so it survives switching people and reloading the page.
The "微信居民" pane plays a resident on plain WeChat: the message is queued at the fake WeCom's
微信客服 side and the app is told by an encrypted `kf_msg_or_event` callback, as WeCom does.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from xml.sax.saxutils import escape

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from bot.state import AppState, get_state
from bot.wecom.crypto import CallbackError, parse_xml
from bot.wecom.kf_messages import kf_userid
from demo import history as conversations
from handlers.texts import TEMPLATES_DIR
from models import Department, Grid, Liaison, Resident, Unit, Worker

router = APIRouter(prefix="/demo")
_msg_ids = itertools.count(int(time.time()) * 1000)


class SimulatedText(BaseModel):
    userid: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=2000)


def _people(state: AppState) -> dict:
    with state.factory() as session:
        residents = session.scalars(select(Resident.userid).order_by(Resident.id).limit(12)).all()
        workers = session.execute(select(Worker.userid, Worker.name, Worker.role)
                                  .order_by(Worker.id).limit(40)).all()
        liaisons = session.execute(select(Liaison.userid, Liaison.name, Department.name)
                                   .join(Department, Department.id == Liaison.department_id).order_by(Liaison.id)).all()
        grids = session.execute(select(Grid.code, Grid.name, Grid.chat_id).order_by(Grid.id)).all()
        home = session.scalar(select(Unit.grid_id).join(Resident, Resident.unit_id == Unit.id)
                              .where(Resident.userid == "demo-resident"))
        home_code = session.scalar(select(Grid.code).where(Grid.id == home)) if home else None
        buildings = session.execute(select(Unit.code, Unit.address).where(Unit.grid_id == home)
                                    .order_by(Unit.code).limit(30)).all() if home else []
    grids = sorted(grids, key=lambda grid: grid.code != home_code)  # the demo resident's grid first
    return {"residents": list(residents), "workers": [tuple(w) for w in workers], "liaisons": [tuple(l) for l in liaisons],
            "grids": [tuple(g) for g in grids], "buildings": [tuple(b) for b in buildings]}


@router.get("/", response_class=HTMLResponse)
async def page(state: AppState = Depends(get_state)) -> HTMLResponse:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    people = await state.runner.run(_people, state)
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html", "j2"]))
    return HTMLResponse(env.get_template("simulator/index.html.j2").render(**people))


@router.post("/send")
async def send(message: SimulatedText, request: Request, state: AppState = Depends(get_state)) -> JSONResponse:
    """Play WeCom: deliver `text` from `userid` to /wecom/callback, encrypted; return the reply."""
    plaintext = (
        f"<xml><ToUserName><![CDATA[{state.settings.wecom_corp_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{escape(message.userid)}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{message.text.replace(']]>', '')}]]></Content>"
        f"<MsgId>{next(_msg_ids)}</MsgId><AgentID>{state.settings.wecom_agent_id}</AgentID></xml>"
    )
    nonce, timestamp = secrets.token_hex(6), str(int(time.time()))
    encrypted, signature = state.crypto.encrypt(plaintext, nonce, timestamp)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    response = await _post(request, "/wecom/callback", body, signature, timestamp, nonce)
    if response.status_code != 200 or not response.content:
        return JSONResponse({"status": response.status_code, "reply": None})
    try:
        envelope = parse_xml(response.content)
        reply_xml = state.crypto.decrypt_field(envelope["Encrypt"], envelope["MsgSignature"],
                                               envelope["TimeStamp"], envelope["Nonce"])
    except (CallbackError, KeyError):
        return JSONResponse({"status": 502, "reply": None})
    return JSONResponse({"status": 200, "reply": parse_xml(reply_xml.encode()).get("Content")})


class SimulatedKf(BaseModel):
    external_userid: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = Field(default="", max_length=2000)
    scene_param: str = Field(default="", max_length=64)  # a building's unit code (its QR code)


@router.post("/kf/send")
async def kf_send(message: SimulatedKf, request: Request, state: AppState = Depends(get_state)) -> JSONResponse:
    """Play a 微信客服 resident: the text (or, without one, entering through a building's QR code) is
    queued at the fake WeCom and announced to the app; replies arrive in the feed."""
    spec = ({"msgtype": "text", "content": message.text} if message.text else
            {"msgtype": "event", "event_type": "enter_session", "scene": "building", "scene_param": message.scene_param})
    async with httpx.AsyncClient(base_url=state.settings.wecom_api_base, timeout=5) as client:
        made = (await client.post("/_fake/kf/inject", json={"external_userid": message.external_userid, **spec})).json()
    plaintext = (f"<xml><ToUserName><![CDATA[{state.settings.wecom_corp_id}]]></ToUserName>"
                 f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                 f"<Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[{made['token']}]]></Token>"
                 f"<OpenKfId><![CDATA[{made['open_kfid']}]]></OpenKfId></xml>")
    nonce, timestamp = secrets.token_hex(6), str(int(time.time()))
    encrypted, signature = state.crypto.encrypt(plaintext, nonce, timestamp)
    response = await _post(request, "/wecom/callback", f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>",
                           signature, timestamp, nonce)
    return JSONResponse({"status": response.status_code})


class SimulatedMention(SimulatedText):
    chatid: str = Field(min_length=1, max_length=64)


@router.post("/mention")
async def mention(message: SimulatedMention, request: Request, state: AppState = Depends(get_state)) -> JSONResponse:
    """Play WeCom's AI bot: `userid` @-mentions the bot in group `chatid`; return the bot's answer."""
    payload = {"msgid": f"sim-{next(_msg_ids)}", "aibotid": "gridbot-demo", "chatid": message.chatid,
               "chattype": "group", "from": {"userid": message.userid}, "msgtype": "text",
               "text": {"content": f"@网格通 {message.text}"}}
    nonce, timestamp = secrets.token_hex(6), str(int(time.time()))
    encrypted, signature = state.bot_crypto.encrypt(json.dumps(payload, ensure_ascii=False), nonce, timestamp)
    response = await _post(request, "/wecom/aibot", json.dumps({"encrypt": encrypted}), signature, timestamp, nonce)
    if response.status_code != 200 or not response.content:
        return JSONResponse({"status": response.status_code, "reply": None})
    try:
        envelope = response.json()
        answer = state.bot_crypto.decrypt_field(envelope["encrypt"], envelope["msgsignature"],
                                                envelope["timestamp"], envelope["nonce"])
        return JSONResponse({"status": 200, "reply": json.loads(answer)["stream"]["content"]})
    except (CallbackError, KeyError, ValueError):
        return JSONResponse({"status": 502, "reply": None})


async def _post(request: Request, path: str, body: str, signature: str, timestamp: str, nonce: str) -> httpx.Response:
    """POST a signed callback to this very app over HTTP, as WeCom would."""
    async with httpx.AsyncClient(base_url=str(request.base_url), timeout=10) as client:
        return await client.post(path, content=body.encode(),
                                 params={"msg_signature": signature, "timestamp": timestamp, "nonce": nonce})


@router.get("/history")
async def history(userid: str = "", chatid: str = "", kf: str = "",
                  state: AppState = Depends(get_state)) -> JSONResponse:
    """Each pane's conversation read back from the database: private chat of `userid`, group `chatid`, and the
    微信客服 resident `kf` (an external_userid)."""
    def read() -> dict:
        with state.factory() as session:
            return {"private": conversations.private(session, userid[:64]) if userid else [],
                    "group": conversations.group(session, chatid[:64]) if chatid else [],
                    "kf": conversations.kf(session, kf_userid(kf[:60])) if kf else []}

    return JSONResponse(await state.runner.run(read))
