"""What one report reads, and how often: the resident and their conversation in one SELECT, the progress
link of a new case without a lookup, the duplicate check's candidates — each with the answers it gave
before it was made cheaper."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from config.settings import SHIPPED_CONFIG_DIR
from handlers.cases.records import latest_open_case_of
from handlers.chat import pending
from handlers.conversation import follow_ups, place_fix, remark_first
from handlers.conversation import resident as resident_messages
from handlers.conversation.opening import resident_and_conversation
from handlers.progress_links import SESSION_KEY, LinkSigner, case_for_link, link_for, revoke
from handlers.services import Services
from models import Case, CaseState, Grid, ProgressLink, Resident, Unit, utcnow
from models.rows import add_inserted, update_loaded
from models.statements import insert_row
from tests.demo_db import demo_factory  # noqa: F401  (fixture)
from tests.sql_seen import statements_sent

SIGNER = LinkSigner("https://gridbot.example", b"secret")


@pytest.fixture
def session(demo_factory):
    """A session that can make progress links; its changes are rolled back after the test."""
    with demo_factory(info={SESSION_KEY: SIGNER}) as session:
        session.begin()
        yield session
        session.rollback()


def statements(session):
    """The SQL statements `session` sends meanwhile (SAVEPOINT bookkeeping left out)."""
    return statements_sent(session.get_bind(), lambda sql: "SAVEPOINT" not in sql)


def new_case(session, unit: Unit | None = None) -> Case:
    case = Case(state=CaseState.PENDING, category="环境卫生", text="垃圾没人清理", reporter_userid="r",
                grid=unit.grid if unit else None, unit=unit, created_at=utcnow())
    session.add(case)
    session.flush()
    return case


def test_someone_new_is_registered_and_has_no_conversation(session):
    resident, convo = resident_and_conversation(session, "never-seen")
    assert convo is None and resident.id is not None
    assert session.scalars(select(Resident).where(Resident.userid == "never-seen")).one() is resident


def test_a_bound_resident_comes_with_unit_grid_and_conversation_in_one_select(session):
    unit = session.scalars(select(Unit).order_by(Unit.id)).first()
    session.add(Resident(userid="bound-one", unit=unit))
    pending.expect(session, "bound-one", pending.AWAIT_ADDRESS, {"case_id": 1}, utcnow())
    session.flush()
    resident_and_conversation(session, "bound-one")  # the registry cache holds the unit and grid now
    session.expunge_all()
    with statements(session) as seen:
        resident, convo = resident_and_conversation(session, "bound-one")
        assert (resident.unit.id, resident.unit.grid.id) == (unit.id, unit.grid_id)
        assert resident.arrival_unit is None
        assert convo.state == pending.AWAIT_ADDRESS
    # SQLite: one SELECT; PostgreSQL: the waiting conversation is read again, locked.
    locked = session.get_bind().dialect.name == "postgresql"
    assert len(seen) == (2 if locked else 1)
    assert not locked or "FOR UPDATE" in seen[1]


def test_what_the_transaction_did_before_is_what_is_found(session):
    """A conversation expected earlier in the batch (not yet flushed) is found; a resident the session
    already holds comes back as that very instance, changes and all."""
    first, _ = resident_and_conversation(session, "asked-earlier")
    first.name = "改过的名字"
    pending.expect(session, "asked-earlier", pending.RATE, {"case_id": 7}, utcnow())
    resident, convo = resident_and_conversation(session, "asked-earlier")
    assert resident is first and resident.name == "改过的名字"
    assert convo is not None and (convo.state, convo.data) == (pending.RATE, {"case_id": 7})
    pending.finish(session, "asked-earlier")
    assert resident_and_conversation(session, "asked-earlier")[1] is None


@pytest.mark.parametrize("written", ["flushed", "inserted"])
def test_a_new_case_gets_its_link_with_one_insert_and_keeps_it(session, written):
    """Written by a flush or, as the report path does, by add_inserted's prepared INSERT."""
    case = new_case(session) if written == "flushed" else add_inserted(session, Case(
        state=CaseState.PENDING, category="环境卫生", text="路灯坏了", reporter_userid="r", created_at=utcnow()))
    with statements(session) as seen:
        first = link_for(session, case.id)
        again = link_for(session, case.id)
    assert first == again and len(seen) == 1 and seen[0].replace('"', "").startswith("INSERT INTO progress_links")
    assert case_for_link(session, first.rpartition("/")[2]) is case
    session.commit()
    session.begin()
    assert link_for(session, case.id) == first  # a later transaction looks it up: the same link
    assert session.scalar(select(func.count()).select_from(ProgressLink).where(ProgressLink.case_id == case.id)) == 1
    session.delete(session.get(ProgressLink, first.rpartition("/")[2].rpartition(".")[0]))
    session.delete(case)
    session.commit()
    session.begin()


def test_a_revoked_link_is_replaced_in_the_same_transaction(session):
    case = new_case(session)
    first = link_for(session, case.id)
    assert revoke(session, case.id, utcnow()) == 1
    second = link_for(session, case.id)
    assert second != first
    assert case_for_link(session, first.rpartition("/")[2]) is None
    assert case_for_link(session, second.rpartition("/")[2]) is case


def test_a_link_made_in_a_savepoint_rolled_back_is_made_again(session):
    case = new_case(session)
    savepoint = session.begin_nested()
    lost = link_for(session, case.id)
    savepoint.rollback()
    kept = link_for(session, case.id)
    assert kept != lost and case_for_link(session, kept.rpartition("/")[2]) is case


def test_duplicate_candidates_are_found_in_the_unit_and_in_the_grid(session):
    from handlers.cases.duplicates import likely_duplicate
    from handlers.cases.timing import clock_rules

    rules = clock_rules()
    unit = session.scalars(select(Unit).order_by(Unit.id)).first()
    earlier = new_case(session, unit)
    later = new_case(session, unit)
    later.reporter_userid = "someone-else"
    session.flush()
    found = likely_duplicate(session, later, rules.duplicate_window, rules.duplicate_similarity)
    assert found is not None and found.case is earlier and found.sure
    other_grid = session.scalars(select(Grid).where(Grid.id != unit.grid_id).order_by(Grid.id)).first()
    in_grid = [new_case(session) for _ in range(2)]  # placed by a location: a grid, no unit
    for case, reporter in zip(in_grid, ("a", "b"), strict=True):
        case.grid, case.reporter_userid = other_grid, reporter
    session.flush()
    found = likely_duplicate(session, in_grid[1], rules.duplicate_window, rules.duplicate_similarity)
    assert found is not None and found.case is in_grid[0]


def test_a_query_through_the_driver_gives_what_sqlalchemy_gives(session):
    """fetch_all binds dates and the statement's own LIMIT as SQLAlchemy would, and gives dates, JSON and
    flags back as SQLAlchemy does (aware datetimes, parsed JSON, bools), on this database."""
    from datetime import timedelta

    from sqlalchemy import bindparam

    from models.statements import fetch_all

    cases = [new_case(session) for _ in range(3)]
    cases[2].classification, cases[2].urgent = {"category": "环境卫生", "rules": ["垃圾"]}, True
    session.flush()
    columns = Case.__table__.c
    newest = (select(columns.id, columns.text, columns.created_at, columns.classification, columns.urgent,
                     columns.take_due)
              .where(columns.created_at >= bindparam("since"), columns.id <= bindparam("up_to"))
              .order_by(columns.id.desc()).limit(2))
    params = {"since": utcnow() - timedelta(minutes=1), "up_to": cases[-1].id}
    expected = [tuple(row) for row in session.connection().execute(newest, params)]
    assert fetch_all(session, newest, params) == expected == [
        (cases[2].id, "垃圾没人清理", cases[2].created_at, {"category": "环境卫生", "rules": ["垃圾"]}, True, None),
        (cases[1].id, "垃圾没人清理", cases[1].created_at, None, False, None)]
    assert expected[0][2].tzinfo is not None
    with pytest.raises(ValueError):
        fetch_all(session, select(columns.id).where(columns.id.in_(bindparam("ids", expanding=True))), {"ids": [1]})


def test_a_column_written_by_update_loaded_is_stored_and_clean(session):
    from models.rows import update_loaded

    earlier, later = new_case(session), new_case(session)
    update_loaded(session, later, {"suspect_of_id": earlier.id})
    assert later.suspect_of_id == earlier.id and not session.is_modified(later)
    stored = session.connection().execute(select(Case.__table__.c.suspect_of_id)
                                          .where(Case.__table__.c.id == later.id)).scalar()
    assert stored == earlier.id


def test_an_earlier_case_not_in_the_session_is_read_as_stored(session):
    from handlers.cases.duplicates import Found

    case = new_case(session)
    case_id, category = case.id, case.category
    session.expunge(case)
    found = Found(case_id, 90.0, True, session).case
    assert found is not case and (found.id, found.category, found.state) == (case_id, category, CaseState.PENDING)
    assert Found(case_id, 90.0, True, session).case is found and not session.is_modified(found)


def test_a_case_built_without_attribute_events_is_stored_as_the_constructor_would(session):
    """`built` + add_inserted (the report path) write the same row as Case(...) + add_inserted."""
    from models.rows import built

    unit = session.scalars(select(Unit).order_by(Unit.id)).first()
    values = {"state": CaseState.PENDING, "category": "环境卫生", "text": "垃圾没人清理", "reporter_userid": "r",
              "grid": unit.grid, "unit": unit, "created_at": utcnow(), "updated_at": utcnow(),
              "classification": {"decided_by": "rules"}}
    cases = [add_inserted(session, built(Case, dict(values))), add_inserted(session, Case(**values))]
    columns = [column for column in Case.__table__.c if column.key != "id"]
    rows = [session.connection().execute(select(*columns).where(Case.__table__.c.id == case.id)).one()
            for case in cases]
    assert rows[0] == rows[1] and rows[0].unit_id == unit.id and rows[0].grid_id == unit.grid_id
    assert cases[0].unit is unit and cases[0].priority == cases[1].priority and not session.is_modified(cases[0])


def test_followers_are_listed_oldest_first_even_when_just_added(session):
    """followers_of reads through the driver: links the session still holds unwritten are written first."""
    from handlers.cases.records import followers_of
    from models import CaseLink

    case = new_case(session)
    for userid in ("z-first", "a-second"):
        session.add(CaseLink(case_id=case.id, userid=userid, text="我也是", created_at=utcnow()))
        session.flush()
    session.add(CaseLink(case_id=case.id, userid="m-third", text="我也是", created_at=utcnow()))  # not flushed
    assert followers_of(session, case.id) == ["z-first", "a-second", "m-third"]


def test_a_cached_row_copied_in_is_the_sessions_own_without_sql(session, demo_factory):
    """copied_in (the registry cache's hand-out): a copy of a row another session loaded, held by this one as if
    loaded — no statement, clean, the same instance when asked again, its relationships loading on use."""
    from models.rows import copied_in

    with demo_factory() as other:
        cached = other.scalars(select(Unit).order_by(Unit.id)).first()
        other.expunge(cached)
    with statements(session) as seen:
        copy = copied_in(session, cached)
        again = copied_in(session, cached)
    assert seen == [] and copy is again and copy is not cached
    assert copy in session and not session.is_modified(copy) and (copy.id, copy.address) == (cached.id, cached.address)
    assert copy.grid is session.get(Grid, cached.grid_id)


def test_an_inserted_row_is_persistent_and_loads_what_it_refers_to(session):
    """add_inserted makes the new row the session's own (no flush pending) and lazy-loads what it did not set."""
    case = add_inserted(session, Case(state=CaseState.PENDING, category="环境卫生", text="垃圾没人清理",
                                      reporter_userid="r", created_at=utcnow()))
    assert case in session and case not in session.new and not session.is_modified(case)
    assert session.get(Case, case.id) is case and case.events == [] and case.resident is None


def test_a_new_cases_notices_are_queued_together_in_order_and_once(session):
    """notify_case_opened writes the assignee's card and the group's line in one statement, card first; told
    again (a retried step), nothing new is queued."""
    from handlers.cases.case_notices import group_target, notify_case_opened
    from models import CaseEvent, Worker
    from models.outbox import OutboxMessage

    unit = next(u for u in session.scalars(select(Unit).order_by(Unit.id)) if group_target(u.grid) is not None)
    case = new_case(session, unit)
    case.assignee = session.scalars(select(Worker).order_by(Worker.id)).first()
    event = CaseEvent(case=case, at=utcnow(), actor="r", action="report", to_state=case.state, attachments=[])
    session.add(event)
    session.flush()
    with statements(session) as seen:
        notify_case_opened(session, event)
    assert len([sql for sql in seen if "outbox" in sql]) == 1
    queued = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)
                             .order_by(OutboxMessage.id)).all()
    assert [row.recipient for row in queued] == [case.assignee.userid, group_target(unit.grid)[1]]
    notify_case_opened(session, event)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.case_id == case.id)) == 2


def test_a_note_leaves_the_state_unwritten_and_a_move_writes_it(session):
    from handlers.cases.records import apply_action

    case = new_case(session)
    with statements(session) as seen:
        apply_action(session, case, "note", actor="w1", now=utcnow(), note="又有居民反映")
    update = next(sql for sql in seen if sql.startswith("UPDATE"))
    assert '"state" =' not in update.split("WHERE")[0] and case.state == CaseState.PENDING
    with statements(session) as seen:
        apply_action(session, case, "take", actor="w1", now=utcnow())
    update = next(sql for sql in seen if sql.startswith("UPDATE"))
    assert '"state" =' in update.split("WHERE")[0]
    assert session.scalar(select(Case.state).where(Case.id == case.id)) == CaseState.IN_PROGRESS


def test_a_json_column_keeps_the_residents_characters_and_reads_back_as_written(session):
    case = new_case(session)
    case.classification = {"category": "噪音扰民", "normalised": "楼上装修“吵”", 3: [1.5, None]}
    session.flush()
    stored = session.connection().exec_driver_sql(
        f"SELECT CAST(classification AS TEXT) FROM cases WHERE id = {case.id}").scalar()
    assert "噪音扰民" in stored and "\\u" not in stored  # the characters themselves, not escapes
    session.expire(case)
    assert case.classification == {"category": "噪音扰民", "normalised": "楼上装修“吵”", "3": [1.5, None]}


def test_a_write_sent_straight_to_the_driver_in_a_savepoint_is_undone_with_it(session):
    """The savepoint is opened before its first statement, even when the transaction's connection was already
    kept for the driver's statements (`connection_of`) and nothing else in the savepoint asks for it."""
    resident_and_conversation(session, "before-the-savepoint")
    savepoint = session.begin_nested()
    insert_row(session, Resident.__table__, {"userid": "in-the-savepoint"})
    savepoint.rollback()
    assert session.scalar(select(func.count()).select_from(Resident).where(Resident.userid == "in-the-savepoint")) == 0


def test_the_cases_of_someone_registered_by_this_message_are_not_read(session):
    """A typhoon night's first-time reporters: the late category answer and the report sent again look for none
    of their cases (two SELECTs a report before)."""
    newcomer, _ = resident_and_conversation(session, "first-time")
    with statements(session) as seen:
        assert latest_open_case_of(session, newcomer) is None
        assert resident_messages._sent_again(session, newcomer, "路灯坏了", utcnow(), timedelta(minutes=2)) is None
    assert seen == []


@pytest.mark.parametrize("written", ["inserted", "flushed", "plain SQL"])
def test_a_case_written_for_someone_just_registered_is_found(session, written):
    """However the case is written (the report path's prepared INSERT, a flush, a statement of its own)."""
    newcomer, _ = resident_and_conversation(session, "first-time")
    values = dict(state=CaseState.PENDING, category="环境卫生", text="路灯坏了", resident_id=newcomer.id,
                  reporter_userid="first-time", created_at=utcnow())
    if written == "inserted":
        add_inserted(session, Case(**values))
    elif written == "flushed":
        session.add(Case(**values))
        session.flush()
    else:
        session.execute(insert(Case), values)
    assert latest_open_case_of(session, newcomer).text == "路灯坏了"
    assert resident_messages._sent_again(session, newcomer, "路灯坏了", utcnow(), timedelta(minutes=2))[0].text == "路灯坏了"


def test_someone_registered_in_a_savepoint_rolled_back_is_read_again(session):
    savepoint = session.begin_nested()
    resident_and_conversation(session, "first-time")
    savepoint.rollback()
    newcomer, _ = resident_and_conversation(session, "first-time")  # registered again, no case yet
    with statements(session) as seen:
        assert latest_open_case_of(session, newcomer) is None
    assert seen == []
    session.add(Resident(userid="known-before"))
    session.flush()
    known, _ = resident_and_conversation(session, "known-before")
    with statements(session) as seen:
        assert latest_open_case_of(session, known) is None
    assert len(seen) == 1


def test_a_question_to_someone_waiting_for_nothing_is_written_at_once_and_found(session):
    """A case asking its place (a typhoon night's reports without an address): the conversation the SELECT found
    absent is not read again; its row is one INSERT, there and then (before: a SELECT and a unit-of-work flush)."""
    newcomer, convo = resident_and_conversation(session, "first-time")
    assert convo is None
    with statements(session) as seen:
        pending.finish(session, "first-time")  # nothing to finish
        pending.expect(session, "first-time", pending.AWAIT_ADDRESS, {"case_id": 7}, utcnow())
    assert [sql.replace('"', "").split(" (")[0] for sql in seen] == ["INSERT INTO conversations"]
    pending.expect(session, "first-time", pending.CONFIRM_ADDRESS, {"case_id": 7, "unit_id": 1}, utcnow())
    assert resident_and_conversation(session, "first-time")[1].state == pending.CONFIRM_ADDRESS
    pending.finish(session, "first-time")
    assert resident_and_conversation(session, "first-time")[1] is None
    savepoint = session.begin_nested()
    pending.expect(session, "first-time", pending.RATE, {"case_id": 7}, utcnow())
    savepoint.rollback()
    assert resident_and_conversation(session, "first-time")[1] is None
    pending.expect(session, "first-time", pending.RATE, {"case_id": 8}, utcnow())
    assert resident_and_conversation(session, "first-time")[1].data == {"case_id": 8}


def test_the_repeat_check_after_the_duplicate_check_reads_nothing_again_and_finds_the_same_closed_case(session):
    """A report opened is compared with the open cases of its place and matter, then with the closed ones (回头件):
    one statement reads both; the closed case is the one the 回头件 check finds by itself."""
    from handlers.cases.duplicates import likely_duplicate, likely_repeat
    from handlers.cases.timing import clock_rules

    rules = clock_rules()
    unit = session.scalars(select(Unit).order_by(Unit.id)).first()
    closed = new_case(session, unit)
    closed.state, closed.closed_at = CaseState.CLOSED, utcnow()
    again = new_case(session, unit)
    again.reporter_userid = "someone-else"
    session.flush()
    alone = likely_repeat(session, again, rules.repeat_window, rules.duplicate_similarity)
    assert alone == closed.id
    likely_duplicate(session, again, rules.duplicate_window, rules.duplicate_similarity,
                     repeat_window=rules.repeat_window)
    update_loaded(session, again, {"suspect_of_id": closed.id})  # as a 疑似重复 mark between the checks: kept
    with statements(session) as seen:
        assert likely_repeat(session, again, rules.repeat_window, rules.duplicate_similarity) == alone
    assert seen == []


def test_words_saying_again_wrong_from_someone_registered_now_read_no_case(session):
    """A first-time resident's report saying something is wrong again (又坏了, a typhoon night's 电梯又坏了) is no
    rating nor words for a closed case of theirs: they have none, and no case is read to find that out."""
    resident, convo = resident_and_conversation(session, "first-time-again")
    services = Services(config_dir=SHIPPED_CONFIG_DIR)
    text, now = "楼下的路灯又坏了，晚上黑乎乎的", utcnow()
    with statements(session) as seen:
        assert remark_first.rated_first(session, services, resident, convo, text, None, now) is None
        assert follow_ups.still_wrong_when_closed(session, services, resident, text, now) is None
    assert not [sql for sql in seen if "FROM cases" in sql or "case_followers" in sql]


def test_a_short_report_naming_a_building_from_someone_registered_now_reads_no_case(session):
    """湖景苑5栋电梯坏了 from a first-time resident may read as a place correction by its length (place_fix.moved):
    they have no case to move, and no case is read to find that out (it read every open case, newest first)."""
    resident, _ = resident_and_conversation(session, "first-time-short")
    with statements(session) as seen:
        assert place_fix.moved(session, Services(config_dir=SHIPPED_CONFIG_DIR), resident, "湖景苑5栋电梯坏了",
                               utcnow()) is None
    assert not [sql for sql in seen if "FROM cases" in sql]
