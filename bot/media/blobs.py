"""The interface every media backend shares: bytes under a key, with their content type."""

from __future__ import annotations

from typing import NamedTuple, Protocol


class Blob(NamedTuple):
    """A stored file's bytes and content type."""

    content: bytes
    content_type: str


class StoreError(Exception):
    """The backend could not be reached or refused the operation (worth retrying later)."""


class BlobStore(Protocol):
    """Bytes by key. Keys are made by gridbot (`media_key`), never by a sender: `ab/<sha256>.png`."""

    def put(self, key: str, content: bytes, content_type: str) -> None:
        """Store `content` under `key`, replacing what was there; whole or not at all."""

    def get(self, key: str) -> Blob | None:
        """The blob under `key`, or None when there is none."""

    def exists(self, key: str) -> bool:
        """Whether something is stored under `key`."""

    def delete(self, key: str) -> None:
        """Remove what is stored under `key` (nothing there: no error)."""

    def describe(self) -> str:
        """Where blobs go, for logs and `gridbot media` (no secrets)."""
