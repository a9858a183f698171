"""Admin accounts: argon2 passwords, login with lockout, failed logins per client (the throttle's record, shared by
every app process), the first `admin`, and who may see what."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from handlers.console.audit import record
from models import AdminRole, AdminUser, Area, Grid, LoginFailure

FIRST_ADMIN = "admin"
DEMO_ADMIN_PASSWORD = "gridbot-demo"  # what `gridbot demo` sets; shown on the demo's login page
# Failures from any client within LOCKOUT of each other; one client is throttled after
# bot/admin/common/throttle.LIMIT, so locking an account out takes several clients.
MAX_FAILURES = 20
LOCKOUT = timedelta(minutes=15)

_hasher = PasswordHasher()
# Verified against when the user is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("gridbot-no-such-user")


class LoginError(Exception):
    """Login refused; `reason` is "invalid" or "disabled" (the page words it).

    A locked account answers "invalid" too, after the same password check: neither the answer nor
    its timing tells which names exist or are locked (the audit log and `gridbot admin unlock` do)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _password_right(session: Session, username: str, password: str, first_admin_password: str) -> bool:
    """One argon2 check whoever asks (unknown, disabled, locked or not), made with no transaction open:
    the read ends first, so SQLite's write lock is never held while the hash is computed.

    The first admin's password is the setting itself (it wins over the stored hash)."""
    stored = session.scalar(select(AdminUser.password_hash)
                            .where(AdminUser.username == username, AdminUser.active.is_(True)))
    session.rollback()
    if username == FIRST_ADMIN:
        verify_password(_DUMMY_HASH, password)
        return same_secret(password, first_admin_password)
    return verify_password(stored or _DUMMY_HASH, password) and stored is not None


def login(session: Session, username: str, password: str, *, first_admin_password: str | None,
          now: datetime) -> AdminUser:
    """The user whose password this is, or LoginError; failures count towards a lockout.

    Ends the session's transaction before checking the password (nothing must be pending in it).
    """
    if first_admin_password is None:
        raise LoginError("disabled")
    right = _password_right(session, username, password, first_admin_password)
    if username == FIRST_ADMIN and right:
        sync_first_admin(session, first_admin_password)
    user = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
    if user is None or not user.active:
        record(session, actor=username[:64] or "?", action="login_failed", target=None, now=now)
        raise LoginError("invalid")
    if user.locked_until is not None and user.locked_until > now:
        record(session, actor=user.username, action="login_locked", target=None, now=now)
        raise LoginError("invalid")
    if not right:
        if user.last_failed_at is None or user.last_failed_at < now - LOCKOUT:
            user.failed_logins = 0  # old failures are forgotten
        user.failed_logins += 1
        user.last_failed_at = now
        detail = {"failures": user.failed_logins}
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
            detail["locked_until"] = user.locked_until.isoformat()
        record(session, actor=user.username, action="login_failed", target=None, now=now, **detail)
        raise LoginError("invalid")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until, user.last_failed_at, user.last_login_at = 0, None, None, now
    record(session, actor=user.username, action="login", target=None, now=now)
    return user


def client_wait(session: Session, client: str, now: datetime, limit: int, window: timedelta) -> timedelta:
    """How long `client` must wait before its next login: nothing until it failed `limit` times within `window`
    (in any app process), then until the oldest of those failures is `window` old."""
    recent = session.scalars(select(LoginFailure.at)
                             .where(LoginFailure.client == client[:64], LoginFailure.at > now - window)
                             .order_by(LoginFailure.at.desc()).limit(limit)).all()
    return recent[-1] + window - now if len(recent) >= limit else timedelta(0)


def client_failed(session: Session, client: str, now: datetime, window: timedelta) -> None:
    """Record a failed login from `client`; failures older than `window` (anyone's) are forgotten."""
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - window)
                    .execution_options(synchronize_session=False))
    session.add(LoginFailure(client=client[:64], at=now))


def client_succeeded(session: Session, client: str) -> None:
    """A login from `client` succeeded: its failures are forgotten."""
    session.execute(delete(LoginFailure).where(LoginFailure.client == client[:64])
                    .execution_options(synchronize_session=False))


def unlock(session: Session, username: str, *, actor: str, now: datetime) -> bool:
    """Lift `username`'s lockout and forget its failures; False when there is no such account."""
    user = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
    if user is None:
        return False
    user.locked_until, user.failed_logins, user.last_failed_at = None, 0, None
    record(session, actor=actor, action="user_unlock", target=username, now=now)
    return True


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
