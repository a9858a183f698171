"""Moving kept media between stores and checking a store holds them all (`gridbot media copy|check`):
for switching from the folder to a bucket, or checking a restored backup."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.media.blobs import BlobStore
from models.channels import StoredMedia


@dataclass
class Transfer:
    """What a copy did: blobs copied, already in the target, and media_ids the source lacks."""

    copied: int = 0
    already: int = 0
    missing: list[str] = field(default_factory=list)


def _kept(factory: sessionmaker[Session]) -> list[tuple[str, str, str | None]]:
    with factory() as session:
        return [tuple(row) for row in session.execute(
            select(StoredMedia.media_id, StoredMedia.path, StoredMedia.content_type)
            .where(StoredMedia.path.is_not(None)).order_by(StoredMedia.id))]


def copy_media(factory: sessionmaker[Session], source: BlobStore, target: BlobStore) -> Transfer:
    """Copy every recorded blob that `target` lacks from `source` (running it again copies nothing)."""
    done = Transfer()
    for media_id, key, content_type in _kept(factory):
        if target.exists(key):
            done.already += 1
            continue
        blob = source.get(key)
        if blob is None:
            done.missing.append(media_id)
            continue
        target.put(key, blob.content, content_type or blob.content_type)
        done.copied += 1
    return done


def missing_media(factory: sessionmaker[Session], store: BlobStore) -> list[str]:
    """The media_ids recorded as kept whose blob `store` does not hold."""
    return [media_id for media_id, key, _ in _kept(factory) if not store.exists(key)]
