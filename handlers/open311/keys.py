"""Open311 API keys: created (the key is shown once), listed, revoked, and checked per request.

Only a SHA-256 hash of a key is stored: keys are 32 random bytes, so a slow password hash
would add nothing but latency to every request. Every change is written to the audit log.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.console.audit import record
from handlers.open311.errors import Open311Error
from models import ApiKey, AuditLog, InboundMessage

KEY_PREFIX = "gb311_"
DEFAULT_RATE = 60  # requests filed per key and minute
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class ApiKeyError(ValueError):
    """A key name that is malformed, taken, or unknown (the message says which)."""


@dataclass(frozen=True)
class KeyInfo:
    """A key as lists show it: never the key itself."""

    name: str
    prefix: str
    rate_per_minute: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    uses: int  # requests filed with it (the audit log's entries)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


SOURCE_PREFIX = "open311:"


def reporter_of(name: str) -> str:
    """The source, reporter and message sender of requests filed with key `name`."""
    return f"{SOURCE_PREFIX}{name}"


def create_key(session: Session, name: str, *, actor: str, now: datetime, rate_per_minute: int = DEFAULT_RATE) -> str:
    """A new key for partner `name`; the caller shows it once, only its hash is kept."""
    if not _NAME.match(name):
        raise ApiKeyError(f"bad key name {name!r}: ASCII letters, digits, '.', '_' or '-', at most 40")
    if rate_per_minute < 1:
        raise ApiKeyError("the rate must be at least 1 request a minute")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ApiKeyError(f"a key named {name!r} exists already")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_hash=hash_key(key), prefix=key[:12], rate_per_minute=rate_per_minute,
                       created_at=now))
    record(session, actor=actor, action="apikey_add", target=name, now=now, rate_per_minute=rate_per_minute)
    return key


def revoke_key(session: Session, name: str, *, actor: str, now: datetime) -> None:
    """Revoke key `name`: requests carrying it are refused from now on."""
    key = session.scalars(select(ApiKey).where(ApiKey.name == name)).first()
    if key is None:
        raise ApiKeyError(f"no key named {name!r}")
    if key.revoked_at is None:
        key.revoked_at = now
        record(session, actor=actor, action="apikey_revoke", target=name, now=now)


FILED = "open311_request"  # the audit action of a request filed with a key


def auditor(name: str) -> str:
    """The audit log's actor of requests filed with key `name`."""
    return f"apikey:{name}"


def list_keys(session: Session) -> list[KeyInfo]:
    """Every key, active and revoked, by name, with how often it filed a request."""
    uses = {actor: count for actor, count in session.execute(
        select(AuditLog.actor, func.count()).where(AuditLog.action == FILED).group_by(AuditLog.actor))}
    return [KeyInfo(k.name, k.prefix, k.rate_per_minute, k.created_at, k.last_used_at, k.revoked_at,
                    uses.get(auditor(k.name), 0))
            for k in session.scalars(select(ApiKey).order_by(ApiKey.name))]


def authenticate(session: Session, key: str | None, now: datetime) -> ApiKey:
    """The active key `key`, within its rate; else Open311Error (403, or 429 over the rate)."""
    found = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first() if key else None
    if found is None or found.revoked_at is not None:
        raise Open311Error(403, "api_key is missing, unknown or revoked")
    recent = session.scalar(select(func.count()).select_from(InboundMessage).where(
        InboundMessage.from_userid == reporter_of(found.name), InboundMessage.received_at > now - timedelta(minutes=1)))
    if recent >= found.rate_per_minute:
        raise Open311Error(429, f"more than {found.rate_per_minute} requests a minute with this api_key; "
                                "try again in a minute")
    return found
