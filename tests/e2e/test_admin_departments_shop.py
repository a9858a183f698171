"""The console's 吹哨报到 and 积分超市 pages over real HTTP: per-department figures follow what liaisons
did in chat; a department registered in the console can be whistled at once; items and 核销 at the counter."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import AuditLog, PointsEntry
from tests.cli import cli_json
from tests.e2e.admin_client import logged_in
from tests.e2e.worker_chat import taken

OCCUPY = "阳光小区门口有人占道摆摊卖菜，堵得车都过不去"


@pytest.fixture(scope="module")
def admin(app_url):
    client = logged_in(app_url)
    yield client
    client.close()


def _row(html: str, code: str) -> str:
    match = re.search(rf'<tr data-department="{code}">(.*?)</tr>', html, re.S)
    assert match, html
    return match.group(1)


def _cell(row: str, klass: str) -> str:
    return re.search(rf'class="num {klass}">([^<]*)<', row).group(1).strip()


def test_department_figures_follow_the_liaisons(admin, wecom):
    for action in ("办结 {n} 已清理", "退回 {n} 不归我们管"):
        _, n = taken(wecom, OCCUPY)
        wecom.send_text("demo-worker", f"吹哨 {n} 城管 占道")
        assert "已报到" in wecom.send_text("dept-cg-1", f"报到 {n}")
        wecom.send_text("dept-cg-1", action.format(n=n))
    row = _row(admin.get("/admin/departments").text, "CGZF")
    assert (_cell(row, "whistles"), _cell(row, "report-rate"), _cell(row, "close-rate"), _cell(row, "returns")) \
        == ("2", "100.0%", "50.0%", "1")
    assert _cell(row, "mean-report").endswith("分钟")
    assert _cell(_row(admin.get("/admin/departments").text, "ZJ"), "report-rate") == "—"


def test_a_department_registered_in_the_console_is_whistled_at_once(admin, wecom, db, database_url):
    answer = admin.post("/admin/departments", {"code": "GAPCS", "name": "公安派出所", "report_hours": "1",
                                               "liaisons": "dept-ga-1 罗警官\ndept-ga-2"})
    assert answer.status_code == 303 and "done=GAPCS" in answer.headers["location"]
    assert "error=bad_hours" in admin.post("/admin/departments", {"code": "X", "name": "X", "report_hours": "-1"}
                                           ).headers["location"]
    listed = {d["code"]: d for d in cli_json(["departments", "--json"], database_url)}
    assert listed["GAPCS"] == {"code": "GAPCS", "name": "公安派出所", "liaisons": ["dept-ga-1", "dept-ga-2"]}
    _, n = taken(wecom, OCCUPY)
    assert "公安派出所" in wecom.send_text("demo-worker", f"吹哨 {n} 公安派出所 有人滋事")
    assert "已报到" in wecom.send_text("dept-ga-2", f"报到 {n}")
    with db() as session:
        assert session.scalars(select(AuditLog.target).where(AuditLog.action == "department.save")).all() == ["GAPCS"]


def test_items_are_edited_and_a_pickup_code_is_handed_over_once_at_the_counter(admin, wecom, db):
    assert "done=" in admin.post("/admin/shop/items", {"name": "雨伞", "points": "3", "stock": "2", "active": "1"}
                                 ).headers["location"]
    assert "error=numbers" in admin.post("/admin/shop/items", {"name": "雨伞", "points": "0", "stock": "2"}
                                         ).headers["location"]
    with db.begin() as session:
        session.add(PointsEntry(userid="resident-006", delta=5, reason="test_grant"))
    assert "雨伞 3分" in wecom.send_text("resident-006", "积分")
    code = re.search(r"取货码 ([A-Z0-9]{6})", wecom.send_text("resident-006", "兑换 雨伞")).group(1)
    page = admin.get("/admin/shop").text
    assert code in page and re.search(r'data-item="雨伞">.*?class="num stock">1<', page, re.S)
    answered = admin.get(admin.post("/admin/shop/handover", {"code": code}).headers["location"]).text
    assert "已核销" in answered and "雨伞" in answered
    again = admin.get(admin.post("/admin/shop/handover", {"code": code}).headers["location"]).text
    assert "核销过" in again
