"""Corrections teach: every 改类 in chat or the console is stored as a labelled example, listed and exported."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from models import Correction, RuleSetVersion, Worker
from tests.e2e.admin_client import logged_in
from tests.e2e.worker_chat import digits, queued, report, show

# Our own sentences (not from any test or held-out file).
BINS = "二号楼后面那排分类垃圾箱已经溢出来了，苍蝇乱飞"
STALL = "东门外有人摆摊卖水果，把人行道占了一半"


@pytest.fixture(scope="module")
def admin(app_url):
    client = logged_in(app_url)
    yield client
    client.close()


def _corrections(db, case_id: int) -> list[Correction]:
    with db() as session:
        return list(session.scalars(select(Correction).where(Correction.case_id == case_id).order_by(Correction.id)))


def test_recategorize_in_chat_stores_a_correction_with_who_and_when(wecom, db, database_url):
    number = report(wecom, BINS)
    before = show(number, database_url)
    assert "类别已改为“市容秩序”" in wecom.send_text("demo-worker", f"改类 {digits(number)} 市容秩序")
    [row] = _corrections(db, int(digits(number)))
    assert (row.text, row.label, row.previous) == (before["text"], "市容秩序", before["category"])
    assert "苍蝇乱飞" in row.text
    assert (row.source, row.actor) == ("recategorize", "demo-worker")
    assert row.created_at is not None


def test_recategorize_in_the_console_stores_a_correction_listed_and_exported(admin, wecom, db, database_url):
    number = report(wecom, STALL)
    case_id = int(digits(number))
    assert 'id="form-recategorize"' in admin.get(f"/admin/cases/{case_id}").text
    answer = admin.post(f"/admin/cases/{case_id}/action", {"action": "recategorize", "category": "环境卫生"})
    assert "done=recategorize" in answer.headers["location"], answer.headers["location"]
    case = show(number, database_url)
    assert case["category"] == "环境卫生"
    [row] = _corrections(db, case_id)
    assert (row.label, row.source, row.actor) == ("环境卫生", "console", "admin:admin")

    page = admin.get("/admin/corrections").text
    assert case["text"] in page and "后台改类" in page
    exported = list(csv.DictReader(io.StringIO(admin.get("/admin/corrections.csv").text)))
    assert {"text": case["text"], "label": "环境卫生"} in exported


def test_the_console_refuses_a_category_that_is_not_a_grid_matter(admin, wecom, db):
    case_id = int(digits(report(wecom, "五号楼楼下的路灯坏了三天了，晚上走路黑乎乎的")))
    answer = admin.post(f"/admin/cases/{case_id}/action", {"action": "recategorize", "category": "税务"})
    assert "error=category" in answer.headers["location"]
    assert _corrections(db, case_id) == []


def test_corrections_join_the_draft_so_that_what_if_shows_what_retraining_would_change(admin, db):
    with db() as session:
        taught = {(row.text, row.label) for row in session.scalars(select(Correction))}
    assert taught
    answer = admin.post("/admin/corrections/to-draft")
    assert "done=examples" in answer.headers["location"], answer.headers["location"]
    with db() as session:
        draft = session.scalars(select(RuleSetVersion).where(RuleSetVersion.status == "draft")).one()
        in_draft = {(e["text"], e["label"]) for e in draft.data["examples"] if e.get("source") == "corrections"}
    assert taught <= in_draft
    page = admin.post("/admin/rules/whatif", {"limit": "20", "with_corrections": "true"}).text
    before = float(re.search(r'id="acc-before">([\d.]+)%', page).group(1))
    after = float(re.search(r'id="acc-after">([\d.]+)%', page).group(1))
    assert after >= before  # the draft's model was retrained on them
    assert "done=no_examples" in admin.post("/admin/corrections/to-draft").headers["location"]  # nothing twice


def test_a_console_recategorize_that_moves_the_case_tells_the_resident_once(admin, wecom, db, database_url):
    """改类 from the console to 环境卫生 at 湖景苑 moves the case from yg-worker-3 to yg-clean-1: the resident read
    two notices (类别已调整…由<the first worker>办理, then 已转由<the new one>办理); one now, naming the new worker."""
    assert "绑定" in wecom.send_text("corr-moved", "绑定 湖景苑3栋")
    number = report(wecom, "三栋楼下那盏路灯坏了好几天，晚上黑漆漆的", "corr-moved")
    first = show(number, database_url)["assignee"]
    answer = admin.post(f"/admin/cases/{digits(number)}/action", {"action": "recategorize", "category": "环境卫生"})
    assert "done=recategorize" in answer.headers["location"], answer.headers["location"]
    case = show(number, database_url)
    assert case["assignee"] != first, (first, case)
    with db() as session:
        name = session.scalars(select(Worker.name).where(Worker.userid == case["assignee"])).one()
    [notice] = queued(db, "corr-moved", number)
    assert "环境卫生" in notice and name in notice, notice
