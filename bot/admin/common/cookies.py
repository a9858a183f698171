"""The console's signed session cookie (itsdangerous): who is logged in and their CSRF token.

The signing key is a secret of its own (`GRIDBOT_SESSION_SECRET`, else generated once and kept
in the database), so every app process accepts the same cookies; a cookie also carries the
account's session epoch, which logout bumps.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "gridbot_admin"
MAX_AGE = 12 * 3600


@dataclass(frozen=True)
class CookieSession:
    csrf: str
    user_id: int | None = None
    epoch: int = 0

    @classmethod
    def anonymous(cls) -> CookieSession:
        return cls(csrf=secrets.token_urlsafe(24))

    def logged_in(self, user_id: int, epoch: int) -> CookieSession:
        """A fresh token at login, so a token seen before login is worthless after it."""
        return CookieSession(csrf=secrets.token_urlsafe(24), user_id=user_id, epoch=epoch)


class CookieSigner:
    def __init__(self, key: str) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="gridbot-admin")

    def dumps(self, session: CookieSession) -> str:
        return self._serializer.dumps({"c": session.csrf, "u": session.user_id, "e": session.epoch})

    def loads(self, value: str | None) -> CookieSession | None:
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=MAX_AGE)
            return CookieSession(csrf=str(data["c"]), user_id=data["u"], epoch=int(data["e"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
