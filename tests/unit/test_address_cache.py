"""The address index cache: a stale index is refreshed in the background, never inside a request."""

from __future__ import annotations

import time

from sqlalchemy import select

from handlers.services import AddressIndexCache
from models import Unit
from models.db import make_engine, make_session_factory
from tests.demo_db import demo_factory  # noqa: F401  (fixture)

NEW_ADDRESS = "缓存测试花园8栋"


def _add_unit(factory, code: str = "cache-test-1", address: str = NEW_ADDRESS) -> int:
    with factory.begin() as session:
        grid_id = session.scalar(select(Unit.grid_id).limit(1))
        unit = Unit(code=code, grid_id=grid_id, address=address, aliases=[])
        session.add(unit)
        session.flush()
        return unit.id


def test_stale_index_is_served_while_a_new_one_is_built_then_swapped_in(demo_factory):
    cache = AddressIndexCache(ttl=0.0)
    with demo_factory() as session:
        first = cache.get(session)
    unit_id = _add_unit(demo_factory)
    with demo_factory() as session:
        assert cache.get(session) is first  # stale: answered at once, rebuilt behind it
    refreshed = _next_index(cache, demo_factory, first)
    assert [m.unit_id for m in refreshed.match(NEW_ADDRESS)] == [unit_id]


def _next_index(cache: AddressIndexCache, factory, first):
    """The index `cache` serves once it has replaced `first` (waits for the background build)."""
    deadline = time.monotonic() + 30
    refreshed = first
    while refreshed is first and time.monotonic() < deadline:
        time.sleep(0.01)
        with factory() as session:
            refreshed = cache.get(session)
    return refreshed


def test_a_unit_added_by_another_process_is_indexed_long_before_the_ttl(demo_factory, database_url):
    cache = AddressIndexCache(ttl=3600)
    with demo_factory() as session:
        first = cache.get(session)
        assert cache.get(session) is first  # nothing changed: no rebuild
    other = make_engine(database_url)
    try:
        unit_id = _add_unit(make_session_factory(other), "cache-test-2", "版本测试花园9栋")
    finally:
        other.dispose()
    refreshed = _next_index(cache, demo_factory, first)
    assert [m.unit_id for m in refreshed.match("版本测试花园9栋")] == [unit_id]


def test_invalidate_rebuilds_on_next_use(demo_factory):
    cache = AddressIndexCache(ttl=3600)
    with demo_factory() as session:
        first = cache.get(session)
        cache.invalidate()
        assert cache.get(session) is not first
