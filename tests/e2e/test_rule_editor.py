"""The rule editor without YAML, over real HTTP: a rule saved through the form lands in the draft's YAML and
changes what-if; a wrong form comes back with its message (never a 500); the test box shows what an unsaved
rule would match among the messages residents sent."""

from __future__ import annotations

import re
from html import unescape

import pytest
import yaml
from sqlalchemy import select

from handlers.console.accounts import create_user
from models import RuleSetStatus, RuleSetVersion, utcnow
from tests.e2e.admin_client import AdminClient, logged_in

CATEGORY = "环境卫生"
WORD = "嘀嗒怪"  # a made-up word no shipped rule knows
REPORT = f"小区花坛边上天天有{WORD}乱窜"
FORM = f"/admin/rules/category/{CATEGORY}/rules"


@pytest.fixture(scope="module")
def admin(app_url):
    client = logged_in(app_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def reported(wecom) -> str:
    """One resident message carrying WORD, stored before any rule knows it."""
    return wecom.send_text("demo-resident", REPORT)


def _rule(**fields) -> dict:
    return {"kind": "keywords", "terms": WORD, "weight": "3", "rule_id": "e2e-tick", "index": "", **fields}


def _draft(db) -> RuleSetVersion | None:
    with db() as session:
        return session.scalars(select(RuleSetVersion).where(RuleSetVersion.status == RuleSetStatus.DRAFT)).first()


def _draft_rules(admin) -> list[dict]:
    page = admin.get(f"/admin/rules/category/{CATEGORY}/yaml").text
    return yaml.safe_load(unescape(re.search(r'id="rules-yaml"[^>]*>(.*?)</textarea>', page, re.S).group(1)))


def _field_error(page: str, field: str) -> str:
    return unescape(re.search(rf'id="error-{field}">(.*?)</span>', page).group(1))


def test_wrong_fields_come_back_with_their_messages_and_nothing_is_saved(admin, db):
    answer = admin.post(FORM, _rule(terms="！！，、", weight="很重", threshold="85", rule_id="env-fuzzy"))
    assert answer.status_code == 422
    page = answer.text
    assert "去掉标点和空格后什么也不剩" in _field_error(page, "terms")
    assert "权重须是 0 到 10 之间的数" in _field_error(page, "weight")
    assert "已被“环境卫生”的规则使用" in _field_error(page, "rule_id")  # a shipped rule's id
    assert 'value="很重"' in page  # the form comes back as typed
    assert _draft(db) is None


def test_co_occurrence_needs_two_groups_and_fuzzy_a_threshold_in_range(admin):
    lonely = admin.post(FORM, _rule(kind="all", terms="", groups=["垃圾、垃圾桶", ""]))
    assert lonely.status_code == 422 and "至少要填两组" in _field_error(lonely.text, "groups")
    fuzzy = admin.post(FORM, _rule(kind="fuzzy", terms="垃圾堆在路口", threshold="120"))
    assert fuzzy.status_code == 422 and "1 到 100" in _field_error(fuzzy.text, "threshold")


def test_nonsense_positions_and_an_empty_form_are_answered_without_a_500(admin):
    assert admin.post(FORM, {"index": "abc", "original_id": "x"}).status_code == 404
    assert admin.post(FORM, {"index": "²", "original_id": "x"}).status_code == 404  # a digit int() refuses
    assert admin.post("/admin/rules/category/没有这个类别/rules", _rule()).status_code == 404
    assert admin.get(f"{FORM}/9999").status_code == 404
    empty = admin.post(FORM, {})
    assert empty.status_code == 422 and "请至少填写一个词" in empty.text


def test_the_test_box_shows_what_an_unsaved_rule_matches(admin, db, reported):
    answer = admin.post(FORM, _rule(action="test", sample=f"门口也有{WORD}"))
    assert answer.status_code == 200
    page = answer.text
    count = re.search(r'id="trial-count">(.*?)</p>', page, re.S).group(1)
    assert re.search(r"命中 <b>1</b> 条", count)
    hits = re.search(r'id="trial-hits">(.*?)</table>', page, re.S).group(1)
    assert REPORT in hits and WORD in hits and CATEGORY in hits  # the draft with this rule would file it here
    assert WORD in re.search(r'id="trial-sample">(.*?)</p>', page, re.S).group(1)
    assert _draft(db) is None  # trying saves nothing


def test_a_rule_saved_through_the_form_is_in_the_drafts_yaml_and_changes_whatif(admin, db, reported):
    answer = admin.post(FORM, _rule(terms=f"{WORD}，{WORD}精", note="演示用"))
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=saved")
    saved = [rule for rule in _draft_rules(admin) if rule.get("id") == "e2e-tick"]
    assert saved == [{"id": "e2e-tick", "keywords": [WORD, f"{WORD}精"], "weight": 3.0, "note": "演示用"}]
    assert 'data-rule="e2e-tick"' in admin.get(f"/admin/rules/category/{CATEGORY}").text

    page = admin.post("/admin/rules/whatif", {"limit": "50"}).text
    changed = re.search(r'id="message-changes">(.*?)</table>', page, re.S).group(1)
    assert REPORT in changed and CATEGORY in changed


def _position(admin, rule_id: str) -> int:
    page = admin.get(f"/admin/rules/category/{CATEGORY}").text
    rows = re.findall(r'<tr class="rule" data-rule="([^"]+)"', page)
    return rows.index(rule_id)


def test_editing_keeps_the_position_and_a_stale_form_is_refused(admin):
    index = _position(admin, "e2e-tick")
    form = admin.get(f"{FORM}/{index}").text
    assert 'value="e2e-tick"' in form and f"{WORD}、{WORD}精" in form
    edited = admin.post(FORM, _rule(kind="all", terms="", groups=[f"{WORD}、{WORD}精", "乱窜、出没"],
                                    index=str(index), original_id="e2e-tick"))
    assert edited.status_code == 303
    assert _draft_rules(admin)[index] == {"id": "e2e-tick", "all": [f"{WORD}|{WORD}精", "乱窜|出没"], "weight": 3.0}

    stale = admin.post(FORM, _rule(index=str(index), original_id="someone-elses-rule"))
    assert stale.status_code == 404 and "已被修改或删除" in stale.text


def test_deleting_a_rule_removes_it_from_the_draft(admin):
    index = _position(admin, "e2e-tick")
    answer = admin.post(f"{FORM}/{index}/delete", {"original_id": "e2e-tick"})
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=deleted")
    assert "e2e-tick" not in {rule.get("id") for rule in _draft_rules(admin)}


@pytest.fixture(scope="module")
def reader(app_url, db):
    """A read-only console account: sees the rule pages, may change nothing."""
    with db.begin() as session:
        create_user(session, actor="test", username="rules-reader", password="password-123", role="readonly",
                    area_id=None, now=utcnow())
    client = AdminClient(app_url)
    assert client.login("rules-reader", "password-123").status_code == 303
    yield client
    client.close()


def test_only_rule_editors_may_save_or_try_rules(reader):
    page = reader.get(f"{FORM}/0").text
    assert 'id="save-rule"' not in page and 'id="try-rule"' not in page
    assert reader.post(FORM, _rule(action="test")).status_code == 403
    assert reader.post(FORM, _rule()).status_code == 403


SETTINGS = f"/admin/rules/category/{CATEGORY}/settings"


def _settings_form(admin) -> dict:
    """The category page's settings form as it was opened: its boxes and the state it was opened on."""
    page = admin.get(f"/admin/rules/category/{CATEGORY}").text
    form = re.search(r'<form[^>]*id="form-settings".*?</form>', page, re.S).group(0)
    return {name: unescape(value) for name, value in re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', form)
            if name != "csrf_token"}


def _draft_entry(admin) -> dict:
    page = admin.get(f"/admin/rules/category/{CATEGORY}/yaml").text
    return yaml.safe_load(unescape(re.search(r'id="entry-yaml"[^>]*>(.*?)</textarea>', page, re.S).group(1)))


def test_a_categorys_clock_and_priority_saved_through_the_form_are_in_the_drafts_catalogue(admin):
    opened = _settings_form(admin)
    assert opened["take"] == opened["plan"] == opened["close"] == "" and opened["priority"] == "3"  # the 117 default
    rules_before = _draft_rules(admin)
    answer = admin.post(SETTINGS, {**opened, "take": "30分钟", "plan": "12小时", "close": "５天", "priority": "6"})
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=settings")
    entry = _draft_entry(admin)
    assert entry["clock"] == {"take": "30m", "plan": "12h", "close": "5d"} and entry["priority"] == 6
    assert entry["description"].startswith("垃圾清运")  # the rest of the entry kept
    assert _draft_rules(admin) == rules_before
    assert {key: _settings_form(admin)[key] for key in ("take", "plan", "close", "priority")} == {
        "take": "30m", "plan": "12h", "close": "5d", "priority": "6"}


def test_wrong_settings_come_back_with_their_messages_and_nothing_is_saved(admin):
    opened, before = _settings_form(admin), _draft_entry(admin)
    wrong = admin.post(SETTINGS, {**opened, "take": "很快", "plan": "0小时", "close": "9" * 40 + "天",
                                  "priority": "一百"})
    assert wrong.status_code == 422
    assert "如 30分钟、2小时、3天" in _field_error(wrong.text, "take")
    assert "须大于 0" in _field_error(wrong.text, "plan")
    assert "如 30分钟、2小时、3天" in _field_error(wrong.text, "close")
    assert "0 到 99 之间的整数" in _field_error(wrong.text, "category_priority")
    assert 'value="很快"' in wrong.text  # the form comes back as typed
    backwards = admin.post(SETTINGS, {**opened, "take": "3天", "plan": "", "close": ""})  # plan's default is 1 day
    assert backwards.status_code == 422 and "接单 ≤ 提出方案 ≤ 办结" in _field_error(backwards.text, "plan")
    assert _draft_entry(admin) == before


def test_a_settings_form_opened_before_another_change_is_refused(admin):
    opened = _settings_form(admin)
    assert admin.post(SETTINGS, {**opened, "priority": "7"}).status_code == 303
    stale = admin.post(SETTINGS, {**opened, "priority": "8"})
    assert stale.status_code == 409 and "刚被修改过" in stale.text
    assert _settings_form(admin)["priority"] == "7"  # the page shows the latest settings
    assert _draft_entry(admin)["priority"] == 7
    assert admin.post(SETTINGS, {}).status_code == 409  # no state named at all: never a 500
    assert admin.post("/admin/rules/category/没有这个类别/settings", opened).status_code == 404


def test_only_rule_editors_may_change_a_categorys_settings(reader, admin):
    page = reader.get(f"/admin/rules/category/{CATEGORY}").text
    assert 'id="form-settings"' in page and 'id="save-settings"' not in page
    assert reader.post(SETTINGS, {**_settings_form(admin), "priority": "9"}).status_code == 403
    assert _draft_entry(admin)["priority"] != 9
