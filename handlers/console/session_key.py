"""The console's cookie-signing key: the setting, else a random key generated once and kept in the database.

Never derived from other secrets: a key built from public demo defaults would let anyone forge
a session cookie or test admin passwords offline against a login page's cookie.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import AppSecret, utcnow
from models.statements import insert_or_skip

SESSION_KEY = "console_session_key"


def stored_secret(factory: sessionmaker[Session], name: str = SESSION_KEY) -> str:
    """The secret called `name`, generated and stored by the first process that asks for it."""
    with factory() as session:
        value = session.scalar(select(AppSecret.value).where(AppSecret.name == name))
        if value is None:
            row = {"name": name, "value": secrets.token_urlsafe(48), "created_at": utcnow()}
            insert_or_skip(session, AppSecret.__table__, row, "name")
            session.commit()  # another process may have won the race: read whichever row stands
            value = session.scalar(select(AppSecret.value).where(AppSecret.name == name))
    return value
