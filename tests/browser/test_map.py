"""一图统揽 on a map in a real browser: grid shapes with data-grid, colours by cases or visit coverage,
case markers, a grid's cases and due visits on click, Leaflet from the app's own static files."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from models import Grid
from tests.browser.test_console import _login
from tests.e2e.admin_client import ADMIN_PASSWORD
from tests.e2e.worker_chat import number_in
from tests.wecom_sim import location_xml

HOME_GRID = "441999001001001"  # demo-worker's grid
CASES_FILL, COVERAGE_FILL = "#dd6b20", "#c53030"  # has open cases; under half visited


@pytest.fixture(scope="module")
def located_case(wecom) -> str:
    """A report placed by a location message inside demo-worker's grid (a marker on the map)."""
    asked = wecom.send_text("map-resident", "路边的井盖松动了，车一压就响，晚上很危险")
    number = number_in(asked)
    wecom.reply_text(wecom.post_xml(location_xml("map-resident", 22.5819, 113.0819, "湖滨路88号阳光小区")))
    return number


@pytest.fixture(scope="module")
def visited(wecom) -> str:
    assert "已记录走访" in wecom.send_text("demo-worker", "走访 赵桂香 家中情况良好")
    return "赵桂香"


def _fill(browser, code: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, f'path[data-grid="{code}"]').get_attribute("data-fill")


def test_every_grid_is_a_shape_and_a_click_shows_its_cases_and_due_visits(
        browser, app_url, db, located_case, visited, screenshot):
    _login(browser, app_url, ADMIN_PASSWORD)
    browser.get(app_url + "/admin/map")
    with db() as session:
        expected = sum(1 for boundary in session.scalars(select(Grid.boundary)) if boundary)
    WebDriverWait(browser, 15).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "path[data-grid]")) == expected)
    assert browser.execute_script("return typeof L === 'object' && L.version") == "1.9.4"
    sources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert sources and all(source.startswith(app_url) for source in sources)  # no CDN, no tiles

    home = browser.find_element(By.CSS_SELECTOR, f'path[data-grid="{HOME_GRID}"]')
    assert int(home.get_attribute("data-open")) >= 1 and _fill(browser, HOME_GRID) == CASES_FILL
    assert browser.find_elements(By.CSS_SELECTOR, f'[data-case="{located_case}"]')

    browser.find_element(By.ID, "colour-coverage").click()
    assert _fill(browser, HOME_GRID) == COVERAGE_FILL  # 1 of 3 visited
    assert browser.find_element(By.ID, "map").get_attribute("data-colour") == "coverage"

    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", home)
    WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.ID, "grid-detail").get_attribute("data-grid") == HOME_GRID)
    detail = browser.find_element(By.ID, "grid-detail").text
    assert "阳光社区第一网格" in detail and located_case in detail
    assert "王秀英" in detail and "王秀兰" in detail and visited not in detail
    browser.find_element(By.ID, "colour-cases").click()
    assert _fill(browser, HOME_GRID) == CASES_FILL
    screenshot("map")


def test_the_dashboard_shows_visit_coverage_and_patrol_check_ins(browser, app_url, visited):
    browser.get(app_url + "/admin/")
    rows = browser.find_element(By.ID, "visit-coverage").text
    assert "阳光社区第一网格" in rows and "33.3%" in rows
    assert browser.find_element(By.ID, "kpi-visits-overdue").text.endswith("0")
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-checkins rect.bar")
