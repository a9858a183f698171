"""Media kept beyond WeCom's 3 days: photos, voice and video downloaded with media/get and stored.

One interface (`BlobStore`: put/get/exists/delete by key) with two backends: a folder (the default)
and an S3-compatible object store (`GRIDBOT_MEDIA_STORE=s3`). `MediaStore` records what was kept in
`stored_media` and serves it back to the console and the progress page behind their own checks.
"""

from bot.media.blobs import Blob, BlobStore, StoreError
from bot.media.folder import FolderStore
from bot.media.kept import MAX_BYTES, MediaStore, media_key, served_headers, store_from_settings, store_unavailable
from bot.media.s3 import S3Store

__all__ = ["MAX_BYTES", "Blob", "BlobStore", "FolderStore", "MediaStore", "S3Store", "StoreError", "media_key",
           "served_headers", "store_from_settings", "store_unavailable"]
