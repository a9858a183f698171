"""WeCom's side of the callback protocol, written independently of the app's crypto code.

Encrypts messages the way WeCom's servers do (AES-256-CBC, PKCS#7 to 32 bytes, random
16 bytes + length + message + receive id; SHA-1 signature over sorted token, timestamp,
nonce, ciphertext) and decrypts the app's passive replies.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import struct
import time
import xml.etree.ElementTree as ET

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_msg_ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000)


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


class WeComSide:
    def __init__(self, token: str, aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = base64.b64decode(aes_key + "=")
        self.receive_id = receive_id

    def encrypt(self, plaintext: str) -> str:
        return self.seal(plaintext.encode())

    def seal(self, body: bytes, *, receive_id: bytes | None = None, length: int | None = None,
             pad: bytes | None = None) -> str:
        """`body` framed and encrypted; `length`/`pad` override the length field and the padding
        (hostile tests; a `pad` must bring the frame to a multiple of 16 bytes)."""
        receive_id = self.receive_id.encode() if receive_id is None else receive_id
        raw = os.urandom(16) + struct.pack(">I", len(body) if length is None else length) + body + receive_id
        if pad is None:
            count = 32 - len(raw) % 32
            pad = bytes([count]) * count
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(enc.update(raw + pad) + enc.finalize()).decode()

    def decrypt(self, encrypted: str) -> tuple[str, str]:
        """(plaintext, receive id) of an encrypted value."""
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        raw = dec.update(base64.b64decode(encrypted)) + dec.finalize()
        raw = raw[: -raw[-1]]
        length = struct.unpack(">I", raw[16:20])[0]
        return raw[20 : 20 + length].decode(), raw[20 + length :].decode()

    def signed_params(self, encrypted: str, timestamp: str | None = None, nonce: str = "n0nce") -> dict:
        timestamp = timestamp or str(int(time.time()))
        return {"msg_signature": signature(self.token, timestamp, nonce, encrypted),
                "timestamp": timestamp, "nonce": nonce}


def text_xml(userid: str, content: str, msg_id: int | None = None, corp_id: str = "corp") -> str:
    msg_id = msg_id if msg_id is not None else next(_msg_ids)
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


def media_xml(userid: str, kind: str, msg_id: int | None = None) -> str:
    msg_id = msg_id if msg_id is not None else next(_msg_ids)
    return (f"<xml><ToUserName>corp</ToUserName><FromUserName>{userid}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{kind}</MsgType>"
            f"<PicUrl>http://example.invalid/p.jpg</PicUrl><MediaId>media-{msg_id}</MediaId>"
            f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


def location_xml(userid: str, lat: float, lng: float, label: str, msg_id: int | None = None) -> str:
    msg_id = msg_id if msg_id is not None else next(_msg_ids)
    return (f"<xml><ToUserName>corp</ToUserName><FromUserName>{userid}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>location</MsgType>"
            f"<Location_X>{lat}</Location_X><Location_Y>{lng}</Location_Y><Scale>15</Scale>"
            f"<Label><![CDATA[{label}]]></Label><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


def link_xml(userid: str, title: str, description: str, url: str, msg_id: int | None = None) -> str:
    """A shared link (an article, a notice) in the app chat: WeCom's MsgType link."""
    msg_id = msg_id if msg_id is not None else next(_msg_ids)
    return (f"<xml><ToUserName>corp</ToUserName><FromUserName>{userid}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>link</MsgType>"
            f"<Title><![CDATA[{title}]]></Title><Description><![CDATA[{description}]]></Description>"
            f"<Url><![CDATA[{url}]]></Url><PicUrl><![CDATA[http://example.invalid/cover.jpg]]></PicUrl>"
            f"<MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>")


class CallbackClient:
    """Sends encrypted callbacks to a running app and reads its encrypted replies."""

    def __init__(self, base_url: str, side: WeComSide, path: str = "/wecom/callback") -> None:
        self.base_url = base_url
        self.side = side
        self.path = path
        self.http = httpx.Client(base_url=base_url, timeout=10)

    def post_xml(self, plaintext: str, **overrides) -> httpx.Response:
        encrypted = self.side.encrypt(plaintext)
        params = {**self.side.signed_params(encrypted), **overrides}
        body = f"<xml><ToUserName><![CDATA[corp]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID>1000002</AgentID></xml>"
        return self.http.post(self.path, params=params, content=body.encode())

    def reply_text(self, response: httpx.Response) -> str | None:
        """The Content of the app's encrypted passive reply (None for an empty 200)."""
        assert response.status_code == 200, response.text
        if not response.content:
            return None
        envelope = {child.tag: child.text for child in ET.fromstring(response.content)}
        assert envelope["MsgSignature"] == signature(self.side.token, envelope["TimeStamp"], envelope["Nonce"],
                                                     envelope["Encrypt"])
        plaintext, receive_id = self.side.decrypt(envelope["Encrypt"])
        assert receive_id == self.side.receive_id
        return {child.tag: child.text for child in ET.fromstring(plaintext)}["Content"]

    def send_text(self, userid: str, content: str, msg_id: int | None = None) -> str | None:
        return self.reply_text(self.post_xml(text_xml(userid, content, msg_id)))

    def post_bot_json(self, payload: dict, **overrides) -> httpx.Response:
        encrypted = self.side.encrypt(json.dumps(payload, ensure_ascii=False))
        params = {**self.side.signed_params(encrypted), **overrides}
        return self.http.post(self.path, params=params, json={"encrypt": encrypted})


def kf_event_xml(token: str, open_kfid: str, corp_id: str = "corp") -> str:
    """The callback WeCom sends when a 微信客服 account has messages to pull (no FromUserName)."""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
            f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>")
