"""The rule editor in a real browser (under the console's CSP): words typed become tags, the form shows the
fields of the chosen way of matching, the test box answers on the same page, and saving lands in the draft."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.browser.test_console import _click, _login, _text
from tests.e2e.admin_client import ADMIN_PASSWORD

CATEGORY = "环境卫生"
WORD = "嘀嗒怪"  # made up: no shipped rule knows it
REPORT = f"小区花坛边上天天有{WORD}乱窜"


@pytest.fixture(scope="module")
def reported(wecom) -> str:
    return wecom.send_text("demo-resident", REPORT)


def _tags(browser) -> list[str]:
    return [tag.text.rstrip("×") for tag in browser.find_elements(By.CSS_SELECTOR, '.tags[data-for="rule-terms"] .tag')]


def test_a_new_rule_is_tried_then_saved_from_the_form(browser, app_url, reported, screenshot):
    _login(browser, app_url, ADMIN_PASSWORD)
    browser.get(f"{app_url}/admin/rules/category/{CATEGORY}")
    _click(browser, "#add-rule")
    terms = browser.find_element(By.ID, "rule-terms")
    terms.send_keys(f"{WORD}，{WORD}精")
    assert _tags(browser) == [WORD, f"{WORD}精"]  # the page's own script runs under the CSP nonce
    browser.find_element(By.CSS_SELECTOR, '.tags[data-for="rule-terms"] .tag:last-child .remove').click()
    assert terms.get_attribute("value") == WORD and _tags(browser) == [WORD]

    threshold = browser.find_element(By.ID, "rule-threshold")
    assert not threshold.is_displayed()
    browser.find_element(By.ID, "kind-fuzzy").click()
    assert threshold.is_displayed() and "相似" in _text(browser, "#kind-help")
    browser.find_element(By.ID, "kind-keywords").click()

    weight = browser.find_element(By.ID, "rule-weight")
    weight.clear()
    weight.send_keys("3")
    browser.find_element(By.ID, "rule-sample").send_keys(f"门口也有{WORD}")
    _click(browser, "#try-rule")
    assert "命中 1 条" in _text(browser, "#trial-count")
    assert REPORT in _text(browser, "#trial-hits") and WORD in _text(browser, "#trial-sample")
    assert _tags(browser) == [WORD]  # the form came back as it was typed
    screenshot("rule-editor")

    _click(browser, "#save-rule")
    assert "已保存到草稿" in _text(browser, "#rule-done")
    saved = browser.find_element(By.CSS_SELECTOR, '#rule-list tr[data-rule^="sanitation-rule-"]')
    assert WORD in saved.text


def test_a_wrong_weight_is_said_next_to_the_field(browser, app_url):
    browser.get(f"{app_url}/admin/rules/category/{CATEGORY}")
    _click(browser, "#rule-list a.edit-rule")
    weight = browser.find_element(By.ID, "rule-weight")
    weight.clear()
    weight.send_keys("很重")
    _click(browser, "#save-rule")
    assert "权重须是 0 到 10 之间的数" in _text(browser, "#error-weight")
    assert browser.find_element(By.ID, "rule-weight").get_attribute("value") == "很重"
