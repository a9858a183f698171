"""The callback's protocol edge: Tencent's published vectors, and refusals of bad requests."""

from __future__ import annotations

import httpx
import pytest

from bot.app import create_app
from config.settings import Settings
from models.setup import init_database
from tests.servers import serve_in_thread
from tests.wecom_sim import CallbackClient, WeComSide, text_xml

TENCENT = {"token": "QDG6eK", "corp_id": "wx5823bf96d3bd56c7",
           "aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}
TENCENT_ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
TENCENT_POST = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo"
    "+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLY"
    "L42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s"
    "4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH"
    "27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encr"
    "ypt><AgentID><![CDATA[218]]></AgentID></xml>"
)


@pytest.fixture(scope="module")
def tencent_app(database_url: str):
    init_database(database_url)
    settings = Settings(_env_file=None, database_url=database_url, wecom_token=TENCENT["token"],
                        wecom_corp_id=TENCENT["corp_id"], wecom_aes_key=TENCENT["aes_key"],
                        wecom_secret="tencent-vector-secret", wecom_max_age=0, run_background_jobs=False)
    with serve_in_thread(create_app(settings)) as url:
        yield url


def test_tencent_url_verification_vector_answers_echostr(tencent_app):
    response = httpx.get(f"{tencent_app}/wecom/callback", params={
        "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589",
        "nonce": "263014780", "echostr": TENCENT_ECHOSTR})
    assert response.status_code == 200
    assert response.text == "1616140317555161061"


def test_tencent_encrypted_post_vector_is_accepted_and_answered(tencent_app):
    response = httpx.post(f"{tencent_app}/wecom/callback", content=TENCENT_POST, params={
        "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813",
        "nonce": "1372623149"})
    side = WeComSide(TENCENT["token"], TENCENT["aes_key"], TENCENT["corp_id"])
    reply = CallbackClient(tencent_app, side).reply_text(response)
    assert reply  # "hello" from mycreate is a greeting: the help text
    assert "帮助" in reply


def test_url_verification_with_bad_signature_is_403(tencent_app):
    response = httpx.get(f"{tencent_app}/wecom/callback", params={
        "msg_signature": "0" * 40, "timestamp": "1409659589", "nonce": "263014780", "echostr": TENCENT_ECHOSTR})
    assert response.status_code == 403


def test_forged_signature_is_403(wecom):
    response = wecom.post_xml(text_xml("demo-resident", "路灯坏了"), msg_signature="f" * 40)
    assert response.status_code == 403


def test_missing_signature_is_403(wecom):
    response = wecom.http.post("/wecom/callback", content=b"<xml><Encrypt>abc</Encrypt></xml>")
    assert response.status_code == 403


def test_message_for_another_corp_is_403(wecom):
    other = CallbackClient(wecom.base_url, WeComSide(wecom.side.token, _aes_of(wecom), "ww-another-corp"))
    assert other.post_xml(text_xml("demo-resident", "路灯坏了")).status_code == 403


def _aes_of(client: CallbackClient) -> str:
    import base64

    return base64.b64encode(client.side.key).decode().rstrip("=")


@pytest.mark.parametrize("body", [b"not xml at all", b"<xml><Encrypt>", b"<xml></xml>",
                                  b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>'])
def test_unreadable_body_is_400(wecom, body):
    params = wecom.side.signed_params("whatever")
    assert wecom.http.post("/wecom/callback", params=params, content=body).status_code in (400, 403)


def test_garbage_ciphertext_with_valid_signature_is_400(wecom):
    encrypted = "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0"
    params = wecom.side.signed_params(encrypted)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    assert wecom.http.post("/wecom/callback", params=params, content=body).status_code == 400


def test_huge_body_is_413(wecom):
    response = wecom.http.post("/wecom/callback", params=wecom.side.signed_params("x"), content=b"x" * 2_000_000)
    assert response.status_code == 413


def test_stale_timestamp_is_refused_as_replay(wecom):
    response = wecom.post_xml(text_xml("demo-resident", "路灯坏了"), timestamp="1409659813")
    assert response.status_code == 403


def test_healthz_answers_when_database_is_up(wecom):
    assert wecom.http.get("/healthz").status_code == 200
