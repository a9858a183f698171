"""The app's progress-link signer, from its settings, attached to its session factories."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from handlers.progress_links import SESSION_KEY, LinkSigner

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def signer_from_settings(settings: Settings) -> LinkSigner:
    """Links under GRIDBOT_PUBLIC_URL, signed with GRIDBOT_LINK_SECRET (else a key derived from the
    WeCom secret and AES key, so a deployment needs no extra secret)."""
    if settings.link_secret:
        secret = settings.link_secret.encode()
    else:
        secret = hmac.new(settings.wecom_secret.encode(), b"gridbot progress links " + settings.wecom_aes_key.encode(),
                          hashlib.sha256).digest()
    return LinkSigner(settings.public_url or DEFAULT_PUBLIC_URL, secret)


def attach_links(factory: sessionmaker[Session], settings: Settings) -> sessionmaker[Session]:
    """Every session of `factory` can make and check progress links."""
    factory.configure(info={SESSION_KEY: signer_from_settings(settings)})
    return factory
