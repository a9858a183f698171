"""Admin accounts: argon2 passwords, login with lockout, the first `admin`, and who may see what."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.console.audit import record
from models import AdminRole, AdminUser, Area, Grid

FIRST_ADMIN = "admin"
DEMO_ADMIN_PASSWORD = "gridbot-demo"  # what `gridbot demo` sets; shown on the demo's login page
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)

_hasher = PasswordHasher()
# Verified against when the user is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("gridbot-no-such-user")


class LoginError(Exception):
    """Login refused; `reason` is "invalid", "locked" or "disabled" (the page words it)."""

    def __init__(self, reason: str, until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until


class AccountError(ValueError):
    """A user-management request that cannot be honoured (duplicate name, bad role …)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def configured_password(admin_password: str | None, demo: bool) -> str | None:
    """The first admin's password: the setting, the demo default, or None (console disabled)."""
    return admin_password or (DEMO_ADMIN_PASSWORD if demo else None)


def sync_first_admin(session: Session, password: str) -> AdminUser:
    """Create `admin` from the setting, or re-hash it when the setting changed (the setting wins)."""
    user = session.scalars(select(AdminUser).where(AdminUser.username == FIRST_ADMIN)).first()
    if user is None:
        user = AdminUser(username=FIRST_ADMIN, password_hash=hash_password(password), role=AdminRole.ADMIN)
        session.add(user)
        session.flush()
    elif not verify_password(user.password_hash, password):
        user.password_hash = hash_password(password)
        user.session_epoch += 1
    return user


def login(session: Session, username: str, password: str, *, first_admin_password: str | None,
          now: datetime) -> AdminUser:
    """The user whose password this is, or LoginError; failures count towards a lockout."""
    if first_admin_password is None:
        raise LoginError("disabled")
    if username == FIRST_ADMIN:
        sync_first_admin(session, first_admin_password)
    user = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        record(session, actor=username[:64] or "?", action="login_failed", target=None, now=now)
        raise LoginError("invalid")
    if user.locked_until is not None and user.locked_until > now:
        record(session, actor=user.username, action="login_locked", target=None, now=now)
        raise LoginError("locked", user.locked_until)
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        detail = {"failures": user.failed_logins}
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
            detail["locked_until"] = user.locked_until.isoformat()
        record(session, actor=user.username, action="login_failed", target=None, now=now, **detail)
        raise LoginError("locked" if "locked_until" in detail else "invalid", user.locked_until)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    record(session, actor=user.username, action="login", target=None, now=now)
    return user


def logout(session: Session, user: AdminUser, *, now: datetime) -> None:
    """End every session of `user` (their cookies carry the old epoch)."""
    user.session_epoch += 1
    record(session, actor=user.username, action="logout", target=None, now=now)


def create_user(session: Session, *, actor: str, username: str, password: str, role: str,
                area_id: int | None, now: datetime) -> AdminUser:
    """A new console account (admins only, checked by the caller)."""
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError("username")
    if role not in set(AdminRole):
        raise AccountError("role")
    if len(password) < 8:
        raise AccountError("password")
    if session.scalars(select(AdminUser.id).where(AdminUser.username == username)).first() is not None:
        raise AccountError("duplicate")
    user = AdminUser(username=username, password_hash=hash_password(password), role=role, area_id=area_id)
    session.add(user)
    session.flush()
    record(session, actor=actor, action="user_create", target=username, now=now, role=role, area_id=area_id)
    return user


def set_active(session: Session, *, actor: str, user: AdminUser, active: bool, now: datetime) -> None:
    if user.username == FIRST_ADMIN:
        raise AccountError("first_admin")
    user.active = active
    user.session_epoch += 1
    record(session, actor=actor, action="user_enable" if active else "user_disable", target=user.username, now=now)


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True)
class Scope:
    """What part of the district a user sees: every grid (grid_ids None) or these grids."""

    grid_ids: frozenset[int] | None

    def allows(self, grid_id: int | None) -> bool:
        return self.grid_ids is None or grid_id in self.grid_ids


def grids_under(session: Session, area_id: int) -> frozenset[int]:
    """The grids in an area and all areas below it (street → its communities → their grids)."""
    areas = {area_id}
    frontier = {area_id}
    while frontier:
        frontier = set(session.scalars(select(Area.id).where(Area.parent_id.in_(frontier)))) - areas
        areas |= frontier
    return frozenset(session.scalars(select(Grid.id).where(Grid.area_id.in_(areas))))


def scope_of(session: Session, user: AdminUser) -> Scope:
    """What `user` may see: everything, or the grids under their area."""
    return Scope(None if user.area_id is None else grids_under(session, user.area_id))


def may(role: str, capability: str) -> bool:
    """Role check: "view" for all; "work" (case actions, broadcasts) for staff; "manage" for admins."""
    if capability == "view":
        return True
    if capability == "work":
        return role in (AdminRole.ADMIN, AdminRole.STAFF)
    return role == AdminRole.ADMIN
