"""Media kept in an S3-compatible bucket (GRIDBOT_MEDIA_STORE=s3): moto's S3 server runs as a real
HTTP server, the app signs its requests with boto3, and a resident's photo travels the whole path:
the encrypted kf callback → kf/sync_msg and media/get at the fake WeCom → an object in the bucket →
the console and the progress page serve its bytes behind their own access checks. The server checks
every request's signature and gridbot's key may only get, put and delete objects in its bucket."""

from __future__ import annotations

import re

import boto3
import httpx
import pytest
from botocore.config import Config
from sqlalchemy import select

from bot.app import create_app
from bot.media import S3Store, StoreError, media_key
from config.settings import Settings
from demo.fake_kf import tiny_png
from models import Case, StoredMedia, Unit, Worker
from tests.e2e.admin_client import logged_in
from tests.e2e.conftest import config_with_quiet_hours, demo_settings
from tests.e2e.kf_chat import KfResident
from tests.e2e.worker_chat import digits, report
from tests.s3_server import Bucket, signed_bucket
from tests.servers import free_port, serve_in_thread
from tests.wecom_sim import media_xml

BUCKET = "gridbot-media"


@pytest.fixture(scope="module")
def signed() -> Bucket:
    """The bucket, behind a server that checks signatures and grants gridbot's key its objects only."""
    with signed_bucket(BUCKET) as bucket:
        yield bucket


@pytest.fixture(scope="module")
def bucket(signed):
    """A client on the bucket with gridbot's key, as an operator checking it would use it."""
    return boto3.client("s3", endpoint_url=signed.url, region_name="us-east-1", aws_access_key_id=signed.access_key,
                        aws_secret_access_key=signed.secret_key, config=Config(s3={"addressing_style": "path"}))


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("unused-media-folder")


@pytest.fixture(scope="module")
def app_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def app_settings(database_url, fake_wecom, tmp_path_factory, signed, media_dir, app_port) -> Settings:
    config_dir = config_with_quiet_hours(tmp_path_factory.mktemp("app"), "00:00", "00:00")
    return demo_settings(database_url, fake_wecom, config_dir=config_dir, media_dir=media_dir, media_store="s3",
                         media_s3_endpoint=signed.url, media_s3_bucket=BUCKET, media_s3_access_key=signed.access_key,
                         media_s3_secret_key=signed.secret_key, public_url=f"http://127.0.0.1:{app_port}")


@pytest.fixture(scope="module")
def app_url(app_settings, app_port) -> str:
    with serve_in_thread(create_app(app_settings), port=app_port) as url:
        yield url


def _kept(db, media_id: str) -> str | None:
    with db() as session:
        return session.scalar(select(StoredMedia.path).where(StoredMedia.media_id == media_id))


def test_a_kf_residents_photo_is_kept_in_the_bucket_and_served_behind_the_checks(
        wecom, fake_wecom, db, app_url, bucket, media_dir):
    with db() as session:
        worker = session.scalars(select(Worker).where(Worker.userid == "demo-worker")).one()
        unit = session.scalars(select(Unit).where(Unit.grid_id == worker.grids[0].id).order_by(Unit.id)).first()
        code = unit.code
    resident = KfResident(fake_wecom, wecom, "wmE2eS3PhotoResident0001")
    resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=code, welcome=False)
    resident.say("单元门口的路灯坏了，晚上一片漆黑")
    opened = resident.wait_for(1)[0]
    case_id = int(re.search(r"GB-(\d{6})", opened).group(1))
    link = re.search(r"http://127\.0\.0\.1:\d+/p/\S+", opened).group(0)
    photo = resident.write(msgtype="image")["media_id"]
    assert "已收到图片" in resident.wait_for(2)[1]

    # media/get at the fake WeCom → an object in the bucket with the photo's bytes; nothing in the folder.
    key = fake_wecom.wait_for(lambda: [k for k in [_kept(db, photo)] if k])
    assert key, "the photo was not kept"
    stored = bucket.get_object(Bucket=BUCKET, Key=key[0])
    assert stored["Body"].read() == tiny_png(photo) and stored["ContentType"] == "image/png"
    assert list(media_dir.iterdir()) == []

    # The console serves the bytes for this case only, and only to a signed-in viewer.
    console = logged_in(app_url)
    try:
        served = console.get(f"/admin/cases/{case_id}/media/{photo}")
        assert served.status_code == 200 and served.content == tiny_png(photo)
        assert served.headers["content-type"] == "image/png"
        other = digits(report(wecom, "小区东门的垃圾桶满了没人清"))
        assert console.get(f"/admin/cases/{other}/media/{photo}").status_code == 404  # not that case's
    finally:
        console.close()
    anonymous = httpx.get(f"{app_url}/admin/cases/{case_id}/media/{photo}", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401) and anonymous.content != tiny_png(photo)

    # The worker's photo, kept the same way, is served behind the resident's progress link.
    assert "已接单" in wecom.send_text("demo-worker", f"接单 {case_id}")
    wecom.send_text("demo-worker", f"进展 {case_id} 已报修")
    wecom.reply_text(wecom.post_xml(media_xml("demo-worker", "image", 881000001)))
    assert fake_wecom.wait_for(lambda: [k for k in [_kept(db, "media-881000001")] if k])
    page = httpx.get(f"{link}/photos/0")
    assert page.status_code == 200 and page.content == tiny_png("media-881000001")
    tampered = link[:-1] + ("A" if link[-1] != "A" else "B")
    assert httpx.get(f"{tampered}/photos/0").status_code == 404
    with db() as session:
        assert session.get(Case, case_id).reporter_userid == f"kf:{resident.external_userid}"


def test_the_bucket_refuses_a_wrong_secret_and_what_gridbots_key_may_not_do(signed):
    wrong = S3Store(bucket=BUCKET, access_key=signed.access_key, secret_key="not-the-secret", endpoint_url=signed.url)
    with pytest.raises(StoreError, match="SignatureDoesNotMatch"):
        wrong.put(media_key("kfmedia-forged", "image/png"), b"forged", "image/png")
    elsewhere = S3Store(bucket="another-bucket", access_key=signed.access_key, secret_key=signed.secret_key,
                        endpoint_url=signed.url)
    with pytest.raises(StoreError, match="AccessDenied"):
        elsewhere.put(media_key("kfmedia-elsewhere", "image/png"), b"x", "image/png")


def test_a_photo_asked_for_while_the_bucket_is_unreachable_gets_a_polite_503(wecom, fake_wecom, db, app_url,
                                                                            app_settings):
    case_id = digits(report(wecom, "楼道里的声控灯不亮了，上下楼看不清", userid="s3-unreachable"))
    wecom.reply_text(wecom.post_xml(media_xml("s3-unreachable", "image", 881000002)))
    assert fake_wecom.wait_for(lambda: [k for k in [_kept(db, "media-881000002")] if k])
    # A second app on the same database whose bucket endpoint answers nothing.
    cut_off = app_settings.model_copy(update={"media_s3_endpoint": f"http://127.0.0.1:{free_port()}",
                                              "run_background_jobs": False})
    with serve_in_thread(create_app(cut_off), port=free_port()) as url:
        console = logged_in(url)
        try:
            served = console.get(f"/admin/cases/{case_id}/media/media-881000002")
        finally:
            console.close()
    assert served.status_code == 503 and served.headers["retry-after"] == "30"
    assert served.text.strip() == "照片暂时无法读取，请稍后再试。"
