"""Media kept on every channel: a resident's and a worker's photos are downloaded with media/get when
they arrive and served to the console and the progress page behind their own access checks."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from demo.fake_kf import tiny_png
from models import StoredMedia
from tests.e2e.admin_client import logged_in
from tests.e2e.worker_chat import digits, report
from tests.wecom_sim import media_xml


def _stored(db, media_id: str) -> bool:
    with db() as session:
        return session.scalar(select(StoredMedia.path).where(StoredMedia.media_id == media_id)) is not None


def _photo(wecom, userid: str, msg_id: int) -> str:
    wecom.reply_text(wecom.post_xml(media_xml(userid, "image", msg_id)))
    return f"media-{msg_id}"


def test_photos_are_kept_and_served_behind_the_console_and_the_link(wecom, fake_wecom, db, app_url):
    number = report(wecom, "小区后门的井盖丢了，晚上很危险")
    resident_photo = _photo(wecom, "demo-resident", 880000001)
    case_id = digits(number)
    assert "已接单" in wecom.send_text("demo-worker", f"接单 {case_id}")
    wecom.send_text("demo-worker", f"进展 {case_id} 已放置警示牌")
    worker_photo = _photo(wecom, "demo-worker", 880000002)
    assert fake_wecom.wait_for(lambda: [m for m in (resident_photo, worker_photo) if _stored(db, m)], 2)

    console = logged_in(app_url)
    try:
        kept = console.get(f"/admin/cases/{case_id}/media/{resident_photo}")
        assert kept.status_code == 200 and kept.content == tiny_png(resident_photo)
        assert console.get(f"/admin/cases/{case_id}/media/media-999").status_code == 404  # not this case's
    finally:
        console.close()
    anonymous = httpx.get(f"{app_url}/admin/cases/{case_id}/media/{resident_photo}", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)

    path = re.search(r"/p/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+", wecom.send_text("demo-resident", f"进度 {case_id}")).group(0)
    page = httpx.get(app_url + path).text
    assert f"{path}/photos/0" in page and f"{path}/photos/1" not in page  # the worker's photo only
    photo = httpx.get(f"{app_url}{path}/photos/0")
    assert photo.status_code == 200 and photo.content == tiny_png(worker_photo)
    tampered = path[:-1] + ("x" if path[-1] != "x" else "y")
    assert httpx.get(f"{app_url}{tampered}/photos/0").status_code == 404
