"""Scope everywhere (issue 13): registry pages, masked phones for read-only accounts, what-if, the
broadcast history and worker filter, and assignment or merging across grids (console and chat)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.console.accounts import create_user
from models import Area, Broadcast, Case, Grid, Resident, Unit, Worker, WorkerRole, utcnow
from tests.e2e.admin_client import logged_in
from tests.e2e.worker_chat import GARBAGE, digits, report

PHONE = "13812345678"


@pytest.fixture(scope="module")
def layout(db) -> dict:
    """demo-worker's grid ("home") and another community's grid ("away"), each with a bound resident."""
    with db.begin() as session:
        home = session.scalars(select(Worker).where(Worker.userid == "demo-worker")).one().grids[0]
        away = session.scalars(select(Grid).where(Grid.area_id != home.area_id).order_by(Grid.code)).first()
        units = {grid.code: session.scalars(select(Unit).where(Unit.grid_id == grid.id)).first() for grid in (home, away)}
        session.add_all([Resident(userid="scope-home", unit_id=units[home.code].id, phone=PHONE),
                         Resident(userid="scope-away", unit_id=units[away.code].id, phone="13900001111")])
        away_worker = next(w for w in away.workers if w.role == WorkerRole.FULLTIME)
        community = session.get(Area, home.area_id).code
        for name, role in (("scope-staff", "staff"), ("scope-viewer", "readonly"), ("scope-admin", "admin")):
            create_user(session, actor="test", username=name, password="password-123", role=role,
                        area_id=home.area_id, now=utcnow())
        return {"home": home.code, "away": away.code, "away_worker": away_worker.userid,
                "away_worker_name": away_worker.name, "community": community}


@pytest.fixture(scope="module")
def staff(app_url, layout):
    return logged_in(app_url, "scope-staff", "password-123")


@pytest.fixture(scope="module")
def viewer(app_url, layout):
    return logged_in(app_url, "scope-viewer", "password-123")


def test_registry_lists_and_pages_stop_at_the_scope(staff, layout):
    residents = staff.get("/admin/registry/residents").text
    assert "scope-home" in residents and "scope-away" not in residents
    workers = staff.get("/admin/registry/workers").text
    assert "demo-worker" in workers and layout["away_worker"] not in workers
    assert staff.get("/admin/registry/residents/scope-home").status_code == 200
    assert staff.get("/admin/registry/residents/scope-away").status_code == 404
    assert staff.get(f"/admin/registry/workers/{layout['away_worker']}").status_code == 404
    assert staff.get(f"/admin/registry/grids/{layout['away']}").status_code == 404


def test_read_only_accounts_see_phone_numbers_masked(staff, viewer):
    assert PHONE in staff.get("/admin/registry/residents").text
    for page in (viewer.get("/admin/registry/residents").text, viewer.get("/admin/registry/residents/scope-home").text):
        assert PHONE not in page and "138****5678" in page


def test_what_if_is_for_rule_editors_only(viewer, staff):
    assert viewer.post("/admin/rules/whatif", {"limit": "5000"}).status_code == 403
    assert staff.post("/admin/rules/whatif", {"limit": "5000"}).status_code == 403


def test_broadcast_history_and_the_worker_filter_are_scoped(app_url, staff, db, layout):
    with db.begin() as session:
        session.add(Broadcast(author="admin", title="远方的通知", text="只发给别的社区", grid_codes=[layout["away"]],
                              recipients=1, created_at=utcnow()))
    assert "远方的通知" in logged_in(app_url).get("/admin/broadcasts").text
    page = staff.get("/admin/broadcasts").text
    assert "远方的通知" not in page and f'value="{layout["away"]}"' not in page
    filters = staff.get("/admin/cases").text
    assert 'value="demo-worker"' in filters and f'value="{layout["away_worker"]}"' not in filters


def test_console_assignment_outside_the_cases_grid_is_refused(staff, wecom, db, layout):
    case_id = int(digits(report(wecom, GARBAGE, "scope-home")))
    answer = staff.post(f"/admin/cases/{case_id}/action", {"action": "assign", "worker": layout["away_worker"]})
    assert "error=scope" in answer.headers["location"]
    with db() as session:
        assignee = session.get(Case, case_id).assignee
        assert assignee is None or assignee.userid != layout["away_worker"]
    assert "管辖范围" in staff.get(f"/admin/cases/{case_id}", error="scope").text


def test_chat_reassign_outside_the_cases_grid_is_refused(wecom, db, layout):
    case_id = digits(report(wecom, "阳光小区路灯坏了，晚上很黑，麻烦修一下", "scope-home"))
    reply = wecom.send_text("demo-leader", f"转派 {case_id} {layout['away_worker']}")
    assert "不在您负责的范围" in reply and f"GB-{int(case_id):06d}" in reply
    with db() as session:
        assignee = session.get(Case, int(case_id)).assignee
        assert assignee is None or assignee.userid != layout["away_worker"]


def test_merge_into_another_grids_case_is_refused(wecom, db, layout):
    mine = digits(report(wecom, "楼道里堆满了纸箱，有火灾隐患", "scope-home"))
    theirs = digits(report(wecom, "楼道里堆满了纸箱，有火灾隐患", "scope-away"))
    reply = wecom.send_text("demo-leader", f"合并 {mine} {theirs}")
    assert "不能合并" in reply
    with db() as session:
        case = session.get(Case, int(mine))
        assert case.duplicate_of_id is None and case.state != "merged"
