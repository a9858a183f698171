"""Safe by default (issue 13): no demo secret outside the demo, no forged @-command, a console
session key of its own, and `gridbot doctor` naming what is still unsafe."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from bot.admin.common.cookies import COOKIE
from bot.app import create_app
from bot.safety import UnsafeSettings
from config.settings import DEMO_AES_KEY, DEMO_TOKEN, Settings
from handlers.console.session_key import stored_secret
from models import AdminUser, Case
from tests.cli import run_cli
from tests.deploy_secrets import TEST_SECRETS
from tests.e2e.admin_client import AdminClient, logged_in
from tests.e2e.worker_chat import digits, report
from tests.servers import serve_in_thread
from tests.wecom_sim import CallbackClient, WeComSide


@pytest.fixture(scope="module")
def admin(app_url) -> AdminClient:
    return logged_in(app_url)


def _production(app_settings: Settings, **changes) -> Settings:
    return app_settings.model_copy(update={"demo": False, "wecom_bot_token": None, "wecom_bot_aes_key": None,
                                           "run_background_jobs": False, **changes})


def test_start_up_outside_the_demo_refuses_each_demo_callback_secret(database_url):
    with pytest.raises(UnsafeSettings) as refused:
        create_app(Settings(_env_file=None, database_url=database_url))
    lines = str(refused.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["GRIDBOT_WECOM_CORP_ID", "GRIDBOT_WECOM_TOKEN",
                                                      "GRIDBOT_WECOM_AES_KEY", "GRIDBOT_WECOM_SECRET"]
    with pytest.raises(UnsafeSettings, match="GRIDBOT_WECOM_SECRET"):
        create_app(Settings(_env_file=None, database_url=database_url, **{**TEST_SECRETS, "wecom_secret": ""}))
    create_app(Settings(_env_file=None, database_url=database_url, **TEST_SECRETS))  # its own secrets: starts
    create_app(Settings(_env_file=None, database_url=database_url, demo=True))  # the demo keeps its values


def test_serve_refuses_and_doctor_lists_what_is_unsafe(database_url):
    served = run_cli(["serve"], database_url, GRIDBOT_DEMO="false")
    assert served.exit_code == 2 and "refused: GRIDBOT_WECOM_TOKEN" in served.output
    doctor = run_cli(["doctor"], database_url, GRIDBOT_DEMO="false", GRIDBOT_ADMIN_PASSWORD="short",
                     GRIDBOT_METRICS_NETWORKS="0.0.0.0/0", GRIDBOT_WECOM_PREVIOUS_TOKEN="old-token",
                     GRIDBOT_WECOM_PREVIOUS_UNTIL="2020-01-01T00:00:00+08:00")
    assert doctor.exit_code == 1
    for name in ("GRIDBOT_WECOM_AES_KEY", "GRIDBOT_ADMIN_PASSWORD", "GRIDBOT_METRICS_NETWORKS",
                 "GRIDBOT_SECURE_COOKIES", "GRIDBOT_WECOM_PREVIOUS_TOKEN"):
        assert f"unsafe: {name}" in doctor.output, name
    safe = {f"GRIDBOT_{k.upper()}": v for k, v in TEST_SECRETS.items()}
    clean = run_cli(["doctor"], database_url, GRIDBOT_DEMO="false", GRIDBOT_SECURE_COOKIES="true",
                    GRIDBOT_ADMIN_PASSWORD="a-long-operator-password", GRIDBOT_PUBLIC_URL="https://grid.example.org",
                    **safe)
    assert clean.exit_code == 0 and "nothing unsafe found" in clean.output


def test_start_up_refuses_a_media_bucket_key_from_a_quick_start(database_url):
    bucket = {"media_store": "s3", "media_s3_endpoint": "https://oss.example.org", "media_s3_bucket": "kept"}
    with pytest.raises(UnsafeSettings) as refused:
        create_app(Settings(_env_file=None, database_url=database_url, **TEST_SECRETS, **bucket,
                            media_s3_access_key="minioadmin", media_s3_secret_key="minioadmin"))
    assert [line.split(":")[0] for line in str(refused.value).splitlines()] == [
        "GRIDBOT_MEDIA_S3_ACCESS_KEY", "GRIDBOT_MEDIA_S3_SECRET_KEY"]
    create_app(Settings(_env_file=None, database_url=database_url, **TEST_SECRETS, **bucket,
                        media_s3_access_key="gridbot-own", media_s3_secret_key="a-secret-of-its-own"))


def test_doctor_lists_what_leaves_the_resident_channels_open(database_url):
    safe = {f"GRIDBOT_{k.upper()}": v for k, v in TEST_SECRETS.items()}
    checked = {"GRIDBOT_DEMO": "false", "GRIDBOT_SECURE_COOKIES": "true", **safe}
    unset = run_cli(["doctor"], database_url, GRIDBOT_KF_EXCLUDE="wkExcludedAccount01,kf-typo",
                    GRIDBOT_MEDIA_STORE="s3", GRIDBOT_MEDIA_S3_ENDPOINT="http://minio.internal:9000",
                    GRIDBOT_MEDIA_S3_BUCKET="kept", GRIDBOT_MEDIA_S3_ACCESS_KEY="own",
                    GRIDBOT_MEDIA_S3_SECRET_KEY="own-secret", **checked)
    assert unset.exit_code == 1
    found = [line for line in unset.output.splitlines() if line.startswith("unsafe: ")]
    assert [line.split(":")[1].strip() for line in found] == [
        "GRIDBOT_PUBLIC_URL", "GRIDBOT_KF_EXCLUDE", "GRIDBOT_MEDIA_S3_ENDPOINT"]
    assert "kf-typo" in found[1] and "wkExcludedAccount01" not in found[1]
    for address in ("http://127.0.0.1:8000", "http://grid.example.org"):
        assert "unsafe: GRIDBOT_PUBLIC_URL" in run_cli(["doctor"], database_url, GRIDBOT_PUBLIC_URL=address,
                                                       **checked).output
    weak = run_cli(["doctor"], database_url, GRIDBOT_LINK_SECRET="short-link-key", **checked)
    assert weak.exit_code == 2 and "GRIDBOT_LINK_SECRET" in weak.output
    local_bucket = run_cli(["doctor"], database_url, GRIDBOT_PUBLIC_URL="https://grid.example.org",
                           GRIDBOT_LINK_SECRET="a-link-signing-key-of-32-characters!",
                           GRIDBOT_MEDIA_STORE="s3", GRIDBOT_MEDIA_S3_ENDPOINT="http://127.0.0.1:9000",
                           GRIDBOT_MEDIA_S3_BUCKET="kept", GRIDBOT_MEDIA_S3_ACCESS_KEY="own",
                           GRIDBOT_MEDIA_S3_SECRET_KEY="own-secret", **checked)
    assert local_bucket.exit_code == 0, local_bucket.output


def _bot_payload(userid: str, text: str, aibotid: str = "AIBOT") -> dict:
    return {"msgid": f"forged-{time.time_ns()}", "aibotid": aibotid, "chattype": "single",
            "from": {"userid": userid}, "msgtype": "text", "text": {"content": text}}


def test_an_at_command_with_the_demo_bot_key_is_not_answered_outside_the_demo(app_settings, wecom, db):
    number = report(wecom)
    with serve_in_thread(create_app(_production(app_settings))) as url:
        forger = CallbackClient(url, WeComSide(DEMO_TOKEN, DEMO_AES_KEY, ""), path="/wecom/aibot")
        answer = forger.post_bot_json(_bot_payload("demo-worker", f"接单 {digits(number)}"))
        assert answer.status_code == 404
        echostr = forger.side.encrypt("echo")
        assert forger.http.get("/wecom/aibot", params={**forger.side.signed_params(echostr),
                                                       "echostr": echostr}).status_code == 404
    with db() as session:
        assert session.get(Case, int(digits(number))).taken_at is None


def test_the_bot_route_answers_only_its_configured_aibotid(app_settings):
    key = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"
    settings = _production(app_settings, wecom_bot_token="own-bot-token", wecom_bot_aes_key=key,
                           wecom_bot_id="bot-ours")
    with serve_in_thread(create_app(settings)) as url:
        bot = CallbackClient(url, WeComSide("own-bot-token", key, ""), path="/wecom/aibot")
        assert bot.post_bot_json(_bot_payload("demo-worker", "帮助", aibotid="bot-other")).status_code == 403
        ours = bot.post_bot_json(_bot_payload("demo-worker", "帮助", aibotid="bot-ours"))
        assert ours.status_code == 200 and "encrypt" in ours.json()


def _old_derived_cookie(settings: Settings, user_id: int, epoch: int) -> str:
    """A session cookie signed with the key the console used to derive from the deployment's secrets."""
    material = "\0".join([settings.wecom_secret, settings.wecom_aes_key, settings.admin_password or ""])
    key = hashlib.sha256(b"gridbot-admin-session\0" + material.encode()).hexdigest()
    return URLSafeTimedSerializer(key, salt="gridbot-admin").dumps({"c": "forged", "u": user_id, "e": epoch})


def test_a_cookie_signed_with_a_key_derived_from_known_secrets_is_refused(app_url, app_settings, admin, db):
    with db() as session:
        user = session.scalars(select(AdminUser).where(AdminUser.username == "admin")).one()
        user_id, epoch = user.id, user.session_epoch
    forged = httpx.get(f"{app_url}/admin/", cookies={COOKIE: _old_derived_cookie(app_settings, user_id, epoch)})
    assert forged.status_code == 303 and forged.headers["location"].startswith("/admin/login")


def test_the_session_key_is_random_stored_once_and_signs_the_apps_cookies(db, admin):
    first, again = stored_secret(db), stored_secret(db)
    assert first == again and len(first) >= 48
    assert stored_secret(db, "another-secret") != first
    cookie = admin.http.cookies.get(COOKIE)
    assert URLSafeTimedSerializer(first, salt="gridbot-admin").loads(cookie)["u"] is not None
