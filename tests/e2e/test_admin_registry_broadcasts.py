"""Registry edits and broadcasts from the console, over real HTTP against the fake WeCom."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.console.broadcasts import MAX_PER_HOUR
from models import AuditLog, Grid, OutboxMessage, Resident, Unit, Worker
from tests.e2e.admin_client import logged_in


@pytest.fixture(scope="module")
def admin(app_url):
    client = logged_in(app_url)
    yield client
    client.close()


def _demo_grid(db) -> Grid:
    with db() as session:
        resident = session.scalars(select(Resident).where(Resident.userid == "demo-resident")).one()
        return session.get(Unit, resident.unit_id).grid


def test_editing_a_worker_is_validated_and_audited(admin, db):
    form = {"name": "陈晓梅", "phone": "13912345678", "role": "fulltime", "on_duty": "1", "matters": "",
            "grids": _demo_grid(db).code}
    assert admin.post("/admin/registry/workers/demo-worker", {**form, "phone": "12345"}).headers[
        "location"].endswith("error=phone")
    answer = admin.post("/admin/registry/workers/demo-worker", form)
    assert answer.status_code == 303 and "done=demo-worker" in answer.headers["location"]
    with db() as session:
        assert session.scalars(select(Worker.phone).where(Worker.userid == "demo-worker")).one() == "13912345678"
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "registry_worker_edit")).one()
    assert audit.target == "demo-worker" and audit.detail["diff"]["phone"][1] == "13912345678"
    assert "13912345678" in admin.get("/admin/registry/workers", q="demo-worker").text


def test_unit_aliases_are_edited_and_listed(admin, db):
    with db() as session:
        unit = session.scalars(select(Unit).order_by(Unit.id)).first()
    answer = admin.post(f"/admin/registry/units/{unit.code}",
                        {"address": unit.address, "aliases": "喵星大院，喵星1号", "grid": ""})
    assert "done=" in answer.headers["location"]
    with db() as session:
        assert session.get(Unit, unit.id).aliases == ["喵星大院", "喵星1号"]
    assert "喵星大院" in admin.get("/admin/registry/units", q=unit.code).text


def test_a_broadcast_reaches_the_grids_residents_once_with_counts(admin, db, fake_wecom):
    grid = _demo_grid(db)
    answer = admin.post("/admin/broadcasts", {"title": "垃圾分类新规", "text": "12月1日起实行垃圾分类，详见社区公告。",
                                              "grid": grid.code})
    assert answer.status_code == 303 and "done=" in answer.headers["location"]
    broadcast_id = answer.headers["location"].split("done=")[1]
    with db() as session:
        residents = set(session.scalars(select(Resident.userid).join(Unit, Resident.unit_id == Unit.id)
                                        .where(Unit.grid_id == grid.id)))
        queued = session.scalars(select(OutboxMessage.recipient)
                                 .where(OutboxMessage.dedupe_key.startswith(f"bc{broadcast_id}:"))).all()
    assert sorted(queued) == sorted(residents) and "demo-resident" in residents
    received = fake_wecom.wait_for(lambda: [m for m in fake_wecom.messages_to("demo-resident") if "垃圾分类新规" in m])
    assert len(received) == 1
    fake_wecom.wait_for(lambda: [c for c in fake_wecom.calls("/cgi-bin/message/send")
                                 if "垃圾分类新规" in c["json"]["text"]["content"]], count=len(residents))
    page = admin.get("/admin/broadcasts").text
    assert f'<td class="num sent">{len(residents)}</td>' in page


def test_broadcasts_are_rate_limited(admin, db):
    grid = _demo_grid(db)
    answers = [admin.post("/admin/broadcasts", {"title": f"通知{i}", "text": "内容", "grid": grid.code})
               for i in range(MAX_PER_HOUR)]
    assert "error=rate_limited" in answers[-1].headers["location"]
    assert all("done=" in a.headers["location"] for a in answers[:-1])  # the first test's one counts too


def test_workbook_import_checks_every_row_then_writes(admin, db, tmp_path):
    from handlers.registry.workbook import write_workbook

    with db() as session:
        unit_code = session.scalars(select(Unit.code).order_by(Unit.id)).first()
    good, bad = tmp_path / "good.xlsx", tmp_path / "bad.xlsx"
    write_workbook(good, {"residents": [["console-import-1", "王小明", "13700000001", unit_code]]})
    write_workbook(bad, {"residents": [["console-import-2", "李四", "123", "NO-SUCH-UNIT"]]})

    refused = admin.post("/admin/registry/import", files={"upload": ("bad.xlsx", bad.read_bytes())})
    assert refused.status_code == 422 and "手机号码格式不正确" in refused.text and "单元编码不存在" in refused.text
    accepted = admin.post("/admin/registry/import", files={"upload": ("good.xlsx", good.read_bytes())})
    assert accepted.status_code == 200 and "导入完成" in accepted.text
    with db() as session:
        assert session.scalars(select(Resident.userid).where(Resident.userid.like("console-import-%"))).all() == [
            "console-import-1"]
        assert session.scalars(select(AuditLog).where(AuditLog.action == "registry_import")).one().detail["created"] == 1
