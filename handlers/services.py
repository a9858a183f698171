"""`Services`: what handlers need besides a session, as plain callables (easy to swap in tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from handlers.classify import Classifier, load_classifier
from handlers.routing import AddressIndex
from models import utcnow


class AddressIndexCache:
    """The unit address index, rebuilt at most every `ttl` seconds or when invalidated."""

    def __init__(self, ttl: float = 60.0) -> None:
        self._ttl = ttl
        self._index: AddressIndex | None = None
        self._built = 0.0
        self._lock = threading.Lock()

    def get(self, session: Session) -> AddressIndex:
        with self._lock:
            if self._index is None or time.monotonic() - self._built > self._ttl:
                self._index = AddressIndex.from_session(session)
                self._built = time.monotonic()
            return self._index

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
