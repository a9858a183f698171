"""WeCom API errors as values: every failure is a `WeComError` of one `ErrorKind` that says what to do.

The kinds follow WeCom's global error codes (开发者中心 › 全局错误码): a token problem is fixed by
fetching a new token, a rate limit by waiting at least a minute, a configuration problem only by
an operator, and a rejected message will never be accepted however often it is sent.
"""

from __future__ import annotations

import enum


class ErrorKind(enum.StrEnum):
    TOKEN = "token"  # access_token invalid or expired: refresh and retry at once
    RATE_LIMIT = "rate_limit"  # API frequency/concurrency limits: back off >= 60 s
    TRANSIENT = "transient"  # system busy, HTTP 5xx, timeouts after sending, broken answers: back off
    UNREACHABLE = "unreachable"  # no connection (refused, DNS, connect timeout): nothing was sent, wait it out
    CONFIG = "config"  # corp id, secret, agent id, trusted IP...: an operator must act
    REJECTED = "rejected"  # this message or recipient is invalid: retrying cannot help


TOKEN_CODES = frozenset({40001, 40014, 41001, 42001})
RATE_LIMIT_CODES = frozenset({45009, 45011, 45033})
CONFIG_CODES = frozenset({
    40013,  # invalid corp id
    40056,  # invalid agent id
    40091,  # invalid secret
    41002, 41004,  # corp id / secret missing
    48002,  # API not permitted for this app
    50003,  # app disabled
    60020,  # server IP not in the app's trusted IPs
    301002,  # no permission on this app
    2000002,  # invalid corp id
})
REJECTED_CODES = frozenset({
    40003, 46004, 60111,  # unknown userid
    40008, 40035, 40058, 44004, 45002,  # bad message (type, parameters, empty, too long)
    43004, 60011, 81013, 82001,  # recipient out of the app's visible range
    86001, 86003, 86006, 86215, 86216, 86217, 86220,  # bad, unknown or existing chat
    93000, 93004,  # invalid or disabled group robot webhook
})
CHAT_EXISTS = 86215  # appchat/create with a chatid already taken

# At gettoken these mean a wrong corp id or secret, not a stale token.
GETTOKEN_CONFIG_CODES = frozenset({40001, 40013, 40091, 41002, 41004})


class WeComError(Exception):
    """A WeCom call that did not succeed; `errcode` is None for HTTP-level failures."""

    def __init__(self, kind: ErrorKind, errcode: int | None, detail: str, path: str = "") -> None:
        self.kind = kind
        self.errcode = errcode
        self.detail = detail
        self.path = path
        super().__init__(self.describe())

    def describe(self) -> str:
        code = f"errcode {self.errcode}" if self.errcode is not None else "HTTP"
        return f"{self.kind}: {code} {self.detail} ({self.path})".strip()


def classify_errcode(errcode: int, *, gettoken: bool = False) -> ErrorKind:
    """The kind of a nonzero WeCom `errcode`; unknown codes are treated as transient (retried, then dead)."""
    if gettoken and errcode in GETTOKEN_CONFIG_CODES:
        return ErrorKind.CONFIG
    for kind, codes in ((ErrorKind.TOKEN, TOKEN_CODES), (ErrorKind.RATE_LIMIT, RATE_LIMIT_CODES),
                        (ErrorKind.CONFIG, CONFIG_CODES), (ErrorKind.REJECTED, REJECTED_CODES)):
        if errcode in codes:
            return kind
    return ErrorKind.TRANSIENT


def error_from_body(body: dict, path: str, *, gettoken: bool = False) -> WeComError | None:
    """The error a WeCom JSON answer carries, or None when errcode is 0."""
    errcode = body.get("errcode", 0)
    if not isinstance(errcode, int):
        return WeComError(ErrorKind.TRANSIENT, None, f"unreadable errcode {errcode!r}", path)
    if errcode == 0:
        return None
    detail = str(body.get("errmsg", ""))[:200]
    return WeComError(classify_errcode(errcode, gettoken=gettoken), errcode, detail, path)
