"""`WeComClient`: the WeCom server API calls gridbot makes (token, app messages, group chats, robots).

Synchronous httpx with one connection pool; thread-safe. The access_token is cached until shortly
before it expires and refreshed once, at once, when WeCom says it is stale. Tokens and secrets
never reach a log line: httpx's request log is filtered here.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx

from bot.logging_setup import Redactor
from bot.wecom.errors import ErrorKind, WeComError, error_from_body
from config.settings import Settings
from models.outbox import OutboxChannel

log = logging.getLogger("gridbot.wecom")

TEXT_LIMIT_BYTES = 2048  # WeCom refuses longer text messages (45002)
# message/send's own duplicate check: if a sender dies after WeCom accepted a message but before
# the row was marked sent, the row's resend (after its lease, < 10 min) is not delivered twice.
DUPLICATE_CHECK_SECONDS = 600
_TOKEN_MARGIN = 300.0  # refresh this many seconds before WeCom's expiry


class _RedactSecrets(logging.Filter):
    """Strip access tokens, secrets and robot keys from httpx's request log (it logs full URLs at INFO),
    also where the process's log setup (bot/logging_setup.py) is not installed, e.g. in tests."""

    _redact = Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        self._redact.record(record)
        return True


logging.getLogger("httpx").addFilter(_RedactSecrets())


def webhook_key(recipient: str) -> str:
    """The robot key of a group robot webhook, given as its full URL or as the bare key."""
    if "://" not in recipient:
        return recipient
    keys = parse_qs(urlsplit(recipient).query).get("key")
    return keys[0] if keys else ""


def fit_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> str:
    """`text` cut to WeCom's byte limit on a character boundary, marked with an ellipsis when cut."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode(errors="ignore") + "…"


class WeComClient:
    """Calls to one WeCom app (corp id + secret + agent id) at `api_base`."""

    @classmethod
    def from_settings(cls, settings: Settings, **options) -> WeComClient:
        """The client of the app the settings name."""
        return cls(settings.wecom_api_base, settings.wecom_corp_id, settings.wecom_secret,
                   settings.wecom_agent_id, **options)

    def __init__(self, api_base: str, corp_id: str, secret: str, agent_id: int, *, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.timeout = timeout
        self._secret = secret
        self._http = httpx.Client(base_url=api_base.rstrip("/"), timeout=timeout, transport=transport,
                                  headers={"User-Agent": "gridbot"})
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self.token_fetches = 0

    def close(self) -> None:
        self._http.close()

    # -- the access token -------------------------------------------------------------------------

    def token(self, *, refresh: bool = False, stale: str | None = None) -> str:
        """A valid access_token; `refresh` fetches a new one unless another thread already replaced `stale`."""
        with self._token_lock:
            fresh = self._token is not None and time.monotonic() < self._token_expires
            if fresh and not (refresh and self._token == stale):
                return self._token
            body = self._request("GET", "/cgi-bin/gettoken", params={"corpid": self.corp_id,
                                                                      "corpsecret": self._secret}, gettoken=True)
            token = body.get("access_token")
            if not isinstance(token, str) or not token:
                raise WeComError(ErrorKind.TRANSIENT, None, "gettoken answered without a token", "/cgi-bin/gettoken")
            self._token = token
            self._token_expires = time.monotonic() + max(60.0, float(body.get("expires_in", 7200)) - _TOKEN_MARGIN)
            self.token_fetches += 1
            return token

    def _call(self, path: str, payload: dict) -> dict:
        """POST `payload` to a token-authenticated API; a stale token is refreshed and the call retried once."""
        token = self.token()
        try:
            return self._request("POST", path, params={"access_token": token}, json=payload)
        except WeComError as error:
            if error.kind is not ErrorKind.TOKEN:
                raise
            log.info("WeCom token rejected (errcode %s); fetching a new one", error.errcode)
        token = self.token(refresh=True, stale=token)
        return self._request("POST", path, params={"access_token": token}, json=payload)

    def _request(self, method: str, path: str, *, params: dict, json: dict | None = None,
                 gettoken: bool = False) -> dict:
        body = self._json(self._raw(method, path, params=params, json=json), path)
        error = error_from_body(body, path, gettoken=gettoken)
        if error is not None:
            raise error
        return body

    # -- what gridbot sends -----------------------------------------------------------------------

    def send_text(self, userid: str, text: str) -> dict:
        """An app text message to one member (message/send)."""
        body = self._call("/cgi-bin/message/send", {
            "touser": userid, "msgtype": "text", "agentid": self.agent_id,
            "text": {"content": fit_text(text)}, "safe": 0,
            "enable_duplicate_check": 1, "duplicate_check_interval": DUPLICATE_CHECK_SECONDS,
        })
        if userid in str(body.get("invaliduser", "")).split("|"):
            raise WeComError(ErrorKind.REJECTED, None, f"invalid user {userid}", "/cgi-bin/message/send")
        return body

    def send_appchat_text(self, chatid: str, text: str) -> dict:
        """A text into a group chat the app created (appchat/send)."""
        return self._call("/cgi-bin/appchat/send", {
            "chatid": chatid, "msgtype": "text", "text": {"content": fit_text(text)}, "safe": 0,
        })

    def create_appchat(self, name: str, owner: str, userlist: list[str], chatid: str | None = None) -> str:
        """Create a group chat (appchat/create) of at least two members; its chatid."""
        payload: dict = {"name": name, "owner": owner, "userlist": list(userlist)}
        if chatid:
            payload["chatid"] = chatid
        return str(self._call("/cgi-bin/appchat/create", payload)["chatid"])

    def send_webhook_text(self, webhook: str, text: str) -> dict:
        """A text through a group robot (webhook/send); `webhook` is the robot's URL or key."""
        path = "/cgi-bin/webhook/send"
        key = webhook_key(webhook)
        if not key:
            raise WeComError(ErrorKind.REJECTED, None, "webhook has no key", path)
        return self._request("POST", path, params={"key": key},
                             json={"msgtype": "text", "text": {"content": fit_text(text)}})

    # -- 微信客服 (kf) ------------------------------------------------------------------------------

    def kf_sync_msg(self, open_kfid: str, cursor: str | None, token: str | None, limit: int = 1000) -> dict:
        """One page of an account's messages (kf/sync_msg); wechatpy's `kf.sync_msg` lacks open_kfid."""
        payload: dict = {"open_kfid": open_kfid, "limit": min(limit, 1000)}
        if cursor:
            payload["cursor"] = cursor
        if token:
            payload["token"] = token
        return self._call("/cgi-bin/kf/sync_msg", payload)

    def kf_send_text(self, open_kfid: str, external_userid: str, text: str) -> dict:
        """A text to a kf resident (kf/send_msg): text only, within WeCom's 48 h / 5 message window."""
        return self._call("/cgi-bin/kf/send_msg", {
            "touser": external_userid, "open_kfid": open_kfid, "msgtype": "text",
            "text": {"content": fit_text(text)},
        })

    def kf_send_on_event(self, code: str, text: str) -> dict:
        """The welcome text answering an enter_session event's single-use welcome_code."""
        return self._call("/cgi-bin/kf/send_msg_on_event", {
            "code": code, "msgtype": "text", "text": {"content": fit_text(text)},
        })

    def kf_contact_url(self, open_kfid: str, scene: str) -> str:
        """An account's contact link (kf/add_contact_way); the corp appends `&scene_param=...`."""
        return str(self._call("/cgi-bin/kf/add_contact_way", {"open_kfid": open_kfid, "scene": scene})["url"])

    def kf_accounts(self) -> list[dict]:
        """Every kf account the app may serve (kf/account/list)."""
        accounts: list[dict] = []
        while True:
            page = self._call("/cgi-bin/kf/account/list", {"offset": len(accounts), "limit": 100})
            batch = page.get("account_list") or []
            accounts += batch
            if len(batch) < 100:
                return accounts

    def get_media(self, media_id: str) -> tuple[bytes, str]:
        """A temporary media file (media/get): its bytes and content type. An error comes as JSON."""
        path = "/cgi-bin/media/get"
        token = self.token()
        for retried in (False, True):
            response = self._raw("GET", path, params={"access_token": token, "media_id": media_id})
            content_type = response.headers.get("content-type", "application/octet-stream")
            if not content_type.startswith(("application/json", "text/plain")):
                return response.content, content_type
            error = error_from_body(self._json(response, path), path) or WeComError(
                ErrorKind.TRANSIENT, None, "media/get answered JSON without the file", path)
            if error.kind is not ErrorKind.TOKEN or retried:
                raise error
            token = self.token(refresh=True, stale=token)
        raise AssertionError("unreachable")

    def _raw(self, method: str, path: str, *, params: dict, json: dict | None = None) -> httpx.Response:
        """The HTTP answer of one call; transport failures and non-200 statuses as `WeComError`s."""
        try:
            response = self._http.request(method, path, params=params, json=json)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # the request never left: safe to send again
            raise WeComError(ErrorKind.UNREACHABLE, None, f"connection failed: {type(exc).__name__}", path) from None
        except httpx.TimeoutException:
            raise WeComError(ErrorKind.TRANSIENT, None, f"timeout after {self.timeout:g} s", path) from None
        except httpx.TransportError as exc:
            raise WeComError(ErrorKind.TRANSIENT, None, f"connection failed: {type(exc).__name__}", path) from None
        if response.status_code != 200:
            kind = ErrorKind.RATE_LIMIT if response.status_code == 429 else ErrorKind.TRANSIENT
            raise WeComError(kind, None, f"status {response.status_code}", path)
        return response

    @staticmethod
    def _json(response: httpx.Response, path: str) -> dict:
        try:
            body = response.json()
        except ValueError:
            raise WeComError(ErrorKind.TRANSIENT, None, "answer is not JSON", path) from None
        if not isinstance(body, dict):
            raise WeComError(ErrorKind.TRANSIENT, None, "answer is not a JSON object", path)
        return body

    def send(self, channel: str, recipient: str, text: str) -> dict:
        """Send one outbox notice over its channel."""
        if channel == OutboxChannel.USER:
            return self.send_text(recipient, text)
        if channel == OutboxChannel.APPCHAT:
            return self.send_appchat_text(recipient, text)
        if channel == OutboxChannel.WEBHOOK:
            return self.send_webhook_text(recipient, text)
        raise WeComError(ErrorKind.REJECTED, None, f"unknown channel {channel!r}", "")
