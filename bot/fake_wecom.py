"""A fake WeCom server API for tests and the local demo: it answers like WeCom and records every call.

Endpoints: gettoken, message/send, appchat/create, appchat/send, webhook/send — errcode/errmsg
JSON, access tokens issued, checked and expiring. Test controls under `/_fake/`:
- `GET /_fake/calls?path=P[&all=true]`: the calls WeCom accepted and delivered (what people saw),
  oldest first, each `{path, query, json, at, errcode, status, duplicate, dropped}`; `all=true` adds
  refused and faulted calls, duplicates that message/send's duplicate check kept from being delivered,
  and messages dropped over the per-member limit (when the fake is made with `member_per_minute`).
- `POST /_fake/faults`: a list of `{path, errcode?, errmsg?, http_status?, delay?, close?, times?}`;
  the next `times` (default 1; -1 = until reset) calls to `path` ("*" = any) fail that way.
  `delay` (seconds) alone slows the answer; `close` drops the connection without an answer.
- `GET`/`DELETE /_fake/faults`, `POST /_fake/expire_tokens`, `POST /_fake/reset` (calls and faults).
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
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

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
class _FakeState:
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
    webhook_hits: dict[str, list[float]] = field(default_factory=dict)
    delivered: dict[tuple, float] = field(default_factory=dict)  # message/send duplicate check
    member_hits: dict[str, list[float]] = field(default_factory=dict)  # message/send deliveries per member
    msgids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times != 0 and fault.path in (path, "*"):
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None

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

    def over_member_limit(self, touser: str) -> bool:
        """WeCom accepts but silently drops app messages beyond its per-member limit (30 a minute)."""
        if self.member_per_minute is None:
            return False
        now = time.monotonic()
        with self.lock:
            hits = [t for t in self.member_hits.get(touser, []) if now - t < 60]
            self.member_hits[touser] = hits if len(hits) >= self.member_per_minute else [*hits, now]
            return len(hits) >= self.member_per_minute

    def record(self, request: Request, body: dict | None, errcode: int | None, status: int = 200) -> None:
        call = {"path": request.url.path, "query": dict(request.query_params), "json": body,
                "at": datetime.now(timezone.utc).isoformat(), "errcode": errcode, "status": status,
                "duplicate": bool(request.scope.get("state", {}).get("duplicate")),
                "dropped": bool(request.scope.get("state", {}).get("dropped"))}
        with self.lock:
            self.calls.append(call)


def _error(errcode: int, errmsg: str | None = None) -> dict:
    return {"errcode": errcode, "errmsg": errmsg or ERRMSGS.get(errcode, "error")}


def _ok_unless(errcode: int | None) -> dict:
    return _error(errcode) if errcode else {"errcode": 0, "errmsg": "ok"}


class _FakeWeComApp(FastAPI):
    """FastAPI plus one ASGI-level trick: a `close` fault drops the TCP connection unanswered."""

    fake: _FakeState

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_fake/"):
            fault = self.fake.take_fault(scope["path"])
            if fault is not None and fault.close:
                transport = getattr(getattr(send, "__self__", None), "transport", None)
                if transport is not None:  # uvicorn's protocol objects expose their transport
                    with self.fake.lock:
                        self.fake.calls.append({"path": scope["path"], "query": {}, "json": None, "errcode": None,
                                                "status": 0, "duplicate": False, "dropped": False,
                                                "at": datetime.now(timezone.utc).isoformat()})
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


def create_fake_wecom(*, corp_id: str | None = None, secret: str | None = None, token_ttl: int = 7200,
                      strict_chats: bool = False, member_per_minute: int | None = None) -> FastAPI:
    """A fake WeCom; `corp_id`/`secret` (when given) are checked at gettoken, `strict_chats` refuses
    sends to chats it did not create (real WeCom does; the demo district's chats are not created),
    `member_per_minute` drops app messages to a member beyond that many a minute, as WeCom does at 30."""
    fake = _FakeState(corp_id=corp_id, secret=secret, token_ttl=token_ttl, strict_chats=strict_chats,
                      member_per_minute=member_per_minute)
    app = _FakeWeComApp(title="fake WeCom", docs_url=None, redoc_url=None, openapi_url=None)
    app.fake = fake

    async def answer(request: Request, body: dict | None, handler) -> JSONResponse:
        """Apply the programmed fault for this call, else the handler's answer; record the call."""
        fault: Fault | None = request.scope.get("state", {}).get("fault")
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.http_status:
            fake.record(request, body, None, fault.http_status)
            return PlainTextResponse("fault", status_code=fault.http_status)
        if fault is not None and fault.errcode is not None:
            result = _error(fault.errcode, fault.errmsg)
        else:
            result = handler()
        fake.record(request, body, result["errcode"])
        return JSONResponse(result)

    def check_token(request: Request) -> dict | None:
        token = request.query_params.get("access_token")
        if not token:
            return _error(41001)
        with fake.lock:
            expires = fake.tokens.get(token)
        if expires is None:
            return _error(40014)
        return _error(42001) if time.monotonic() >= expires else None

    async def json_body(request: Request) -> dict:
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    @app.get("/cgi-bin/gettoken")
    async def gettoken(request: Request) -> JSONResponse:
        def handle() -> dict:
            query = request.query_params
            if not query.get("corpid") or (fake.corp_id and query["corpid"] != fake.corp_id):
                return _error(40013)
            if not query.get("corpsecret") or (fake.secret and query["corpsecret"] != fake.secret):
                return _error(40001)
            token = secrets.token_urlsafe(32)
            with fake.lock:
                fake.tokens[token] = time.monotonic() + fake.token_ttl
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": fake.token_ttl}
        return await answer(request, None, handle)

    @app.post("/cgi-bin/message/send")
    async def message_send(request: Request) -> JSONResponse:
        body = await json_body(request)

        def handle() -> dict:
            problem = check_token(request)
            if problem:
                return problem
            if not body.get("agentid"):
                return _error(41011)
            code = _text_problem(body)
            if code:
                return _error(code)
            if fake.is_duplicate(body):
                request.scope["state"]["duplicate"] = True
            elif fake.over_member_limit(str(body.get("touser"))):
                request.scope["state"]["dropped"] = True
            return {"errcode": 0, "errmsg": "ok", "invaliduser": "", "invalidparty": "", "invalidtag": "",
                    "unlicenseduser": "", "msgid": f"fake-{next(fake.msgids)}", "response_code": ""}
        return await answer(request, body, handle)

    @app.post("/cgi-bin/appchat/create")
    async def appchat_create(request: Request) -> JSONResponse:
        body = await json_body(request)

        def handle() -> dict:
            problem = check_token(request)
            if problem:
                return problem
            members = body.get("userlist")
            if not isinstance(members, list) or not 2 <= len(members) <= 2000:
                return _error(86006)
            chatid = str(body.get("chatid") or secrets.token_hex(8))
            if not chatid.isalnum() or len(chatid) > 32:
                return _error(86001)
            with fake.lock:
                if chatid in fake.chats:
                    return _error(86215)
                fake.chats[chatid] = {"name": body.get("name"), "owner": body.get("owner"), "userlist": members}
            return {"errcode": 0, "errmsg": "ok", "chatid": chatid}
        return await answer(request, body, handle)

    @app.post("/cgi-bin/appchat/send")
    async def appchat_send(request: Request) -> JSONResponse:
        body = await json_body(request)

        def handle() -> dict:
            problem = check_token(request)
            if problem:
                return problem
            chatid = body.get("chatid")
            if not chatid:
                return _error(86001)
            if fake.strict_chats and chatid not in fake.chats:
                return _error(86003)
            return _ok_unless(_text_problem(body))
        return await answer(request, body, handle)

    @app.post("/cgi-bin/webhook/send")
    async def webhook_send(request: Request) -> JSONResponse:
        body = await json_body(request)

        def handle() -> dict:
            key = request.query_params.get("key")
            if not key:
                return _error(93000)
            now = time.monotonic()
            with fake.lock:
                hits = [t for t in fake.webhook_hits.get(key, []) if now - t < 60]
                if len(hits) >= WEBHOOK_PER_MINUTE:
                    return _error(45009)
                fake.webhook_hits[key] = [*hits, now]
            return _ok_unless(_text_problem(body))
        return await answer(request, body, handle)

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
            fake.webhook_hits.clear()
            fake.delivered.clear()
            fake.member_hits.clear()
        return {"errcode": 0, "errmsg": "ok"}

    return app
