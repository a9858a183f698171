"""The console's cases over real HTTP: filters, keyset pages, exports, and actions through the lifecycle."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from handlers.cases.authority import area_chain
from handlers.console.accounts import create_user
from models import AreaLevel, AuditLog, Case, CaseEvent, PointsEntry, Resident, Unit, Worker, WorkerRole, utcnow
from tests.e2e.admin_client import logged_in

NOISE = "楼上装修电钻噪音从早到晚，吵得老人睡不着"
GARBAGE = "小区门口垃圾桶满了两天没人清理，臭气熏天"


def _number(reply: str) -> int:
    return int(re.search(r"GB-(\d{6})", reply).group(1))


@pytest.fixture(scope="module")
def admin(app_url):
    client = logged_in(app_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def cases(wecom) -> dict[str, int]:
    return {"noise": _number(wecom.send_text("demo-resident", NOISE)),
            "garbage": _number(wecom.send_text("demo-resident", GARBAGE))}


def _listed(page_text: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-case="(\d+)"', page_text)}


def test_filters_narrow_the_list(admin, cases, db):
    with db() as session:
        noise = session.get(Case, cases["noise"])
    by_category = _listed(admin.get("/admin/cases", category=noise.category).text)
    assert cases["noise"] in by_category and cases["garbage"] not in by_category
    by_text = _listed(admin.get("/admin/cases", q="电钻").text)
    assert by_text == {cases["noise"]}
    by_number = _listed(admin.get("/admin/cases", q=f"GB-{cases['garbage']:06d}").text)
    assert by_number == {cases["garbage"]}
    by_state = _listed(admin.get("/admin/cases", state="archived").text)
    assert not by_state & set(cases.values())
    assert _listed(admin.get("/admin/cases", worker="demo-worker").text) >= set(cases.values())


def test_a_case_page_explains_who_won_and_why(admin, cases):
    page = admin.get(f"/admin/cases/{cases['garbage']}").text
    box = re.search(r'id="case-explain">(.*?)</table>', page, re.S).group(1)
    assert re.search(r'class="decision">环境卫生<', box)
    assert re.search(r"(关键词|同时出现)“[^”]+”", re.search(r'<p class="reason">(.*?)</p>', box, re.S).group(1))


def test_keyset_pages_walk_every_case_once(admin, wecom, cases, db):
    for i in range(3):
        wecom.send_text("demo-resident", f"路灯坏了第{i + 1}盏，晚上很黑")
    with db() as session:
        every = set(session.scalars(select(Case.id)))
    seen, before = [], None
    while True:
        page = admin.get("/admin/cases", **({"before": before} if before else {}))
        seen += sorted(_listed(page.text), reverse=True)
        found = re.search(r'id="next-page" href="[^"]*before=(\d+)', page.text)
        if not found:
            break
        before = found.group(1)
    assert sorted(seen) == sorted(every) and len(seen) == len(set(seen))


def test_exports_hold_the_filtered_cases(admin, cases):
    answer = admin.http.get("/admin/cases/export.csv", params={"q": "电钻"})
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][0] == "编号" and [r[0] for r in rows[1:]] == [f"GB-{cases['noise']:06d}"]
    workbook = load_workbook(io.BytesIO(admin.http.get("/admin/cases/export.xlsx").content))
    numbers = {row[0] for row in workbook.active.iter_rows(min_row=2, values_only=True)}
    assert {f"GB-{n:06d}" for n in cases.values()} <= numbers


def test_a_note_is_added_through_the_lifecycle_and_audited(admin, cases, db):
    answer = admin.post(f"/admin/cases/{cases['garbage']}/action", {"action": "note", "note": "已电话联系物业"})
    assert answer.status_code == 303 and "done=note" in answer.headers["location"]
    with db() as session:
        event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == cases["garbage"])
                                .order_by(CaseEvent.id.desc())).first()
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "case_note")).one()
    assert (event.action, event.actor, event.note) == ("note", "admin:admin", "已电话联系物业")
    assert audit.target == f"GB-{cases['garbage']:06d}"
    page = admin.get(f"/admin/cases/{cases['garbage']}").text
    assert "已电话联系物业" in page
    assert '<span class="actor" title="admin:admin">admin（控制台）</span>' in page  # names, the id on hover


def test_the_timeline_names_people_and_the_transfer_starts_unselected(admin, cases, db):
    with db() as session:
        reporter = session.scalars(select(Resident).where(Resident.userid == "demo-resident")).one()
    page = admin.get(f"/admin/cases/{cases['noise']}").text
    assert f'<span class="actor" title="demo-resident">{reporter.name}</span>' in page
    assert '<option value="" selected disabled>请选择网格员</option>' in page


def test_assign_to_a_worker_on_leave_is_refused_and_changes_nothing(admin, cases, db):
    with db() as session:
        case = session.get(Case, cases["noise"])
        before = case.assignee_id
        away = next(w for w in case.grid.workers if w.id != before)
        away.on_duty = False
        session.commit()
        userid = away.userid
    try:
        answer = admin.post(f"/admin/cases/{cases['noise']}/action", {"action": "assign", "worker": userid})
        assert "error=on_leave" in answer.headers["location"]
        assert "正在请假" in admin.get(answer.headers["location"]).text
        with db() as session:
            assert session.get(Case, cases["noise"]).assignee_id == before
    finally:
        with db() as session:
            session.scalars(select(Worker).where(Worker.userid == userid)).one().on_duty = True
            session.commit()


def test_a_case_waiting_for_its_place_is_placed_from_the_console(admin, wecom, db, fake_wecom):
    number = _number(wecom.send_text("console-unplaced", "路边的路灯坏了好几天，晚上一片漆黑"))
    page = admin.get(f"/admin/cases/{number}").text
    assert 'id="form-place"' in page and 'id="form-assign"' not in page
    refused = admin.post(f"/admin/cases/{number}/action", {"action": "place", "note": "火星基地9栋"})
    assert "error=place_not_found" in refused.headers["location"]
    with db() as session:
        unit = session.scalars(select(Unit).order_by(Unit.id).limit(1)).one()
        address = unit.address
    answer = admin.post(f"/admin/cases/{number}/action", {"action": "place", "note": address})
    assert "done=place" in answer.headers["location"]
    with db() as session:
        case = session.get(Case, number)
        assert (case.state, case.unit_id, case.place_source) == ("pending", unit.id, "staff")
        assignee = case.assignee.userid
    assert fake_wecom.wait_for(lambda: [m for m in fake_wecom.messages_to("console-unplaced") if address in m])
    assert fake_wecom.wait_for(lambda: [m for m in fake_wecom.messages_to(assignee) if f"GB-{number:06d}" in m])


def test_placing_one_part_of_a_split_message_from_the_console_names_the_parts_placed_with_it(admin, wecom):
    """Two matters of one message, no place known: 定位 of one in the console places both (as in chat) and the page's
    notice names the other part's number. Before, it said only 已定位并派单, though the timelines showed both placed."""
    reply = wecom.send_text("console-split", "电梯间的灯不亮了，另外楼道里的垃圾满了好几天没人清")
    first, second = sorted({_number(n) for n in re.findall(r"GB-\d{6}", reply)})
    answer = admin.post(f"/admin/cases/{first}/action", {"action": "place", "note": "湖景苑3栋"})
    notice = re.search(r'id="action-done">(.*?)</div>', admin.get(answer.headers["location"]).text).group(1)
    assert "定位并派单" in notice and f"GB-{second:06d}" in notice, notice


def test_assign_notifies_the_new_worker(admin, cases, db, fake_wecom):
    with db() as session:
        case = session.get(Case, cases["noise"])
        other = next(w for w in case.grid.workers if w.userid != "demo-worker")
    answer = admin.post(f"/admin/cases/{cases['noise']}/action", {"action": "assign", "worker": other.userid})
    assert "done=assign" in answer.headers["location"]
    with db() as session:
        assert session.get(Case, cases["noise"]).assignee.userid == other.userid
    number = f"GB-{cases['noise']:06d}"
    assert fake_wecom.wait_for(lambda: [m for m in fake_wecom.messages_to(other.userid) if number in m])


def test_escalate_then_close(admin, cases, db):
    case_id = cases["garbage"]
    assert "done=escalate" in admin.post(f"/admin/cases/{case_id}/action",
                                         {"action": "escalate", "note": "三天未处理"}).headers["location"]
    with db() as session:
        case = session.get(Case, case_id)
        assert (case.state, case.level) == ("escalated", 1)
    assert "done=close" in admin.post(f"/admin/cases/{case_id}/action",
                                      {"action": "close", "note": "已清运"}).headers["location"]
    with db() as session:
        case = session.get(Case, case_id)
        assert case.state == "closed" and case.closed_at is not None
        credited = session.scalars(select(PointsEntry.userid).where(PointsEntry.case_id == case_id)).all()
    assert not [userid for userid in credited if userid.startswith("admin:")]  # the console earns no points


def test_an_illegal_action_changes_nothing(admin, cases, db):
    case_id = cases["garbage"]  # closed by the previous test
    answer = admin.post(f"/admin/cases/{case_id}/action", {"action": "escalate", "note": "x"})
    assert "error=illegal" in answer.headers["location"]
    with db() as session:
        assert session.get(Case, case_id).state == "closed"


def test_street_staff_cannot_assign_outside_their_street(app_url, wecom, db):
    number = _number(wecom.send_text("demo-resident", "小区东门那盏路灯坏了一个星期，晚上走路黑乎乎的"))
    with db.begin() as session:
        case = session.get(Case, number)
        street = next(area for area in area_chain(case.grid.area) if area.level == AreaLevel.STREET)
        outsider = next(w for w in session.scalars(select(Worker).where(Worker.role == WorkerRole.FULLTIME))
                        if w.grids and street not in area_chain(w.grids[0].area))
        insider = next(w for w in case.grid.workers if w.id != case.assignee_id)
        create_user(session, actor="test", username="street-staff", password="password-123", role="staff",
                    area_id=street.id, now=utcnow())
        assignee_before = case.assignee_id
    staff = logged_in(app_url, "street-staff", "password-123")
    try:
        refused = staff.post(f"/admin/cases/{number}/action", {"action": "assign", "worker": outsider.userid})
        assert "error=scope" in refused.headers["location"]
        with db() as session:
            assert session.get(Case, number).assignee_id == assignee_before
        done = staff.post(f"/admin/cases/{number}/action", {"action": "assign", "worker": insider.userid})
        assert "done=assign" in done.headers["location"]
        with db() as session:
            assert session.get(Case, number).assignee_id == insider.id
    finally:
        staff.close()
