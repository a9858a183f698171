"""The fake WeCom's 微信客服 (kf) side: accounts, residents' messages to pull, the send window, media.

It answers kf/sync_msg (cursor paging, the event token checked), kf/send_msg (refused, as WeCom
does, beyond 5 messages within 48 h of the resident's last message; its msgid is in the call record,
and `inject` can report it undelivered later with a `msg_send_fail` event), kf/send_msg_on_event
(single-use welcome codes, ~20 s), kf/add_contact_way, kf/account/list and media/get. Tests and the
simulator play the resident through `inject`: the message is queued for the pull and the
`kf_msg_or_event` token to call back with is returned.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field

from fastapi.responses import Response

DEMO_KF_ACCOUNT = "wkgridbotdemo0001"
WINDOW_SECONDS = 48 * 3600
WINDOW_MESSAGES = 5
EVENT_TOKEN_TTL = 600  # the callback's Token: valid 10 minutes
WELCOME_CODE_TTL = 20
SESSION_REFUSED = 95018  # "send msg session status invalid": WeCom's refusal outside the window


def _error(errcode: int, errmsg: str) -> dict:
    return {"errcode": errcode, "errmsg": errmsg}


def tiny_png(seed: str) -> bytes:
    """A valid 2x2 PNG whose colour depends on `seed` (a resident's "photo")."""
    red, green, blue = hashlib.sha1(seed.encode()).digest()[:3]
    raw = b"".join(b"\x00" + bytes([red, green, blue]) * 2 for _ in range(2))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@dataclass
class FakeKf:
    """The kf state of one fake WeCom; `now` is wall-clock time plus `offset` (tests move it)."""

    accounts: dict[str, str] = field(default_factory=lambda: {DEMO_KF_ACCOUNT: "网格服务"})
    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: dict[str, list[dict]] = field(default_factory=dict)  # open_kfid -> items, oldest first
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # event token -> (open_kfid, expiry)
    windows: dict[tuple[str, str], list] = field(default_factory=dict)  # (kfid, user) -> [last msg, sent since]
    welcome_codes: dict[str, tuple[float, str]] = field(default_factory=dict)  # code -> (expiry, resident)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    offset: float = 0.0
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def now(self) -> float:
        return time.time() + self.offset

    # -- the resident's side (tests, simulator) ---------------------------------------------------

    def inject(self, spec: dict) -> dict:
        """Queue a message or event for the pull; what to call back with (token) and what was made."""
        kfid = spec.get("open_kfid") or DEMO_KF_ACCOUNT
        user = spec["external_userid"]
        kind = spec.get("msgtype", "text")
        origin = int(spec.get("origin", 4 if kind == "event" else 3))
        now = self.now()
        with self.lock:
            number = next(self.ids)
            item = {"msgid": f"fake-kf-{number}-{secrets.token_hex(4)}", "open_kfid": kfid,
                    "external_userid": user, "send_time": int(now), "origin": origin, "msgtype": kind}
            made: dict = {"msgid": item["msgid"]}
            if kind == "text":
                item["text"] = {"content": spec.get("content", "")}
            elif kind in ("image", "voice", "video", "file"):
                media_id = f"kfmedia-{number}-{secrets.token_hex(6)}"
                self.media[media_id] = (tiny_png(media_id), "image/png")
                item[kind] = {"media_id": media_id}
                made["media_id"] = media_id
            elif kind == "location":
                item["location"] = {key: spec.get(key) for key in ("latitude", "longitude", "name", "address")}
            elif kind == "event":
                event = {"event_type": spec.get("event_type", "enter_session"), "open_kfid": kfid,
                         "external_userid": user, "scene": spec.get("scene", ""),
                         "scene_param": spec.get("scene_param", "")}
                if event["event_type"] == "msg_send_fail":  # WeCom's report of a message it could not deliver
                    event.update(fail_msgid=spec.get("fail_msgid", ""), fail_type=int(spec.get("fail_type", 0)))
                if event["event_type"] == "user_recall_msg":  # the resident took a message back (撤回)
                    event["recall_msgid"] = spec.get("recall_msgid", "")
                if spec.get("welcome", True) and event["event_type"] == "enter_session":
                    code = event["welcome_code"] = secrets.token_hex(12)
                    self.welcome_codes[code] = (now + WELCOME_CODE_TTL, user)
                    made["welcome_code"] = code
                item["event"] = event
            else:  # link, miniprogram, business_card, channels, merged_msg ...: WeCom's body of that kind, as given
                item[kind] = spec.get(kind) or {}
            if origin == 3:  # the resident wrote: a fresh window of 5 messages
                self.windows[(kfid, user)] = [now, 0]
            self.messages.setdefault(kfid, []).append(item)
            token = f"ENC{secrets.token_urlsafe(24)}"
            self.tokens[token] = (kfid, time.monotonic() + EVENT_TOKEN_TTL)
        return {**made, "token": token, "open_kfid": kfid}

    # -- the API ------------------------------------------------------------------------------------

    def sync_msg(self, query: dict, body: dict, marks: dict) -> dict:
        kfid = body.get("open_kfid")
        if kfid not in self.accounts:
            return _error(95000, "invalid open_kfid")
        token = body.get("token")
        with self.lock:
            if token:
                owner = self.tokens.get(token)
                if owner is None or owner[0] != kfid or time.monotonic() > owner[1]:
                    return _error(95007, "invalid msg token")
            items = self.messages.get(kfid, [])
            cursor = body.get("cursor") or "c0"
            if not (cursor.startswith("c") and cursor[1:].isdigit()) or int(cursor[1:]) > len(items):
                return _error(95009, "invalid cursor")
            start = int(cursor[1:])
            limit = max(1, min(int(body.get("limit") or 1000), 1000))
            page = items[start:start + limit]
        end = start + len(page)
        return {"errcode": 0, "errmsg": "ok", "next_cursor": f"c{end}", "has_more": int(end < len(items)),
                "msg_list": page}

    def send_msg(self, query: dict, body: dict, marks: dict) -> dict:
        kfid, user = body.get("open_kfid"), body.get("touser")
        if kfid not in self.accounts:
            return _error(95000, "invalid open_kfid")
        if body.get("msgtype") != "text" or not (body.get("text") or {}).get("content"):
            return _error(40008, "invalid message type")
        with self.lock:
            window = self.windows.get((kfid, user))
            if window is None or self.now() - window[0] > WINDOW_SECONDS or window[1] >= WINDOW_MESSAGES:
                return _error(SESSION_REFUSED, "send msg session status invalid")
            window[1] += 1
        msgid = marks["msgid"] = f"fake-kf-out-{next(self.ids)}"  # the call record names it (msg_send_fail)
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def send_msg_on_event(self, query: dict, body: dict, marks: dict) -> dict:
        with self.lock:
            expiry, user = self.welcome_codes.pop(str(body.get("code")), (None, None))
        if expiry is None or self.now() > expiry:
            return _error(40058, "invalid welcome code")
        marks["kf_user"] = user  # who saw the greeting (the simulator's feed)
        if body.get("msgtype") != "text" or not (body.get("text") or {}).get("content"):
            return _error(40008, "invalid message type")
        return {"errcode": 0, "errmsg": "ok", "msgid": f"fake-kf-welcome-{next(self.ids)}"}

    def add_contact_way(self, query: dict, body: dict, marks: dict) -> dict:
        kfid = body.get("open_kfid")
        if kfid not in self.accounts:
            return _error(95000, "invalid open_kfid")
        digest = hashlib.sha1(f"{kfid}:{body.get('scene', '')}".encode()).hexdigest()[:16]
        return {"errcode": 0, "errmsg": "ok",
                "url": f"https://work.weixin.qq.com/kf/kfc{digest}?enc_scene=ENC{body.get('scene', '')}"}

    def account_list(self, query: dict, body: dict, marks: dict) -> dict:
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 100)
        accounts = [{"open_kfid": kfid, "name": name, "avatar": "", "manage_privilege": True}
                    for kfid, name in self.accounts.items()][offset:offset + limit]
        return {"errcode": 0, "errmsg": "ok", "account_list": accounts}

    def media_get(self, query: dict, body: dict, marks: dict) -> dict | Response:
        with self.lock:
            media_id = query.get("media_id", "")
            found = self.media.get(media_id)
        if found is None and media_id.startswith("media-"):  # the app chat's photos (tests/wecom_sim.py)
            found = tiny_png(media_id), "image/png"
        if found is None:
            return _error(40007, "invalid media_id")
        return Response(found[0], media_type=found[1])

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.tokens.clear()
            self.windows.clear()
            self.welcome_codes.clear()
            self.offset = 0.0
