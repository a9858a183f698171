"""Console access over real HTTP: login, lockout, CSRF, logout, roles and area scope."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.admin.common.throttle import LIMIT
from bot.app import create_app
from handlers.console.accounts import MAX_FAILURES, create_user
from models import AdminUser, Area, AuditLog, Case, Grid, utcnow
from tests.e2e.admin_client import AdminClient, logged_in
from tests.servers import serve_in_thread


@pytest.fixture(scope="module")
def admin(app_url):
    client = logged_in(app_url)
    yield client
    client.close()


def _make_user(db, username: str, role: str, area_code: str | None = None) -> None:
    with db.begin() as session:
        area_id = session.scalar(select(Area.id).where(Area.code == area_code)) if area_code else None
        create_user(session, actor="test", username=username, password="password-123", role=role,
                    area_id=area_id, now=utcnow())


def test_every_console_page_needs_a_login(app_url):
    client = AdminClient(app_url)
    for path in ("/admin/", "/admin/cases", "/admin/rules", "/admin/registry/grids", "/admin/audit"):
        answer = client.http.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login"), path


def test_demo_login_page_never_shows_a_password_the_operator_set(app_url):
    page = AdminClient(app_url).get("/admin/login")
    assert page.status_code == 200 and "e2e-admin-pass" not in page.text and "demo-hint" not in page.text


def test_first_admin_logs_in_with_the_configured_password(admin, db):
    page = admin.get("/admin/")
    assert page.status_code == 200 and "一图统揽" in page.text
    with db() as session:
        stored = session.scalars(select(AdminUser).where(AdminUser.username == "admin")).one()
    assert stored.password_hash.startswith("$argon2id$") and "e2e-admin-pass" not in stored.password_hash


def test_wrong_password_is_refused_and_audited(app_url, db):
    answer = AdminClient(app_url).login("admin", "not-the-password")
    assert answer.status_code == 401 and "账号或密码错误" in answer.text
    with db() as session:
        assert session.scalars(select(AuditLog).where(AuditLog.action == "login_failed")).first() is not None


def test_failures_from_several_clients_lock_the_account_even_for_the_right_password(app_url, db):
    _make_user(db, "lockme", "readonly")
    clients = [AdminClient(app_url, f"10.9.0.{i}") for i in range(MAX_FAILURES // LIMIT)]
    answers = [client.login("lockme", "wrong-password") for client in clients for _ in range(LIMIT)]
    assert {a.status_code for a in answers} == {401}
    locked = AdminClient(app_url, "10.9.1.1").login("lockme", "password-123")
    assert locked.status_code == 401 and "账号或密码错误" in locked.text  # said exactly as a wrong password
    with db.begin() as session:  # the lock expires
        user = session.scalars(select(AdminUser).where(AdminUser.username == "lockme")).one()
        assert user.locked_until is not None
        user.locked_until = utcnow() - timedelta(seconds=1)
    assert AdminClient(app_url, "10.9.1.2").login("lockme", "password-123").status_code == 303


def test_a_form_without_the_csrf_token_is_rejected(admin, app_url, db):
    before = admin.get("/admin/rules")
    forged = admin.post("/admin/rules/publish", {"note": "x"}, csrf="forged-token")
    assert forged.status_code == 403 and "安全令牌" in forged.text
    missing = admin.http.post("/admin/broadcasts", data={"title": "t", "text": "x", "grid": "G"})
    assert missing.status_code == 403
    login_without_token = AdminClient(app_url).http.post("/admin/login", data={"username": "admin",
                                                                               "password": "e2e-admin-pass"})
    assert login_without_token.status_code == 403
    assert before.status_code == 200


def test_logout_ends_the_session_for_a_copied_cookie(app_url):
    client = logged_in(app_url)
    cookie = client.http.cookies.get("gridbot_admin")
    assert client.post("/admin/logout").status_code == 303
    thief = AdminClient(app_url)
    thief.http.cookies.set("gridbot_admin", cookie, domain="127.0.0.1", path="/admin")
    assert thief.http.get("/admin/").status_code == 303


def test_read_only_accounts_cannot_change_anything(app_url, db):
    _make_user(db, "viewer", "readonly")
    viewer = logged_in(app_url, "viewer", "password-123")
    assert viewer.get("/admin/cases").status_code == 200
    assert viewer.post("/admin/rules/publish", {"note": "x"}).status_code == 403
    assert viewer.post("/admin/broadcasts", {"title": "t", "text": "x"}).status_code == 403
    assert viewer.get("/admin/users").status_code == 403


def test_staff_see_only_the_cases_of_their_area(app_url, wecom, db):
    reply = wecom.send_text("demo-resident", "楼下垃圾堆了三天没人清运，味道很大")
    number = int(re.search(r"GB-(\d{6})", reply).group(1))
    with db() as session:
        case = session.get(Case, number)
        home = session.get(Grid, case.grid_id).area
        elsewhere = session.scalars(select(Area).where(Area.level == "community", Area.id != home.id)).first()
    _make_user(db, "staff-home", "staff", home.code)
    _make_user(db, "staff-away", "staff", elsewhere.code)
    home_staff = logged_in(app_url, "staff-home", "password-123")
    away_staff = logged_in(app_url, "staff-away", "password-123")

    assert home_staff.get(f"/admin/cases/{number}").status_code == 200
    assert f'data-case="{number}"' in home_staff.get("/admin/cases").text
    assert away_staff.get(f"/admin/cases/{number}").status_code == 403
    assert f'data-case="{number}"' not in away_staff.get("/admin/cases").text


def test_without_an_admin_password_the_console_is_disabled(app_settings):
    settings = app_settings.model_copy(update={"admin_password": None, "demo": False, "run_background_jobs": False})
    with serve_in_thread(create_app(settings)) as url:
        client = AdminClient(url)
        page = client.get("/admin/login")
        assert "GRIDBOT_ADMIN_PASSWORD" in page.text and 'id="password"' not in page.text
        assert client.login("admin", "e2e-admin-pass").status_code in (403, 503)
        assert client.http.get("/admin/").status_code == 303  # still not logged in
