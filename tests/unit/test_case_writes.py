"""Opening a case writes it and its first event with two INSERTs, no unit-of-work flush (issue 21), and
behaves as a flushed case would: complete in the session, gone from it when its savepoint rolls back."""

from __future__ import annotations

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from models import Case, CaseEvent, Resident
from tests.unit.lifecycle_support import T0, district, factory, new_case, services  # noqa: F401 (fixtures)


class _Counted:
    """Flushes and statements of one session while the block runs."""

    def __init__(self, session: Session) -> None:
        self.session, self.flushes, self.statements = session, 0, []

    def __enter__(self) -> _Counted:
        event.listen(self.session, "before_flush", self._flush)
        event.listen(self.session.connection(), "before_cursor_execute", self._statement)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.session, "before_flush", self._flush)
        event.remove(self.session.connection(), "before_cursor_execute", self._statement)

    def _flush(self, *_args) -> None:
        self.flushes += 1

    def _statement(self, _conn, _cursor, statement, *_args) -> None:
        self.statements.append(statement.split()[0].upper())


def test_a_case_and_its_first_event_are_two_inserts_without_a_flush_and_complete_in_the_session(factory, district,
                                                                                                 services):
    with factory.begin() as session:
        session.add(Resident(userid="w-resident"))
        session.flush()
        with _Counted(session) as counted:
            case = new_case(session, services, reporter="w-resident", text="楼道灯坏了")
            first = case.events[0]  # known: no query
            assert (case.grid.code, case.assignee.userid, case.resident.userid, case.level) == (
                "t-grid-1", "t-worker", "w-resident", 0)
        assert counted.flushes == 0
        assert [s for s in counted.statements if s != "SELECT"] == ["INSERT", "INSERT"]  # the case, its event
        assert first.case is case and first.action == "report" and first.to_state == case.state
        case_id, due = case.id, case.take_due
    with factory() as session:
        stored = session.get(Case, case_id)
        assert (stored.text, stored.reporter_userid, stored.take_due, stored.duplicate_of_id) == (
            "楼道灯坏了", "w-resident", due, None)
        assert stored.resident.userid == "w-resident" and stored.grid.code == "t-grid-1"
        assert [(e.action, e.attachments, e.at) for e in stored.events] == [("report", [], T0)]


def test_a_resident_registered_in_the_same_transaction_is_written_first(factory, district, services):
    with factory.begin() as session:
        case = new_case(session, services, reporter="w-newcomer")  # its Resident is still pending here
        case_id = case.id
    with factory() as session:
        assert session.get(Case, case_id).resident.userid == "w-newcomer"


def test_a_case_whose_savepoint_rolls_back_leaves_the_session_and_its_id_can_be_used_again(factory, district,
                                                                                           services):
    with factory.begin() as session:
        before = session.scalar(select(func.count()).select_from(Case))
        try:
            with session.begin_nested():
                lost = new_case(session, services, text="回滚的事项")
                lost_id = lost.id
                raise RuntimeError("the message failed")
        except RuntimeError:
            pass
        assert lost not in session and lost.events[0] not in session
        kept = new_case(session, services, text="保留的事项")  # SQLite hands out the same id again
        assert session.get(Case, kept.id) is kept
        kept_id = kept.id
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == before + 1
        assert session.get(Case, kept_id).text == "保留的事项"
        assert session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == kept_id)) == 1
        if lost_id != kept_id:
            assert session.get(Case, lost_id) is None
