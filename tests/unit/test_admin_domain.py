"""The console's domain code on a real database: accounts, scope, rule-set versions, the live classifier source."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.admin.common.charts import daily_lines, hbars
from config.settings import SHIPPED_CONFIG_DIR
from handlers.console import accounts, rulesets
from models import AdminUser, Area, AreaLevel, AuditLog, Grid, utcnow
from tests.demo_db import demo_factory  # noqa: F401 - the module's demo database

WORD = "喵喵怪兽"


def _login(factory, username: str, password: str, *, first: str | None = "x", now=None):
    """accounts.login in a session of its own, committing what it recorded (as the route does)."""
    with factory() as session:
        try:
            return accounts.login(session, username, password, first_admin_password=first, now=now or utcnow())
        finally:
            session.commit()


def test_changing_the_admin_password_setting_rehashes_and_ends_old_sessions(demo_factory):
    epoch = _login(demo_factory, "admin", "first-password", first="first-password").session_epoch
    with pytest.raises(accounts.LoginError):
        _login(demo_factory, "admin", "first-password", first="second-password")
    user = _login(demo_factory, "admin", "second-password", first="second-password")
    assert user.session_epoch == epoch + 1 and accounts.verify_password(user.password_hash, "second-password")


def test_no_configured_password_disables_every_login(demo_factory):
    with pytest.raises(accounts.LoginError) as refused:
        _login(demo_factory, "admin", "anything", first=None)
    assert refused.value.reason == "disabled"


def _create(factory, username: str, now) -> None:
    with factory.begin() as session:
        accounts.create_user(session, actor="t", username=username, password="password-1", role="readonly",
                             area_id=None, now=now)


def test_lockout_lasts_its_time_then_lifts(demo_factory):
    now = utcnow()
    _create(demo_factory, "locky", now)
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(accounts.LoginError):
            _login(demo_factory, "locky", "nope", now=now)
    with pytest.raises(accounts.LoginError) as locked:
        _login(demo_factory, "locky", "password-1", now=now + timedelta(minutes=14))
    assert locked.value.reason == "invalid"  # the same answer as a wrong password: no lock is revealed
    with demo_factory() as session:
        assert session.scalars(select(AdminUser.locked_until).where(AdminUser.username == "locky")).one() is not None
    assert _login(demo_factory, "locky", "password-1", now=now + accounts.LOCKOUT + timedelta(seconds=1)).username \
        == "locky"


def test_failures_spread_wider_than_the_lockout_window_never_lock(demo_factory):
    now = utcnow()
    _create(demo_factory, "slowfail", now)
    for i in range(accounts.MAX_FAILURES + 2):
        with pytest.raises(accounts.LoginError):
            _login(demo_factory, "slowfail", "nope", now=now + i * (accounts.LOCKOUT + timedelta(seconds=1)))
    with demo_factory() as session:
        assert session.scalars(select(AdminUser).where(AdminUser.username == "slowfail")).one().locked_until is None


def test_unlock_lifts_a_lockout_and_is_audited(demo_factory):
    now = utcnow()
    _create(demo_factory, "unlockme", now)
    with demo_factory.begin() as session:
        session.scalars(select(AdminUser).where(AdminUser.username == "unlockme")).one().locked_until = \
            now + accounts.LOCKOUT
    with demo_factory.begin() as session:
        assert accounts.unlock(session, "unlockme", actor="cli", now=now)
        assert not accounts.unlock(session, "nobody-by-this-name", actor="cli", now=now)
    assert _login(demo_factory, "unlockme", "password-1", now=now).username == "unlockme"
    with demo_factory() as session:
        assert session.scalars(select(AuditLog).where(AuditLog.action == "user_unlock")).one().target == "unlockme"


def test_a_street_scope_covers_the_grids_of_its_communities(demo_factory):
    with demo_factory() as session:
        street = session.scalars(select(Area).where(Area.level == AreaLevel.STREET).order_by(Area.id)).first()
        communities = set(session.scalars(select(Area.id).where(Area.parent_id == street.id)))
        expected = set(session.scalars(select(Grid.id).where(Grid.area_id.in_(communities))))
        user = AdminUser(username="s", password_hash="x", role="staff", area_id=street.id)
        scope = accounts.scope_of(session, user)
        everything = set(session.scalars(select(Grid.id)))
    assert scope.grid_ids == expected and expected and expected < everything


def _draft_with_word(session, author: str = "t"):
    row = rulesets.start_draft(session, SHIPPED_CONFIG_DIR, author=author, now=utcnow())
    data = row.data
    entry = next(e for e in data["catalogue"]["categories"] if e["name"] == "环境卫生")
    rules = [*data["rules"]["环境卫生"], {"id": "t-monster", "keywords": [WORD], "weight": 3.0}]
    rulesets.edit_category(session, row, "环境卫生", entry=entry, rules=rules, author=author, now=utcnow())


def ruled(classifier, text: str) -> str | None:
    """The category the rules decided for `text` (None when they did not: the model may still guess)."""
    decision = classifier.classify(text)
    return decision.category if decision.decided_by == "rules" else None


def test_published_versions_reach_a_running_classifier_source_and_roll_back(demo_factory, database_url):
    source = rulesets.PublishedRules(database_url, SHIPPED_CONFIG_DIR, ttl=0)
    try:
        assert ruled(source(), f"院子里有{WORD}") is None
        with demo_factory.begin() as session:
            _draft_with_word(session)
            assert rulesets.publish(session, SHIPPED_CONFIG_DIR, author="t", note=None, now=utcnow()).number == 1
        assert ruled(source(), f"院子里有{WORD}") == "环境卫生"

        with demo_factory.begin() as session:  # v2: the same rules without the new word, through a zip round trip
            live = rulesets.in_force(session, SHIPPED_CONFIG_DIR)[1]
            live["rules"]["环境卫生"] = [r for r in live["rules"]["环境卫生"] if r.get("id") != "t-monster"]
            rulesets.replace_draft(session, SHIPPED_CONFIG_DIR, rulesets.import_zip(rulesets.export_zip(live)),
                                   author="t", now=utcnow(), source="zip")
            rulesets.publish(session, SHIPPED_CONFIG_DIR, author="t", note=None, now=utcnow())
        assert ruled(source(), f"院子里有{WORD}") is None

        with demo_factory.begin() as session:
            back = rulesets.rollback(session, SHIPPED_CONFIG_DIR, 1, author="t", now=utcnow())
            assert back.number == 3 and back.data == rulesets.version(session, 1).data
        assert ruled(source(), f"院子里有{WORD}") == "环境卫生"
    finally:
        source.close()


def test_every_process_state_classifies_with_the_published_rules(demo_factory, database_url):
    """`gridbot worker` builds the same AppState as the app: a message a worker handles is classified with the
    rule set published in the console, not with the config dir's files."""
    from bot.state import AppState
    from config.settings import Settings
    from tests.deploy_secrets import TEST_SECRETS

    def publish(with_word: bool) -> None:
        with demo_factory.begin() as session:
            live = rulesets.in_force(session, SHIPPED_CONFIG_DIR)[1]
            live["rules"]["环境卫生"] = [r for r in live["rules"]["环境卫生"] if r.get("id") != "t-monster"]
            rulesets.replace_draft(session, SHIPPED_CONFIG_DIR, live, author="t", now=utcnow(), source="test")
            rulesets.publish(session, SHIPPED_CONFIG_DIR, author="t", note=None, now=utcnow())
            if with_word:
                _draft_with_word(session)
                rulesets.publish(session, SHIPPED_CONFIG_DIR, author="t", note=None, now=utcnow())

    publish(with_word=False)
    state = AppState.build(Settings(_env_file=None, database_url=database_url, **TEST_SECRETS))
    try:
        assert ruled(state.services.classifier(), f"院子里有{WORD}") is None
        publish(with_word=True)
        state.rules.look_again()  # as the console does after a publish: not 2 s later
        assert ruled(state.services.classifier(), f"院子里有{WORD}") == "环境卫生"
    finally:
        state.close()


def test_a_process_that_handles_messages_runs_its_model_on_one_blas_thread(database_url):
    """OpenBLAS's worker threads gain nothing on a message's small products and spin on the other core after
    each: `AppState.warm` leaves one."""
    import gc

    from threadpoolctl import threadpool_info, threadpool_limits

    from bot.state import AppState
    from config.settings import Settings
    from tests.deploy_secrets import TEST_SECRETS

    state = AppState.build(Settings(_env_file=None, database_url=database_url, **TEST_SECRETS))
    with threadpool_limits(None):  # whatever this test process had is given back afterwards
        try:
            state.warm()
            assert {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"} == {1}
        finally:
            gc.unfreeze()
            state.close()


def test_a_process_builds_its_rule_set_before_it_handles_a_message(demo_factory, database_url, monkeypatch):
    """`AppState.warm` (the app's start-up and `gridbot worker`'s, before either handles anything) builds the rule
    set in force: the first message does not wait while its model is trained."""
    import gc

    from bot.state import AppState
    from config.settings import Settings
    from handlers.classify import Classifier
    from tests.deploy_secrets import TEST_SECRETS

    with demo_factory.begin() as session:
        rulesets.start_draft(session, SHIPPED_CONFIG_DIR, author="t", now=utcnow())
        rulesets.publish(session, SHIPPED_CONFIG_DIR, author="t", note=None, now=utcnow())
    state = AppState.build(Settings(_env_file=None, database_url=database_url, **TEST_SECRETS))
    try:
        state.warm()
        built = []
        from_dict = Classifier.from_dict
        monkeypatch.setattr(Classifier, "from_dict", lambda data: built.append(data) or from_dict(data))
        assert ruled(state.services.classifier(), "楼下垃圾桶满了好几天没人收") == "环境卫生"
        assert built == []
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        state.close()


def test_a_process_starts_while_its_database_is_down(caplog):
    """`AppState.warm` with no database to reach: logged, and the process starts (its first message tries again)."""
    from bot.state import AppState
    from config.settings import Settings
    from tests.deploy_secrets import TEST_SECRETS

    down = Settings(_env_file=None, database_url="postgresql+psycopg://gridbot@127.0.0.1:9/none", **TEST_SECRETS)
    state = AppState.build(down)
    try:
        state.warm()
    finally:
        state.close()
    assert "not built at start-up" in caplog.text


def test_an_invalid_draft_edit_is_refused_and_changes_nothing(demo_factory):
    with demo_factory.begin() as session:
        row = rulesets.start_draft(session, SHIPPED_CONFIG_DIR, author="t", now=utcnow())
        before = row.data
        entry = next(e for e in before["catalogue"]["categories"] if e["name"] == "噪音扰民")
        with pytest.raises(rulesets.RuleSetError, match="threshold"):
            rulesets.edit_category(session, row, "噪音扰民", entry=entry,
                                   rules=[{"id": "bad", "keywords": ["吵"], "threshold": 80}], author="t",
                                   now=utcnow())
        assert row.data == before
        rulesets.discard_draft(session, author="t", now=utcnow())


def test_import_takes_only_config_files_from_the_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("../../etc/evil.yaml", "x: 1")
        archive.writestr("notes.txt", "hello")
    with pytest.raises(rulesets.RuleSetError):
        rulesets.import_zip(out.getvalue())  # nothing usable: no catalogue.yaml
    with pytest.raises(rulesets.RuleSetError):
        rulesets.import_zip(b"not a zip")


def test_chart_labels_are_escaped():
    svg = hbars([("<script>alert(1)</script>", 3)], chart_id="c")
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_count_axes_have_whole_number_ticks():
    svg = str(daily_lines([(date(2026, 3, d), 1, 0) for d in range(1, 4)], chart_id="daily"))
    ticks = re.findall(r'text-anchor="end">([^<]+)</text>', svg)
    assert ticks == ["0", "1"]


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_a_zip_bomb_is_refused_by_what_it_decompresses_to():
    # Each member is under the per-upload limit, all together 24 MB: only counting the output stops it.
    bomb = _zip({"catalogue.yaml": b"categories: []\n", **{f"rules/r{i}.yaml": b" " * (4 * 1024 * 1024)
                                                             for i in range(6)}})
    assert len(bomb) < 100_000
    with pytest.raises(rulesets.RuleSetError, match="文件过大"):
        rulesets.import_zip(bomb)


def test_a_zip_that_lies_about_its_sizes_or_has_too_many_files_is_refused():
    content = b"categories: []\n" + b"#" * 50_000
    honest = _zip({"catalogue.yaml": content})
    lying = honest.replace(len(content).to_bytes(4, "little"), (16).to_bytes(4, "little"))  # the declared sizes
    assert lying != honest
    with pytest.raises(rulesets.RuleSetError):
        rulesets.import_zip(lying)
    crowd = _zip({"catalogue.yaml": b"categories: []\n", **{f"rules/r{i}.yaml": b"" for i in range(300)}})
    with pytest.raises(rulesets.RuleSetError, match="文件过多"):
        rulesets.import_zip(crowd)
