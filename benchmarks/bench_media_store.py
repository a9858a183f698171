"""Keeping and serving media through each backend: the folder and an S3-compatible bucket.

The bucket is moto's S3 server on loopback (real HTTP, SigV4-signed by boto3), so its figures are
boto3's client cost plus a Python S3 server on the same host, not a production object store's;
the network to a real one adds its round trip. Each photo is `--size` random bytes.

    .venv/bin/python benchmarks/bench_media_store.py [--photos 200] [--size 150000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stats import percentile  # noqa: E402
from bot.media import BlobStore, FolderStore, S3Store, media_key  # noqa: E402
from tests.s3_server import s3_server  # noqa: E402


def _ms(samples: list[float]) -> str:
    return (f"{statistics.mean(samples) * 1000:.2f} | {statistics.median(samples) * 1000:.2f} | "
            f"{percentile(samples, .99) * 1000:.2f}")


def measure(name: str, blobs: BlobStore, photos: int, size: int) -> None:
    keys = [media_key(f"bench-{name}-{i}", "image/jpeg") for i in range(photos)]
    content = os.urandom(size)
    put, get = [], []
    for key in keys:
        start = time.perf_counter()
        blobs.put(key, content, "image/jpeg")
        put.append(time.perf_counter() - start)
    for key in keys:
        start = time.perf_counter()
        assert blobs.get(key).content == content
        get.append(time.perf_counter() - start)
    print(f"| {name} | {photos} × {size // 1000} kB | {_ms(put)} | {_ms(get)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--size", type=int, default=150_000)
    args = parser.parse_args()
    print("| backend | photos | put ms mean | p50 | p99 | get ms mean | p50 | p99 |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        measure("folder", FolderStore(Path(folder)), args.photos, args.size)
    with s3_server() as url:
        bucket = S3Store(bucket="bench-media", access_key="bench", secret_key="bench-secret", endpoint_url=url)
        bucket._client.create_bucket(Bucket="bench-media")
        measure("s3 (moto, loopback)", bucket, args.photos, args.size)


if __name__ == "__main__":
    main()
