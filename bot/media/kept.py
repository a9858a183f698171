"""`MediaStore`: what was kept (`stored_media` rows) and where its bytes are (a `BlobStore`).

The download runs as an outbox row of channel `media` (queued by models.outbox.keep_media), so it is
claimed, retried with backoff and dead-lettered like any send. Blobs are keyed by a hash of the
media_id (never by anything a sender controls) and served only behind the console's and the
progress page's own access checks.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from datetime import datetime

from fastapi import Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.media.blobs import Blob, BlobStore, StoreError
from bot.media.folder import FolderStore
from bot.media.s3 import S3Store
from config.settings import Settings
from handlers.texts import render
from models.channels import StoredMedia
from models.statements import insert_or_skip

log = logging.getLogger("gridbot.media")

MAX_BYTES = 20 * 1024 * 1024  # WeCom's largest media (video) is 10 MB
# Served as themselves; anything else (an HTML or SVG "photo") is served as a download, never rendered.
_SHOWN = ("image/jpeg", "image/png", "image/gif", "image/webp", "audio/", "video/")


def media_key(media_id: str, content_type: str) -> str:
    """The blob key of a media_id: `ab/<sha256 of the media_id><extension of its type>`."""
    extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
    name = hashlib.sha256(media_id.encode()).hexdigest()
    return f"{name[:2]}/{name}{extension}"


class MediaStore:
    """Kept media: their records in the database, their bytes in `blobs`."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def save(self, factory: sessionmaker[Session], media_id: str, kind: str, content: bytes,
             content_type: str, now: datetime) -> str:
        """Store the bytes, then record them (so a record always has its blob); the blob's key."""
        key = media_key(media_id, content_type)
        content = content[:MAX_BYTES]
        self.blobs.put(key, content, content_type)
        with factory.begin() as session:
            insert_or_skip(session, StoredMedia.__table__, {"media_id": media_id, "kind": kind}, "media_id")
            row = session.scalars(select(StoredMedia).where(StoredMedia.media_id == media_id)).one()
            row.path, row.content_type, row.size, row.stored_at = key, content_type, len(content), now
        return key

    def open(self, session: Session, media_id: str) -> Blob | None:
        """A kept medium's bytes and recorded type, or None when it was not (yet) downloaded."""
        row = session.scalars(select(StoredMedia).where(StoredMedia.media_id == media_id)).first()
        if row is None or row.path is None:
            return None
        found = self.blobs.get(row.path)
        return Blob(found.content, row.content_type or found.content_type) if found is not None else None

    def forget(self, session: Session, media_ids: list[str]) -> int:
        """Delete kept media (retention): each blob, then its record in `session`'s transaction; how many.
        A blob that cannot be deleted raises StoreError, so the caller's transaction keeps the records."""
        rows = session.execute(select(StoredMedia.media_id, StoredMedia.path)
                               .where(StoredMedia.media_id.in_(media_ids))).all()
        for _, key in rows:
            if key is not None:
                self.blobs.delete(key)
        session.execute(delete(StoredMedia).where(StoredMedia.media_id.in_([media_id for media_id, _ in rows])))
        return len(rows)


def served_headers(blob: Blob) -> tuple[str, dict[str, str]]:
    """The content type to serve a kept blob with and its headers: only media types render inline."""
    media_type = blob.content_type.split(";")[0].strip().lower()
    headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    if media_type.startswith(_SHOWN):
        return media_type, headers
    return "application/octet-stream", {**headers, "Content-Disposition": "attachment"}


def store_unavailable(request: Request, error: StoreError) -> PlainTextResponse:
    """A kept medium asked for while its store cannot be reached: 503 and a line in Chinese, never a 500."""
    log.warning("media store unavailable", extra={"path": request.url.path, "error": str(error)})
    return PlainTextResponse(render("replies/media_unavailable"), status_code=503, headers={"Retry-After": "30"})


def store_from_settings(settings: Settings) -> MediaStore:
    """The media store GRIDBOT_MEDIA_STORE selects: the folder GRIDBOT_MEDIA_DIR, or the S3 bucket."""
    if settings.media_store == "s3":
        return MediaStore(S3Store(
            bucket=settings.media_s3_bucket or "", access_key=settings.media_s3_access_key or "",
            secret_key=settings.media_s3_secret_key or "", endpoint_url=settings.media_s3_endpoint,
            region=settings.media_s3_region, addressing=settings.media_s3_addressing))
    return MediaStore(FolderStore(settings.media_dir))
