"""The likely-duplicate check runs on every opened case: it must find the recent cases of the same matter
and place on an index that ends at them (place, category, newest id first), for a case with a unit and
for one placed in a grid only — never read the category's cases of every place."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, event

from handlers.cases import duplicates
from models.base import Base


@pytest.mark.parametrize(("statement", "index"), [
    (duplicates._IN_UNIT, "ix_cases_unit_category (unit_id=? AND category=? AND id<?)"),
    (duplicates._IN_GRID, "ix_cases_grid_category (grid_id=? AND category=? AND id<?)"),
])
def test_the_earlier_cases_of_a_place_and_matter_are_searched_on_their_own_index(statement, index):
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def explain(_conn, _cursor, sql, parameters, _context, _many):
        return f"EXPLAIN QUERY PLAN {sql}", parameters

    with engine.connect() as connection:
        plan = connection.execute(statement, {"case_id": 1000, "category": "环境卫生", "since": datetime(2026, 11, 1),
                                              "reporter": "r", "place": 1}).all()
    assert [row[-1] for row in plan] == [f"SEARCH cases USING INDEX {index}"]


def test_a_report_sent_again_is_looked_for_among_the_residents_own_cases():
    """The double-tap check runs on every report: it reads the resident's cases (their index), not every case of
    the last minutes (a typhoon night's burst)."""
    from handlers.conversation import resident

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def explain(_conn, _cursor, sql, parameters, _context, _many):
        return f"EXPLAIN QUERY PLAN {sql}", parameters

    with engine.connect() as connection:
        plan = connection.execute(resident._RECENT_REPORTS, {"resident_id": 1, "userid": "r",
                                                             "since": datetime(2026, 11, 1)}).all()
    assert plan[0][-1] == "SEARCH cases USING INDEX ix_cases_resident_id (resident_id=?)"
