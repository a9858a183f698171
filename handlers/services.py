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
from handlers.registry.cache import registry_version
from models import utcnow


class AddressIndexCache:
    """The unit address index: built on first use (and on the first use after `invalidate`), then rebuilt
    when the registry changed (its version, handlers/registry/cache.py: any process, any way) — or, on a
    database without a version, every `ttl` seconds — in a background thread, while requests keep
    matching against the index they have (a build is ~1 s of CPU at 10,000 units)."""

    def __init__(self, ttl: float = 60.0) -> None:
        self._ttl = ttl
        self._index: AddressIndex | None = None
        self._version: int | None = None
        self._built = 0.0
        self._refreshing = False
        self._lock = threading.Lock()

    def get(self, session: Session) -> AddressIndex:
        version = registry_version(session)
        with self._lock:
            if self._index is None:
                self._index, self._version, self._built = AddressIndex.from_session(session), version, time.monotonic()
            elif self._stale(version) and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, args=(session.get_bind(), self._index),
                                 name="gridbot-address-index", daemon=True).start()
            return self._index

    def _stale(self, version: int | None) -> bool:
        if version is not None:
            return version != self._version
        return time.monotonic() - self._built > self._ttl

    def _refresh(self, bind: Engine, stale: AddressIndex) -> None:
        try:
            # Read in a short transaction and build outside it: on SQLite every transaction holds
            # the write lock, and a build at 10,000 units takes ~1 s of CPU. The version is read first:
            # the units are at least that new.
            with Session(bind) as session:
                version = registry_version(session)
                places = unit_places(session)
            index = AddressIndex(places)
            with self._lock:
                if self._index is stale:  # not invalidated (and rebuilt) meanwhile
                    self._index, self._version, self._built = index, version, time.monotonic()
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
