"""GET requests' filters: the spec's 90-day window, lists, status and paging, checked before any query."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from config.settings import SHIPPED_CONFIG_DIR
from handlers.classify import load_classifier
from handlers.open311 import Open311Error, parse_query

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def query(**params):
    return parse_query(params, load_classifier(SHIPPED_CONFIG_DIR), NOW)


def test_the_window_defaults_to_the_last_90_days_and_follows_one_given_end():
    assert (query().start, query().end) == (NOW - timedelta(days=90), NOW)
    since = query(start_date="2026-10-01T00:00:00+08:00")
    assert since.start == datetime(2026, 9, 30, 16, 0, tzinfo=timezone.utc) and since.end == NOW
    until = query(end_date="2026-06-01T00:00:00Z")
    assert until.end - until.start == timedelta(days=90)


@pytest.mark.parametrize("params", [
    {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"},  # more than 90 days
    {"start_date": "2026-05-01T00:00:00Z", "end_date": "2026-04-01T00:00:00Z"},  # backwards
    {"start_date": "yesterday"}, {"status": "pending"}, {"page": "0"}, {"page_size": "1001"},
    {"service_request_id": "GB-1,abc"},
])
def test_bad_filters_are_400(params):
    with pytest.raises(Open311Error) as refused:
        query(**params)
    assert refused.value.code == 400


def test_lists_map_to_cases_and_categories():
    found = query(service_request_id="GB-000012, 13", service_code="sanitation,noise", status="open,closed")
    assert found.case_ids == [12, 13] and found.categories == ["环境卫生", "噪音扰民"]
    assert found.statuses == set()  # both: no filter
    assert query(status="closed").statuses == {"closed"}
