"""The processor handles waiting messages in batches: one transaction, a savepoint per message.

The app's own state and handlers on the demo district; messages are the decrypted callbacks the
intake accepted. A report the database refuses (a trigger on `cases`, on SQLite and PostgreSQL)
fails alone: it is marked failed and its sender told, the rest of its batch commits, and only
what committed is counted.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, text

from bot import intake as intake_module
from bot.intake import BATCH_LIMIT, Intake
from bot.metrics import INBOUND
from bot.state import AppState, rebuild_inbound
from bot.wecom.parsing import inbound_from_xml
from handlers.intake import inbox
from handlers.texts import render
from models import Case, InboundMessage, OutboxMessage, Resident
from tests.wecom_sim import text_xml

REFUSED = "触发故障"
HALF_WRITTEN = "写到一半"  # refused at the case's first event: after the resident and the case were written
RACE = "模拟死锁"  # PostgreSQL only: the trigger reports a deadlock, as when two batches lock cases crosswise
REPORT = "阳光小区1期3栋楼道里的灯坏了好几天，晚上上下楼很危险"

_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER refuse_marked_cases BEFORE INSERT ON cases WHEN NEW.text LIKE '%{REFUSED}%' "
    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    "CREATE TRIGGER refuse_marked_events BEFORE INSERT ON case_events WHEN (SELECT text FROM cases WHERE id = "
    f"NEW.case_id) LIKE '%{HALF_WRITTEN}%' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
]
_POSTGRES_FUNCTION = ("CREATE OR REPLACE FUNCTION refuse_marked_cases() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                      f"IF NEW.text LIKE '%{REFUSED}%' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
                      "{race}RETURN NEW; END $$")
_DEADLOCK = f"IF NEW.text LIKE '%{RACE}%' THEN RAISE EXCEPTION 'deadlock' USING ERRCODE = 'deadlock_detected'; END IF; "
_POSTGRES_TRIGGER = [
    _POSTGRES_FUNCTION.format(race=_DEADLOCK),
    "CREATE TRIGGER refuse_marked_cases BEFORE INSERT ON cases FOR EACH ROW EXECUTE FUNCTION refuse_marked_cases()",
    "CREATE OR REPLACE FUNCTION refuse_marked_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF (SELECT text FROM cases WHERE id = NEW.case_id) LIKE '%{HALF_WRITTEN}%' THEN "
    "RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$",
    "CREATE TRIGGER refuse_marked_events BEFORE INSERT ON case_events FOR EACH ROW "
    "EXECUTE FUNCTION refuse_marked_events()",
]


@pytest.fixture(scope="module")
def state(app_settings):
    state = AppState.build(app_settings)
    with state.factory.begin() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        for statement in _POSTGRES_TRIGGER if postgres else _SQLITE_TRIGGERS:
            session.execute(text(statement))
    yield state
    state.close()


def _accept(state: AppState, *messages: tuple[str, str, int]) -> None:
    inbounds = [inbound_from_xml(text_xml(userid, words, msg_id)) for userid, words, msg_id in messages]
    with state.factory.begin() as session:
        inbox.accept(session, inbounds, state.services.clock())


def _batch(state: AppState, claims=lambda _key: False, budget: float = 60.0, enough=None) -> list[inbox.Processed]:
    return inbox.process_batch(state.factory, state.services, rebuild_inbound, claims, budget=budget, enough=enough)


def _handled(outcome: str) -> float:
    return INBOUND.labels(channel="app", kind="text", outcome=outcome)._value.get()


def test_a_failing_message_is_marked_failed_and_told_while_the_rest_of_its_batch_commits(state, db):
    _accept(state, ("batch-a", REPORT, 61_001), ("batch-b", f"{REPORT}{REFUSED}", 61_002),
            ("batch-c", f"{REPORT}，快来修", 61_003))
    handled_before, failed_before = _handled("handled"), _handled("failed")
    keys = ["app:61001", "app:61002", "app:61003"]
    outcomes = _batch(state, lambda _key: True)  # every waiting request would take its reply
    assert [o.msg_key for o in outcomes] == keys
    assert [o.passive for o in outcomes] == [True, False, True]
    with db() as session:
        rows = {row.msg_key: row for row in session.execute(
            select(InboundMessage.msg_key, InboundMessage.id, InboundMessage.status, InboundMessage.reply,
                   InboundMessage.case_id).where(InboundMessage.msg_key.in_(keys)))}
        notices = dict(session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.text)
                                       .where(OutboxMessage.recipient.in_(["batch-a", "batch-b", "batch-c"]))
                                       .where(OutboxMessage.dedupe_key.like("reply:%"))).all())
        refused_cases = session.scalar(select(Case.id).where(Case.text.contains(REFUSED)))
    failed = rows["app:61002"]
    assert failed.status == "failed" and failed.reply == render("replies/failed") and failed.case_id is None
    assert notices == {f"reply:{failed.id}": render("replies/failed")}  # passive replies are not queued too
    assert refused_cases is None
    for key in ("app:61001", "app:61003"):
        assert rows[key].status == "handled" and rows[key].case_id is not None
        assert rows[key].reply == next(o.reply for o in outcomes if o.msg_key == key)
    assert (_handled("handled") - handled_before, _handled("failed") - failed_before) == (2, 1)


def test_a_message_that_fails_after_writing_leaves_nothing_of_it_whatever_its_place_in_the_batch(state, db,
                                                                                                  monkeypatch):
    """Its savepoint holds everything it wrote: the resident it registered and its case (the case's first event is
    refused). Before, a message whose first statements went straight to the driver (`models.statements`) sent its
    SAVEPOINT only at its first ORM statement, after them: without the per-user rate limit's count (a deployment
    without one; every message that is not text), a later message of a batch left its resident and case committed,
    half-written."""
    monkeypatch.setattr(state.services, "rate_limit", 0)
    _accept(state, ("half-a", REPORT, 66_001), ("half-b", f"{REPORT}{HALF_WRITTEN}", 66_002),
            ("half-c", f"{REPORT}，快来修", 66_003))
    outcomes = _batch(state)
    assert [o.msg_key for o in outcomes] == ["app:66001", "app:66002", "app:66003"]
    with db() as session:
        statuses = dict(session.execute(select(InboundMessage.msg_key, InboundMessage.status).where(
            InboundMessage.msg_key.in_(["app:66001", "app:66002", "app:66003"]))).all())
        half_written = session.scalars(select(Case.id).where(Case.text.contains(HALF_WRITTEN))).all()
        residents = session.scalars(select(Resident.userid).where(Resident.userid.like("half-%"))).all()
        cases = session.scalars(select(Case.reporter_userid).where(Case.reporter_userid.like("half-%"))).all()
    assert statuses == {"app:66001": "handled", "app:66002": "failed", "app:66003": "handled"}
    assert half_written == [] and sorted(residents) == sorted(cases) == ["half-a", "half-c"]


def test_a_batch_takes_the_oldest_message_of_each_user_so_each_users_messages_stay_in_order(state, db):
    _accept(state, ("order-a", REPORT, 62_001), ("order-a", "进度", 62_002), ("order-b", REPORT, 62_003))
    first, second, third = _batch(state), _batch(state), _batch(state)
    assert [o.msg_key for o in first] == ["app:62001", "app:62003"]
    assert [o.msg_key for o in second] == ["app:62002"]
    assert third == []
    with db() as session:
        statuses = session.scalars(select(InboundMessage.status).where(
            InboundMessage.msg_key.in_(["app:62001", "app:62002", "app:62003"]))).all()
    assert statuses == ["handled"] * 3


def test_a_batch_out_of_budget_starts_no_further_message(state):
    _accept(state, ("budget-a", REPORT, 63_001), ("budget-b", REPORT, 63_002))
    assert [o.msg_key for o in _batch(state, budget=0)] == ["app:63001"]
    assert [o.msg_key for o in _batch(state, budget=0)] == ["app:63002"]


def test_a_batch_ends_when_its_caller_says_enough_after_a_message(state):
    _accept(state, ("enough-a", REPORT, 63_101), ("enough-b", REPORT, 63_102), ("enough-c", REPORT, 63_103))
    asked: list[float] = []

    def enough(elapsed: float) -> bool:  # e.g. another writer now waits for SQLite's lock
        asked.append(elapsed)
        return len(asked) == 2

    assert [o.msg_key for o in _batch(state, enough=enough)] == ["app:63101", "app:63102"]
    assert len(asked) == 2 and 0 < asked[0] <= asked[1]
    assert [o.msg_key for o in _batch(state)] == ["app:63103"]


def test_a_message_that_lost_a_race_waits_for_a_later_batch_instead_of_failing(state, db):
    with state.factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("lost races (deadlocks between batches of several processes) happen on PostgreSQL")
    _accept(state, ("race-a", f"{REPORT}{RACE}", 64_001), ("race-b", REPORT, 64_002))
    assert [o.msg_key for o in _batch(state)] == ["app:64002"]
    with db() as session:
        waiting = session.scalar(select(InboundMessage.status).where(InboundMessage.msg_key == "app:64001"))
        told = session.scalar(select(OutboxMessage.id).where(OutboxMessage.recipient == "race-a"))
    assert waiting == "received" and told is None  # nothing said, nothing kept: it is simply still waiting
    with state.factory.begin() as session:  # the other transaction is gone: the next try succeeds
        session.execute(text(_POSTGRES_FUNCTION.format(race="")))
    (again,) = _batch(state)
    assert again.msg_key == "app:64001" and again.reply
    with db() as session:
        assert session.scalar(select(InboundMessage.status).where(InboundMessage.msg_key == "app:64001")) == "handled"


def test_a_batch_reads_the_waiting_rows_page_by_page_and_still_reaches_users_behind_a_long_queue(state):
    busy = [("paged-a", f"进度{i}", 65_001 + i) for i in range(inbox.CLAIM_PAGE + 4)]  # more than a page
    _accept(state, *busy, ("paged-b", REPORT, 65_100))
    first = _batch(state)
    assert [o.msg_key for o in first] == ["app:65001", "app:65100"]  # b's message lies on the second page
    handled = [o.msg_key for _ in busy[1:] for o in _batch(state)]
    assert handled == [f"app:{msg_id}" for _, _, msg_id in busy[1:]]  # a's, one a batch, in order
    assert _batch(state) == []


def test_on_sqlite_a_backlog_nobody_waits_for_goes_in_one_batch_beyond_postgresqls_limit(state, monkeypatch):
    # Each batch ends in a commit whose fsync leaves the process idle: with nobody waiting for the write lock
    # or for a reply, a SQLite batch serves more than BATCH_LIMIT messages (its time budget raised here, so
    # that on a loaded machine the limit, not the clock, is what is looked at).
    with state.factory() as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("PostgreSQL's batches stay at BATCH_LIMIT: other processes handle beside this one")
    count = BATCH_LIMIT + 16
    events = [inbound_from_xml(f"<xml><ToUserName>corp</ToUserName><FromUserName>drain-{i}</FromUserName>"
                               f"<CreateTime>{int(time.time())}</CreateTime><MsgType>event</MsgType><Event>view"
                               "</Event><EventKey>https://example.org</EventKey><AgentID>1000002</AgentID></xml>")
              for i in range(count)]
    with state.factory.begin() as session:
        inbox.accept(session, events, state.services.clock())
    batches: list[list[str]] = []
    real = inbox.process_batch

    def counted(*args, **kwargs) -> list[inbox.Processed]:
        outcomes = real(*args, **kwargs)
        batches.append([outcome.msg_key for outcome in outcomes])
        return outcomes

    monkeypatch.setattr(intake_module.inbox, "process_batch", counted)
    monkeypatch.setattr(intake_module, "SQLITE_DRAIN_BUDGET", 10.0)
    processor = Intake(state.factory, state.services, rebuild_inbound, accept_factory=state.factory,
                       single_writer=True)
    processor.start()
    keys = {event.msg_key for event in events}
    try:
        deadline = time.monotonic() + 60
        while not keys <= {key for batch in batches for key in batch}:
            assert time.monotonic() < deadline, "the backlog was not handled"
            time.sleep(0.05)
    finally:
        processor.stop()
    assert [len(keys.intersection(batch)) for batch in batches if keys.intersection(batch)] == [count]
