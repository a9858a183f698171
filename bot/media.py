"""Media kept beyond WeCom's 3 days: photos, voice and video downloaded with media/get into a folder.

The download runs as an outbox row of channel `media` (queued by models.outbox.keep_media), so it
is claimed, retried with backoff and dead-lettered like any send. Files are named by a hash of the
media_id (never by anything a sender controls) and served only behind the console's and the
progress page's own access checks.
"""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.channels import StoredMedia
from models.db import insert_or_skip

MAX_BYTES = 20 * 1024 * 1024  # WeCom's largest media (video) is 10 MB


class MediaStore:
    """Media files under one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, factory: sessionmaker[Session], media_id: str, kind: str, content: bytes,
             content_type: str, now: datetime) -> str:
        """Write the file (atomically) and record it; its path relative to the folder."""
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
        name = hashlib.sha256(media_id.encode()).hexdigest()
        relative = f"{name[:2]}/{name}{extension}"
        target = self.folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_bytes(content[:MAX_BYTES])
        partial.replace(target)
        with factory.begin() as session:
            insert_or_skip(session, StoredMedia.__table__, {"media_id": media_id, "kind": kind}, "media_id")
            row = session.scalars(select(StoredMedia).where(StoredMedia.media_id == media_id)).one()
            row.path, row.content_type, row.size, row.stored_at = relative, content_type, len(content), now
        return relative

    def open(self, session: Session, media_id: str) -> tuple[Path, str] | None:
        """(file, content type) of a stored medium, or None when it was not (yet) downloaded."""
        row = session.scalars(select(StoredMedia).where(StoredMedia.media_id == media_id)).first()
        if row is None or row.path is None:
            return None
        path = self.folder / row.path
        return (path, row.content_type or "application/octet-stream") if path.is_file() else None
