"""`Services`: what handlers need besides a session, as plain callables (easy to swap in tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from handlers.classify import Classifier, load_classifier
from handlers.places.address_index import unit_places
from handlers.places.routing import AddressIndex
from models import utcnow


class AddressIndexCache:
    """The unit address index: built on first use (and on the first use after `invalidate`), then
    refreshed every `ttl` seconds — other processes may import units — in a background thread, while
    requests keep matching against the index they have (a build is ~1 s of CPU at 10,000 units)."""

    def __init__(self, ttl: float = 60.0) -> None:
        self._ttl = ttl
        self._index: AddressIndex | None = None
        self._built = 0.0
        self._refreshing = False
        self._lock = threading.Lock()

    def get(self, session: Session) -> AddressIndex:
        with self._lock:
            if self._index is None:
                self._index, self._built = AddressIndex.from_session(session), time.monotonic()
            elif time.monotonic() - self._built > self._ttl and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, args=(session.get_bind(), self._index),
                                 name="gridbot-address-index", daemon=True).start()
            return self._index

    def _refresh(self, bind: Engine, stale: AddressIndex) -> None:
        try:
            # Read in a short transaction and build outside it: on SQLite every transaction holds
            # the write lock, and a build at 10,000 units takes ~1 s of CPU.
            with Session(bind) as session:
                places = unit_places(session)
            index = AddressIndex(places)
            with self._lock:
                if self._index is stale:  # not invalidated (and rebuilt) meanwhile
                    self._index, self._built = index, time.monotonic()
        finally:
            with self._lock:
                self._refreshing = False

    def invalidate(self) -> None:
        with self._lock:
            self._index = None


@dataclass
class Services:
    config_dir: Path
    rate_limit: int = 10
    clock: Callable[[], datetime] = utcnow
    addresses: AddressIndexCache = field(default_factory=AddressIndexCache)
    classifier_source: Callable[[], Classifier] | None = None

    def classifier(self) -> Classifier:
        """The rule set in force (a published version, or the config dir's)."""
        if self.classifier_source is not None:
            return self.classifier_source()
        return load_classifier(self.config_dir)
