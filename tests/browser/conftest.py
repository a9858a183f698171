"""Browser tests: Debian's chromium + chromedriver (headless) driving the running app.

One browser per module keeps the suite fast. Set GRIDBOT_SCREENSHOTS=DIR to save a PNG
of each main page there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.chromium import available, chromium, full_page
from tests.e2e.conftest import app_settings, app_url, db, fake_wecom, wecom  # noqa: F401 - shared fixtures


@pytest.fixture(scope="module")
def browser():
    if not available():
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def screenshot(browser):
    """screenshot(name): save the page as DIR/name.png when GRIDBOT_SCREENSHOTS=DIR is set."""
    folder = os.environ.get("GRIDBOT_SCREENSHOTS")

    def take(name: str) -> None:
        if folder:
            full_page(browser, Path(folder) / f"{name}.png")

    return take
