"""The likely-duplicate and 回头件 checks run on every opened case: it must find the recent cases of the same matter
and place on an index that ends at them (place, category, newest id first), for a case with a unit and
for one placed in a grid only — never read the category's cases of every place. The double-tap check runs
on every report: it must read the resident's own cases."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from handlers import progress_links
from handlers.cases import duplicates, records
from handlers.conversation import case_reference, resident
from models.base import Base


def plan_of(statement, params: dict) -> list[str]:
    """SQLite's query plan of `statement` on an empty database with the app's schema, one line per step."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def explain(_conn, _cursor, sql, parameters, _context, _many):
        return f"EXPLAIN QUERY PLAN {sql}", parameters

    with engine.connect() as connection:
        return [row[-1] for row in connection.execute(statement, params).cursor.fetchall()]  # raw: not typed as its columns


PARAMS = {"case_id": 1000, "before": 1000, "category": "环境卫生", "since": datetime(2026, 11, 1),
          "closed_since": datetime(2026, 11, 1), "reporter": "r", "place": 1}


@pytest.mark.parametrize(("statement", "index"), [
    (duplicates._IN_UNIT, "ix_cases_unit_category (unit_id=? AND category=? AND id<?)"),
    (duplicates._IN_GRID, "ix_cases_grid_category (grid_id=? AND category=? AND id<?)"),
    (duplicates._CLOSED_IN_UNIT, "ix_cases_unit_category (unit_id=? AND category=? AND id<?)"),  # 回头件
    (duplicates._CLOSED_IN_GRID, "ix_cases_grid_category (grid_id=? AND category=? AND id<?)"),
])
def test_the_earlier_cases_of_a_place_and_matter_are_searched_on_their_own_index(statement, index):
    plan = plan_of(statement, PARAMS)
    assert plan == [f"SEARCH cases USING INDEX {index}"]


@pytest.mark.parametrize(("statement", "index"), [
    (duplicates._BOTH_IN_UNIT, "ix_cases_unit_category (unit_id=? AND category=? AND id<?)"),
    (duplicates._BOTH_IN_GRID, "ix_cases_grid_category (grid_id=? AND category=? AND id<?)"),
])
def test_the_open_and_closed_cases_of_a_place_and_matter_read_together_are_searched_on_their_index(statement, index):
    """The duplicate check reads the 回头件 check's closed cases with its open ones: two searches, no scan."""
    plan = plan_of(statement, PARAMS)
    searches = [step for step in plan if step.startswith(("SEARCH", "SCAN cases"))]
    assert searches == [f"SEARCH cases USING INDEX {index}"] * 2


def test_a_report_sent_again_is_looked_for_among_the_residents_own_cases():
    """Not every case of the last minutes (a typhoon night's burst: before, `SCAN cases` on every report)."""
    plan = plan_of(resident._RECENT_REPORTS, {"resident_id": 1, "userid": "r", "since": datetime(2026, 11, 1)})
    assert plan[0] == "SEARCH cases USING INDEX ix_cases_resident_id (resident_id=?)"


def test_the_case_a_late_category_answer_sorts_is_looked_for_among_the_residents_own_cases():
    """Asked on every text a resident sends (drafts.late_choice); by reporter alone SQLite read every case newer than
    the one it found: every case, for someone with none open (a typhoon night's thousands of new residents)."""
    plan = plan_of(records._LATEST_OPEN_OF_RESIDENT, {"resident_id": 1, "userid": "r"})
    assert plan[0] == "SEARCH cases USING INDEX ix_cases_resident_id (resident_id=?)"


@pytest.mark.parametrize("statement", [duplicates._OTHER_CLOSED_IN_UNIT, duplicates._OTHER_CLOSED_IN_GRID])
def test_the_other_matters_of_a_place_are_read_on_its_index(statement):
    """A report saying the problem is back looks at the place's cases of other categories too (its unit's or grid's):
    never every case."""
    plan = plan_of(statement, PARAMS)
    assert plan[0].startswith("SEARCH cases USING INDEX ix_cases_"), plan


@pytest.mark.parametrize("holder", [None, "a-follower"])
def test_the_live_link_of_a_case_for_its_holder_is_found_on_an_index_that_ends_at_it(holder):
    """Asked by every reply naming a case (a likely duplicate's follower gets a link of their own): not a scan of the
    case's links, one a follower, and a sort for the newest."""
    plan = plan_of(progress_links._LIVE_TOKEN, {"case_id": 1, "holder": holder})
    assert plan == ["SEARCH progress_links USING INDEX ix_progress_links_holder "
                    "(case_id=? AND revoked_at=? AND userid=?)"]


@pytest.mark.parametrize("find", [
    lambda session: case_reference.cases_in_play(session, "r"),
    lambda session: case_reference.finished_cases(session, "r"),
])
def test_the_cases_a_residents_words_may_point_at_are_found_by_their_reporter(find):
    """Asked when a resident's words ask after a case or say it is still wrong (又坏了, 还是没修): by state alone SQLite
    read every open case — a typhoon night's thousands — to find the resident's few."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    seen: list[tuple[str, tuple]] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append((args[2], args[3])))
    with Session(engine) as session:
        find(session)
    [(sql, parameters)] = seen
    with engine.connect() as connection:
        plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)]
    assert plan[0] == "SEARCH cases USING INDEX ix_cases_reporter (reporter_userid=?)", plan
