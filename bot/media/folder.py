"""The default media backend: files under one folder (GRIDBOT_MEDIA_DIR)."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from bot.media.blobs import Blob, StoreError

_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.[A-Za-z0-9]{1,10}$")


class FolderStore:
    """Blobs as files, `<folder>/<key>`, written atomically (a partial file never has the key's name)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):  # keys are gridbot's own: anything else is a bug, never a path to follow
            raise ValueError(f"not a media key: {key!r}")
        return self.folder / key

    def put(self, key: str, content: bytes, content_type: str) -> None:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(target.suffix + ".part")
            partial.write_bytes(content)
            partial.replace(target)
        except OSError as error:
            raise StoreError(f"media folder: {error}") from error

    def get(self, key: str) -> Blob | None:
        path = self._path(key)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreError(f"media folder: {error}") from error
        return Blob(content, mimetypes.guess_type(path.name)[0] or "application/octet-stream")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def describe(self) -> str:
        return f"folder {self.folder}"
