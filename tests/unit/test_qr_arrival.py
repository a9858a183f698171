"""Where a report goes without asking: a building's QR code scanned a moment ago wins over the bound
address (the resident is standing there) but only within lifecycle.yaml's qr_arrival_window."""

from __future__ import annotations

from datetime import timedelta

from config.settings import SHIPPED_CONFIG_DIR
from handlers.cases.timing import clock_rules
from handlers.conversation.opening import known_place
from models import Resident, Unit, utcnow

NOW = utcnow()
WINDOW = clock_rules(SHIPPED_CONFIG_DIR).qr_arrival_window


def _where(resident: Resident, at=NOW) -> tuple[str, str] | None:
    place = known_place(resident, at, WINDOW)
    return (place.unit.code, place.source) if place is not None else None


def test_the_shipped_window_is_two_hours():
    assert WINDOW == timedelta(hours=2)


def test_a_bound_resident_reports_at_the_building_just_scanned_then_at_home_again():
    home, scanned = Unit(code="home", address="甲"), Unit(code="scanned", address="乙")
    resident = Resident(userid="kf:bound", unit=home, arrival_unit=scanned, arrived_at=NOW - timedelta(minutes=5))
    assert _where(resident) == ("scanned", "qr")
    assert _where(resident, NOW + WINDOW - timedelta(minutes=6)) == ("scanned", "qr")
    assert _where(resident, NOW + WINDOW) == ("home", "profile")


def test_scanning_the_bound_building_keeps_it_as_the_profile():
    home = Unit(code="home", address="甲")
    assert _where(Resident(userid="kf:same", unit=home, arrival_unit=home, arrived_at=NOW)) == ("home", "profile")


def test_an_unbound_resident_keeps_the_last_building_scanned_however_long_ago():
    scanned = Unit(code="scanned", address="乙")
    resident = Resident(userid="kf:unbound", arrival_unit=scanned, arrived_at=NOW - timedelta(days=30))
    assert _where(resident) == ("scanned", "qr")
    assert _where(Resident(userid="kf:nobody")) is None
