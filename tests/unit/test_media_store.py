"""The media backends behind one interface: the folder and an S3-compatible bucket (moto's S3 server over
real HTTP) keep, answer, report and delete the same way; an unreachable bucket makes the download a
retried outbox row; the settings for a bucket are checked at start-up."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from bot.media import Blob, FolderStore, MediaStore, S3Store, media_key, served_headers
from config.settings import SettingsError, load_settings
from demo.fake_kf import tiny_png
from models import OutboxMessage, StoredMedia, utcnow
from models.outbox import keep_media
from tests.cli import cli_json, run_cli
from tests.s3_server import s3_server
from tests.servers import free_port
from tests.unit.outbox_support import factory, fake, fake_url, sender_for  # noqa: F401 (fixtures)

BUCKET = "gridbot-unit-media"


@pytest.fixture(scope="module")
def s3_url() -> str:
    with s3_server() as url:
        yield url


def _bucket(url: str, name: str = BUCKET) -> S3Store:
    store = S3Store(bucket=name, access_key="unit-access", secret_key="unit-secret", endpoint_url=url)
    store._client.create_bucket(Bucket=name)  # the operator's step, done here once per test bucket
    return store


@pytest.fixture(params=["folder", "s3"])
def blobs(request, tmp_path):
    if request.param == "folder":
        return FolderStore(tmp_path / "media")
    return _bucket(request.getfixturevalue("s3_url"), f"{BUCKET}-{tmp_path.name[-20:].lower().replace('_', '-')}")


def test_each_backend_keeps_answers_and_deletes_by_key(blobs):
    key = media_key("media-1", "image/png")
    assert not blobs.exists(key) and blobs.get(key) is None
    blobs.put(key, tiny_png("a"), "image/png")
    assert blobs.exists(key)
    assert blobs.get(key) == Blob(tiny_png("a"), "image/png")
    blobs.put(key, tiny_png("b"), "image/png")  # replaced whole
    assert blobs.get(key).content == tiny_png("b")
    blobs.delete(key)
    assert not blobs.exists(key) and blobs.get(key) is None
    blobs.delete(key)  # nothing there: no error


def test_keys_are_gridbots_own_and_never_a_path_to_follow(tmp_path):
    key = media_key("kfmedia-../../etc/passwd", "image/jpeg")
    assert key.endswith(".jpg") and "/" in key and ".." not in key
    store = FolderStore(tmp_path)
    for bad in ("../outside.png", "/etc/passwd", "ab/../../x.png"):
        with pytest.raises(ValueError):
            store.put(bad, b"x", "image/png")


def test_only_media_types_are_served_inline():
    assert served_headers(Blob(b"", "image/png"))[0] == "image/png"
    media_type, headers = served_headers(Blob(b"<script>", "text/html; charset=utf-8"))
    assert media_type == "application/octet-stream" and headers["Content-Disposition"] == "attachment"
    assert served_headers(Blob(b"<svg/>", "image/svg+xml"))[1]["Content-Disposition"] == "attachment"


def test_media_kept_in_a_bucket_is_recorded_and_opened(factory, s3_url):  # noqa: F811
    store = MediaStore(_bucket(s3_url, "gridbot-unit-recorded"))
    key = store.save(factory, "kfmedia-recorded", "image", tiny_png("r"), "image/png", utcnow())
    assert store.blobs.exists(key)
    with factory() as session:
        assert store.open(session, "kfmedia-recorded") == Blob(tiny_png("r"), "image/png")
        assert store.open(session, "kfmedia-never-seen") is None


def test_an_unreachable_bucket_leaves_the_download_to_be_retried(factory, fake):  # noqa: F811
    with factory.begin() as session:
        keep_media(session, {"kind": "image", "media_id": "media-4242"})
    down = S3Store(bucket=BUCKET, access_key="a", secret_key="never-in-a-log",
                   endpoint_url=f"http://127.0.0.1:{free_port()}")
    sender = sender_for(factory, fake.url)
    sender.media = MediaStore(down)
    assert sender.run_once() == 0
    with factory() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "media-4242")).one()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "media store" in row.last_error and "never-in-a-log" not in row.last_error


def test_a_bucket_without_its_keys_stops_start_up_naming_them(monkeypatch):
    monkeypatch.setenv("GRIDBOT_MEDIA_STORE", "s3")
    monkeypatch.setenv("GRIDBOT_MEDIA_S3_BUCKET", "kept")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == ("GRIDBOT_MEDIA_S3_ACCESS_KEY, GRIDBOT_MEDIA_S3_SECRET_KEY: "
                                  "required when GRIDBOT_MEDIA_STORE=s3")
    monkeypatch.setenv("GRIDBOT_MEDIA_S3_ENDPOINT", "minio.local:9000")
    with pytest.raises(SettingsError, match="GRIDBOT_MEDIA_S3_ENDPOINT"):
        load_settings()


def test_switching_to_a_bucket_copies_the_folders_media_once_and_check_finds_what_is_missing(
        factory, database_url, s3_url, tmp_path):  # noqa: F811
    with factory.begin() as session:
        session.execute(delete(StoredMedia))  # only this test's media are recorded
    folder = MediaStore(FolderStore(tmp_path))
    keys = [folder.save(factory, f"kfmedia-move-{i}", "image", tiny_png(str(i)), "image/png", utcnow()) for i in (1, 2)]
    bucket = _bucket(s3_url, "gridbot-unit-switched")
    env = {"GRIDBOT_MEDIA_STORE": "s3", "GRIDBOT_MEDIA_S3_ENDPOINT": s3_url, "GRIDBOT_MEDIA_S3_BUCKET": bucket.bucket,
           "GRIDBOT_MEDIA_S3_ACCESS_KEY": "unit-access", "GRIDBOT_MEDIA_S3_SECRET_KEY": "unit-secret"}
    first = cli_json(["media", "copy", "--from-dir", str(tmp_path)], database_url, **env)
    assert first == {"copied": 2, "already": 0, "missing": []} and bucket.get(keys[1]).content == tiny_png("2")
    assert cli_json(["media", "copy", "--from-dir", str(tmp_path)], database_url, **env) == {
        "copied": 0, "already": 2, "missing": []}
    assert cli_json(["media", "check"], database_url, **env)["missing"] == []
    bucket.delete(keys[0])
    lost = run_cli(["media", "check"], database_url, **env)
    assert lost.exit_code == 1 and "kfmedia-move-1" in lost.stdout and "kfmedia-move-2" not in lost.stdout
