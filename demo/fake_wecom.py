"""A fake WeCom server API for tests and the local demo: it answers like WeCom and records every call.

Endpoints: gettoken, message/send, appchat/create, appchat/send, webhook/send, and the 微信客服
ones of demo/fake_kf.py (kf/sync_msg, kf/send_msg, kf/send_msg_on_event, kf/add_contact_way,
kf/account/list, media/get) — errcode/errmsg JSON, access tokens issued, checked and expiring. Test controls under `/_fake/`:
- `GET /_fake/calls?path=P[&all=true]`: the calls WeCom accepted and delivered (what people saw),
  oldest first, each `{path, query, json, at, errcode, status, duplicate, dropped}`; `all=true` adds
  refused and faulted calls, duplicates that message/send's duplicate check kept from being delivered,
  and messages dropped over the per-member limit (when the fake is made with `member_per_minute`).
- `POST /_fake/faults`: a list of `{path, errcode?, errmsg?, http_status?, delay?, close?, times?}`;
  the next `times` (default 1; -1 = until reset) calls to `path` ("*" = any) fail that way.
  `delay` (seconds) alone slows the answer; `close` drops the connection without an answer.
- `GET`/`DELETE /_fake/faults`, `POST /_fake/expire_tokens`, `POST /_fake/reset` (calls and faults).
- `POST /_fake/kf/inject`: a kf resident writes (`{external_userid, msgtype, content | event_type,
  scene_param | <msgtype>: {WeCom's body of that kind}, origin?, open_kfid?}`); answers `{msgid, token, welcome_code?, media_id?}`, the token
  being the one WeCom's `kf_msg_or_event` callback carries. `POST /_fake/kf/clock {"advance": s}`.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from demo.fake_kf import FakeKf

TEXT_LIMIT_BYTES = 2048
WEBHOOK_PER_MINUTE = 20  # WeCom's limit per group robot
ERRMSGS = {
    -1: "system error", 40001: "invalid credential", 40008: "invalid message type", 40013: "invalid corpid",
    40014: "invalid access_token", 41001: "access_token missing", 41011: "missing agentid",
    42001: "access_token expired", 44004: "empty content", 45002: "content size out of limit",
    45009: "reach max api daily quota limit", 45033: "api concurrent out of limit",
    60020: "not allow to access from your ip", 86001: "invalid chatid", 86003: "chatid not exist",
    86006: "invalid chat member count", 86215: "chatid exists", 93000: "invalid webhook url",
}


class Fault(BaseModel):
    path: str = "*"
    errcode: int | None = None
    errmsg: str | None = None
    http_status: int | None = Field(default=None, ge=100, le=599)
    delay: float = Field(default=0.0, ge=0, le=120)
    close: bool = False
    times: int = 1


@dataclass
class _FakeWeCom:
    """What the fake remembers, and how each WeCom API answers: `(query, body, marks) -> errcode JSON`;
    `marks` collects what the call record should say beyond the answer (duplicate, dropped)."""

    corp_id: str | None
    secret: str | None
    token_ttl: int
    strict_chats: bool
    member_per_minute: int | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[dict] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    chats: dict[str, dict] = field(default_factory=dict)
    delivered: dict[tuple, float] = field(default_factory=dict)  # message/send duplicate check
    hits: dict[str, list[float]] = field(default_factory=dict)  # per-minute windows (robots, members)
    msgids: itertools.count = field(default_factory=lambda: itertools.count(1))
    kf: FakeKf = field(default_factory=FakeKf)

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times != 0 and fault.path in (path, "*"):
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None

    def record(self, path: str, query: dict, body: dict | None, errcode: int | None, status: int = 200,
               **marks: bool) -> None:
        call = {"path": path, "query": query, "json": body, "at": datetime.now(timezone.utc).isoformat(),
                "errcode": errcode, "status": status, "duplicate": False, "dropped": False, **marks}
        with self.lock:
            self.calls.append(call)

    def token_problem(self, query: dict) -> dict | None:
        token = query.get("access_token")
        if not token:
            return _error(41001)
        with self.lock:
            expires = self.tokens.get(token)
        if expires is None:
            return _error(40014)
        return _error(42001) if time.monotonic() >= expires else None

    def over_limit(self, key: str, per_minute: int) -> bool:
        """Count a call against `key`'s one-minute window; True (and not counted) when it is full."""
        now = time.monotonic()
        with self.lock:
            window = [t for t in self.hits.get(key, []) if now - t < 60]
            full = len(window) >= per_minute
            self.hits[key] = window if full else [*window, now]
        return full

    def is_duplicate(self, body: dict) -> bool:
        """message/send with enable_duplicate_check: the same text to the same users within the interval
        is accepted but not delivered again."""
        if not body.get("enable_duplicate_check"):
            return False
        key = (body.get("touser"), body.get("agentid"), str(body.get("text")))
        now = time.monotonic()
        with self.lock:
            seen = self.delivered.get(key)
            if seen is not None and now - seen < int(body.get("duplicate_check_interval") or 1800):
                return True
            self.delivered[key] = now
        return False

    def gettoken(self, query: dict, body: dict, marks: dict) -> dict:
        if not query.get("corpid") or (self.corp_id and query["corpid"] != self.corp_id):
            return _error(40013)
        if not query.get("corpsecret") or (self.secret and query["corpsecret"] != self.secret):
            return _error(40001)
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_ttl
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_ttl}

    def message_send(self, query: dict, body: dict, marks: dict) -> dict:
        if not body.get("agentid"):
            return _error(41011)
        code = _text_problem(body)
        if code:
            return _error(code)
        if self.is_duplicate(body):
            marks["duplicate"] = True
        elif self.member_per_minute is not None:
            marks["dropped"] = self.over_limit(f"member:{body.get('touser')}", self.member_per_minute)
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "", "invalidparty": "", "invalidtag": "",
                "unlicenseduser": "", "msgid": f"fake-{next(self.msgids)}", "response_code": ""}

    def appchat_create(self, query: dict, body: dict, marks: dict) -> dict:
        members = body.get("userlist")
        if not isinstance(members, list) or not 2 <= len(members) <= 2000:
            return _error(86006)
        chatid = str(body.get("chatid") or secrets.token_hex(8))
        if not chatid.isalnum() or len(chatid) > 32:
            return _error(86001)
        with self.lock:
            if chatid in self.chats:
                return _error(86215)
            self.chats[chatid] = {"name": body.get("name"), "owner": body.get("owner"), "userlist": members}
        return {"errcode": 0, "errmsg": "ok", "chatid": chatid}

    def appchat_send(self, query: dict, body: dict, marks: dict) -> dict:
        chatid = body.get("chatid")
        if not chatid:
            return _error(86001)
        if self.strict_chats and chatid not in self.chats:
            return _error(86003)
        return _ok_unless(_text_problem(body))

    def webhook_send(self, query: dict, body: dict, marks: dict) -> dict:
        key = query.get("key")
        if not key:
            return _error(93000)
        if self.over_limit(f"robot:{key}", WEBHOOK_PER_MINUTE):
            return _error(45009)
        return _ok_unless(_text_problem(body))


def _error(errcode: int, errmsg: str | None = None) -> dict:
    return {"errcode": errcode, "errmsg": errmsg or ERRMSGS.get(errcode, "error")}


def _ok_unless(errcode: int | None) -> dict:
    return _error(errcode) if errcode else {"errcode": 0, "errmsg": "ok"}


class _FakeWeComApp(FastAPI):
    """FastAPI plus one ASGI-level trick: a `close` fault drops the TCP connection unanswered."""

    fake: _FakeWeCom

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_fake/"):
            fault = self.fake.take_fault(scope["path"])
            if fault is not None and fault.close:
                transport = getattr(getattr(send, "__self__", None), "transport", None)
                if transport is not None:  # uvicorn's protocol objects expose their transport
                    self.fake.record(scope["path"], {}, None, None, status=0)
                    transport.abort()
                    while (await receive())["type"] != "http.disconnect":
                        pass  # let uvicorn see the disconnect, so it does not try to answer
                    return
            scope.setdefault("state", {})["fault"] = fault
        await super().__call__(scope, receive, send)


def _text_problem(body: dict) -> int | None:
    """The errcode WeCom gives a malformed text message, or None."""
    if body.get("msgtype") != "text":
        return 40008
    content = (body.get("text") or {}).get("content")
    if not isinstance(content, str) or not content:
        return 44004
    if len(content.encode()) > TEXT_LIMIT_BYTES:
        return 45002
    return None


def _endpoint(fake: _FakeWeCom, handler, needs_token: bool):
    """A route answering with `handler`, after the token check and any programmed fault; it records the call."""

    async def endpoint(request: Request) -> Response:
        path, query = request.url.path, dict(request.query_params)
        body = None
        if request.method == "POST":
            try:
                body = await request.json()
            except ValueError:
                body = None
        fault: Fault | None = request.scope.get("state", {}).get("fault")
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.http_status:
            fake.record(path, query, body, None, fault.http_status)
            return PlainTextResponse("fault", status_code=fault.http_status)
        marks: dict[str, bool] = {}
        if fault is not None and fault.errcode is not None:
            result = _error(fault.errcode, fault.errmsg)
        else:
            result = (needs_token and fake.token_problem(query)) or handler(
                query, body if isinstance(body, dict) else {}, marks)
        if isinstance(result, Response):  # a file (media/get)
            fake.record(path, query, body, 0, **marks)
            return result
        fake.record(path, query, body, result["errcode"], **marks)
        return JSONResponse(result)

    return endpoint


def create_fake_wecom(*, corp_id: str | None = None, secret: str | None = None, token_ttl: int = 7200,
                      strict_chats: bool = False, member_per_minute: int | None = None) -> FastAPI:
    """A fake WeCom; `corp_id`/`secret` (when given) are checked at gettoken, `strict_chats` refuses
    sends to chats it did not create (real WeCom does; the demo district's chats are not created),
    `member_per_minute` drops app messages to a member beyond that many a minute, as WeCom does at 30."""
    fake = _FakeWeCom(corp_id=corp_id, secret=secret, token_ttl=token_ttl, strict_chats=strict_chats,
                      member_per_minute=member_per_minute)
    app = _FakeWeComApp(title="fake WeCom", docs_url=None, redoc_url=None, openapi_url=None)
    app.fake = fake
    for path, (method, handler, needs_token) in {
        "/cgi-bin/gettoken": ("GET", fake.gettoken, False),
        "/cgi-bin/message/send": ("POST", fake.message_send, True),
        "/cgi-bin/appchat/create": ("POST", fake.appchat_create, True),
        "/cgi-bin/appchat/send": ("POST", fake.appchat_send, True),
        "/cgi-bin/webhook/send": ("POST", fake.webhook_send, False),
        "/cgi-bin/kf/sync_msg": ("POST", fake.kf.sync_msg, True),
        "/cgi-bin/kf/send_msg": ("POST", fake.kf.send_msg, True),
        "/cgi-bin/kf/send_msg_on_event": ("POST", fake.kf.send_msg_on_event, True),
        "/cgi-bin/kf/add_contact_way": ("POST", fake.kf.add_contact_way, True),
        "/cgi-bin/kf/account/list": ("POST", fake.kf.account_list, True),
        "/cgi-bin/media/get": ("GET", fake.kf.media_get, True),
    }.items():
        app.add_api_route(path, _endpoint(fake, handler, needs_token), methods=[method])

    @app.get("/_fake/calls")
    async def calls(path: str | None = None, all: bool = False) -> list[dict]:
        with fake.lock:
            found = list(fake.calls)
        return [c for c in found if (path is None or c["path"] == path)
                and (all or (c["errcode"] == 0 and not c["duplicate"] and not c["dropped"]))]

    @app.post("/_fake/faults")
    async def add_faults(faults: list[Fault]) -> dict:
        with fake.lock:
            fake.faults.extend(faults)
        return {"errcode": 0, "errmsg": "ok", "faults": len(fake.faults)}

    @app.get("/_fake/faults")
    async def list_faults() -> list[Fault]:
        with fake.lock:
            return [f for f in fake.faults if f.times != 0]

    @app.delete("/_fake/faults")
    async def clear_faults() -> dict:
        with fake.lock:
            fake.faults.clear()
        return {"errcode": 0, "errmsg": "ok"}

    @app.post("/_fake/expire_tokens")
    async def expire_tokens() -> dict:
        with fake.lock:
            fake.tokens = dict.fromkeys(fake.tokens, 0.0)
        return {"errcode": 0, "errmsg": "ok"}

    @app.post("/_fake/reset")
    async def reset() -> dict:
        with fake.lock:
            fake.calls.clear()
            fake.faults.clear()
            fake.delivered.clear()
            fake.hits.clear()
        fake.kf.reset()
        return {"errcode": 0, "errmsg": "ok"}

    @app.post("/_fake/kf/inject")
    async def kf_inject(spec: dict) -> dict:
        if not spec.get("external_userid"):
            return _error(40003, "external_userid missing")
        return {"errcode": 0, "errmsg": "ok", **fake.kf.inject(spec)}

    @app.post("/_fake/kf/clock")
    async def kf_clock(move: dict) -> dict:
        fake.kf.offset += float(move.get("advance", 0))
        return {"errcode": 0, "errmsg": "ok", "offset": fake.kf.offset}

    return app
