"""Rotating the callback Token and AES key (issue 13): the previous pair stays accepted for a set overlap,
and a reply is sealed with the key its callback came in with."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import create_app
from models import utcnow
from tests.servers import serve_in_thread
from tests.wecom_sim import CallbackClient, WeComSide

OLD_TOKEN, OLD_KEY = "gridbotoldtoken", "Zm9yZ290dGVuLW9sZC1rZXktZm9yLXJvdGF0aW9uLTE"


def _rotating(app_settings, until):
    return app_settings.model_copy(update={"wecom_previous_token": OLD_TOKEN, "wecom_previous_aes_key": OLD_KEY,
                                           "wecom_previous_until": until, "run_background_jobs": False})


@pytest.fixture(scope="module")
def rotating_url(app_settings):
    with serve_in_thread(create_app(_rotating(app_settings, utcnow() + timedelta(hours=1)))) as url:
        yield url


def test_during_the_overlap_both_keys_work_and_each_reply_uses_its_own(rotating_url, app_settings):
    old = CallbackClient(rotating_url, WeComSide(OLD_TOKEN, OLD_KEY, app_settings.wecom_corp_id))
    new = CallbackClient(rotating_url, WeComSide(app_settings.wecom_token, app_settings.wecom_aes_key,
                                                 app_settings.wecom_corp_id))
    # reply_text checks the passive reply's signature and decrypts it with that side's own Token and key
    assert old.send_text("rotation-resident", "你好")
    assert new.send_text("rotation-resident-2", "你好")
    echostr = old.side.encrypt("echo-old")
    answer = old.http.get("/wecom/callback", params={**old.side.signed_params(echostr), "echostr": echostr})
    assert answer.status_code == 200 and answer.text == "echo-old"


def test_after_the_overlap_the_previous_key_is_refused(app_settings):
    with serve_in_thread(create_app(_rotating(app_settings, utcnow() - timedelta(seconds=1)))) as url:
        old = CallbackClient(url, WeComSide(OLD_TOKEN, OLD_KEY, app_settings.wecom_corp_id))
        assert old.post_xml("<xml><MsgType>text</MsgType></xml>").status_code == 403
