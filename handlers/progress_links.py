"""Progress-page links: every reply that names a case can carry one, no login needed.

A link is `<public url>/p/<token>.<signature>`: the token is random (unguessable) and stored per
case, so it can be revoked; the HMAC signature lets a tampered link be refused before any lookup.
The signer (public URL + secret) rides on the session (`session.info`), set by the app for its
session factory: domain code and templates ask `link_for(session, case)` and get None where no
signer is configured (e.g. a plain CLI session).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session, object_session

from models import Case, utcnow
from models.channels import ProgressLink
from models.db import TransactionMemo
from models.statements import fetch_all, insert_row

SESSION_KEY = "gridbot_progress_links"
TOKEN_BYTES = 16
SIGNATURE_CHARS = 16


@dataclass(frozen=True)
class LinkSigner:
    """Makes and checks progress links under one public URL and secret."""

    base_url: str
    secret: bytes

    @cached_property
    def _keyed(self) -> hmac.HMAC:
        """The HMAC keyed with the secret, once: a signature hashes a copy of it (keying costs more than the
        token's hash: 3.2 µs a signature keyed anew, 0.8 µs copied)."""
        return hmac.new(self.secret, digestmod=hashlib.sha256)

    def _signature(self, token: str) -> str:
        mac = self._keyed.copy()
        mac.update(token.encode())
        return base64.urlsafe_b64encode(mac.digest()).decode()[:SIGNATURE_CHARS]

    def url(self, token: str) -> str:
        """The public link of `token`."""
        return f"{self.base_url.rstrip('/')}/p/{token}.{self._signature(token)}"

    def token_of(self, signed: str) -> str | None:
        """The token of a link's last path segment when its signature holds, else None."""
        token, _, signature = signed.rpartition(".")
        if not token or not hmac.compare_digest(signature, self._signature(token)):
            return None
        return token


def signer_of(session: Session) -> LinkSigner | None:
    """The signer configured for this session's factory, if any."""
    return session.info.get(SESSION_KEY)


_LIVE_TOKEN = (select(ProgressLink.token)  # built once: every reply naming a case asks it
               .where(ProgressLink.case_id == bindparam("case_id"), ProgressLink.revoked_at.is_(None),
                      ProgressLink.userid.is_not_distinct_from(bindparam("holder")))
               .order_by(ProgressLink.created_at.desc()).limit(1))
# (Case id, holder) → its live token as this transaction knows it (None: a case inserted in it, no token yet);
# forgotten when a link is revoked (an UPDATE of progress_links) or a savepoint rolls back.
_TOKENS = TransactionMemo("gridbot_progress_tokens", frozenset({ProgressLink.__tablename__}), inserts=False)


def token_for(session: Session, case_id: int, now: datetime | None = None, holder: str | None = None) -> str:
    """The case's live token for `holder` (a resident following the case; None: its reporter), made on first
    use. Known tokens are kept for the transaction, and a case opened in it has none yet: the reply and
    notices of a new case cost one INSERT, no lookup."""
    known = _TOKENS.get(session)
    if (case_id, holder) in known:
        token = known[case_id, holder]
    else:  # links are written by statements, never left pending in the session: no autoflush needed
        token = next((token for token, in fetch_all(session, _LIVE_TOKEN, {"case_id": case_id, "holder": holder})),
                     None)
    if token is None:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        insert_row(session, ProgressLink.__table__, {"token": token, "case_id": case_id, "userid": holder,
                                                     "created_at": now or utcnow(), "revoked_at": None})
    known[case_id, holder] = token
    return token


def link_for(session: Session, case_id: int, holder: str | None = None) -> str | None:
    """The progress link of a case (given to `holder`, see `token_for`), or None when this session has no signer."""
    signer = signer_of(session)
    return signer.url(token_for(session, case_id, holder=holder)) if signer is not None else None


def link_given_to(session: Session, case_id: int, userid: str) -> str | None:
    """The progress link for resident `userid`: the case's own when they reported it, else one held by them
    (they follow it)."""
    reporter = session.scalar(select(Case.reporter_userid).where(Case.id == case_id))
    return link_for(session, case_id, None if userid == reporter else userid)


def case_link(case: Case, holder: str | None = None) -> str:
    """A template's view of `link_for`: the case's link, or "" (no signer, or a case not yet stored)."""
    session = object_session(case)
    if session is None or case.id is None:
        return ""
    return link_for(session, case.id, holder) or ""


def case_for_link(session: Session, signed: str) -> Case | None:
    """The case a link shows; None when it is tampered with, unknown or revoked."""
    held = case_and_holder(session, signed)
    return held[0] if held is not None else None


def case_and_holder(session: Session, signed: str) -> tuple[Case, str] | None:
    """The case a link shows and the resident it was given to (its reporter, or one following it); None when
    it is tampered with, unknown or revoked."""
    signer = signer_of(session)
    token = signer.token_of(signed) if signer is not None else None
    if token is None:
        return None
    link = session.get(ProgressLink, token)
    if link is None or link.revoked_at is not None:
        return None
    case = session.get(Case, link.case_id)
    return (case, link.userid or case.reporter_userid) if case is not None else None


def revoke(session: Session, case_id: int, now: datetime) -> int:
    """Revoke every live link of a case (the next reply naming it carries a new one); how many."""
    return session.execute(update(ProgressLink)
                           .where(ProgressLink.case_id == case_id, ProgressLink.revoked_at.is_(None))
                           .values(revoked_at=now).execution_options(synchronize_session=False)).rowcount


@event.listens_for(Case, "after_insert")
def _new_case(_mapper, connection, case: Case) -> None:
    """A case just inserted has no link yet: its first `token_for` needs no lookup."""
    _TOKENS.get(connection)[case.id, None] = None
