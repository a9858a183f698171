"""HTTP polish attackers use (issue 13): security headers, /metrics for loopback only, banners that show
known codes only, out-of-range numbers answered 404, console bodies limited early, forced Secure cookies."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.app import create_app
from bot.metrics import allowed_client
from tests.e2e.admin_client import AdminClient, logged_in
from tests.servers import serve_in_thread

PHISH = "系统升级请拨打4008123456领取补贴"


@pytest.fixture(scope="module")
def admin(app_url) -> AdminClient:
    return logged_in(app_url)


def test_every_page_carries_the_security_headers(app_url, admin):
    for response in (httpx.get(f"{app_url}/admin/login"), admin.get("/admin/cases"), httpx.get(f"{app_url}/healthz")):
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "'unsafe-inline'" not in headers["content-security-policy"].split("script-src")[1].split(";")[0]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


def test_an_inline_script_runs_only_with_its_pages_nonce(admin):
    page = admin.get("/admin/map")
    nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"]).group(1)
    assert f'<script nonce="{nonce}">' in page.text
    assert nonce not in admin.get("/admin/map").headers["content-security-policy"]  # a new one each page


def test_metrics_answer_loopback_only(app_url):
    assert httpx.get(f"{app_url}/metrics").status_code == 200
    # uvicorn trusts X-Forwarded-For from loopback: a proxied request from outside is refused like a direct one
    outside = httpx.get(f"{app_url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert outside.status_code == 404 and "gridbot_" not in outside.text


def test_metrics_networks_setting_admits_a_configured_network(app_settings):
    networks = app_settings.model_copy(update={"metrics_networks": "127.0.0.0/8,10.8.0.0/16"}).metrics_allowed
    assert allowed_client("10.8.3.4", networks) and allowed_client("127.0.0.1", networks)
    assert not allowed_client("10.9.0.1", networks) and not allowed_client("testclient", networks)


def test_banners_show_known_codes_never_text_from_the_url(admin):
    for path, params in (("/admin/broadcasts", {"error": PHISH}), ("/admin/users", {"error": PHISH}),
                         ("/admin/rules", {"error": PHISH}), ("/admin/rules", {"done": PHISH}),
                         ("/admin/registry/workers", {"error": PHISH}), ("/admin/registry/workers", {"done": PHISH}),
                         ("/admin/registry/workers/demo-worker", {"error": PHISH})):
        page = admin.get(path, **params)
        assert page.status_code == 200 and PHISH not in page.text, path
    assert "还没有草稿" in admin.get("/admin/rules", error="no_draft").text


def test_out_of_range_numbers_answer_404_not_500(admin):
    huge = "9" * 23
    for path, params in ((f"/admin/cases/{huge}", {}), ("/admin/registry/residents", {"page": huge}),
                         ("/admin/audit", {"page": huge}), ("/admin/cases", {"before": huge})):
        assert admin.get(path, **params).status_code in (400, 404), path
    assert admin.get("/admin/cases", date_from="0001-01-01").status_code == 200  # an unusable date is ignored
    assert admin.get("/admin/", start="0001-01-01", end="0001-01-02").status_code == 200
    assert admin.http.get("/admin/cases/export.csv", params={"date_from": "0001-01-01"}).status_code == 200


def test_console_bodies_are_limited_before_they_are_read(app_url, admin):
    form = AdminClient(app_url)
    big = {"username": "admin", "password": "x" * (300 * 1024), "csrf_token": "t"}
    assert form.http.post("/admin/login", data=big).status_code == 413

    def chunks():  # a well-formed 20 MB upload, sent without a declared length
        yield (f'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{admin.token}\r\n'
               '--x\r\nContent-Disposition: form-data; name="upload"; filename="big.xlsx"\r\n\r\n').encode()
        for _ in range(20):
            yield b"\0" * (1024 * 1024)
        yield b"\r\n--x--\r\n"

    try:
        upload = admin.http.post("/admin/registry/import", content=chunks(),
                                 headers={"Content-Type": "multipart/form-data; boundary=x"})
        status = upload.status_code
    except httpx.TransportError:  # the server may close the connection once it has answered
        status = 413
    assert status == 413, upload.text
    assert admin.get("/admin/").status_code == 200  # the app carries on


def test_secure_cookies_can_be_forced_behind_a_tls_proxy(app_settings, app_url):
    assert "secure" not in httpx.get(f"{app_url}/admin/login").headers["set-cookie"].lower()  # plain http
    settings = app_settings.model_copy(update={"secure_cookies": True, "run_background_jobs": False})
    with serve_in_thread(create_app(settings)) as url:
        cookie = httpx.get(f"{url}/admin/login").headers["set-cookie"]
    assert "secure" in cookie.lower() and "httponly" in cookie.lower()
