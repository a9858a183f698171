"""`load_classifier`: one compiled classifier per config dir, rebuilt when its files change."""

from __future__ import annotations

import threading
from pathlib import Path

from handlers.classify._engine import Classifier
from handlers.classify._rules import config_files

_cache: dict[Path, tuple[tuple, Classifier]] = {}
_lock = threading.Lock()


def _signature(config_dir: Path) -> tuple:
    stamps = []
    for path in config_files(config_dir):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        stamps.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def load_classifier(config_dir: Path) -> Classifier:
    """The classifier for `config_dir` (cached; reloaded when a catalogue or rule file changes)."""
    key = Path(config_dir).resolve()
    signature = _signature(key)
    cached = _cache.get(key)
    if cached is not None and cached[0] == signature:
        return cached[1]
    with _lock:
        cached = _cache.get(key)
        if cached is None or cached[0] != signature:
            cached = (signature, Classifier.from_dir(key))
            _cache[key] = cached
        return cached[1]
