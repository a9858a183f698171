"""The console in a real browser: login, wrong password, CSRF, dashboard figures, filters, rule tuning."""

from __future__ import annotations

import re

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import func, select

from models import OPEN_STATES, Case
from tests.e2e.admin_client import ADMIN_PASSWORD

REPORTS = ["楼下垃圾桶满了两天没人清理，臭气熏天", "楼上装修电钻噪音太大，吵得孩子没法睡觉",
           "小区门口路灯坏了好几盏，晚上很黑", "院子里天天有喵喵怪兽出没"]
NEW_WORD = "喵喵怪兽"


@pytest.fixture(scope="module")
def cases(wecom) -> list[str]:
    return [wecom.send_text("demo-resident", text) for text in REPORTS]


def _click(browser, css: str) -> None:
    """Click something that loads a new page, and wait until it has."""
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, css).click()
    WebDriverWait(browser, 15).until(lambda _: _is_gone(page))


def _is_gone(element) -> bool:
    """The old page's element is gone. Mid-navigation chromium may answer "node does not belong to
    the document" instead of a stale-element error; both mean the page was replaced."""
    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def _open(browser, base: str, path: str) -> None:
    browser.get(base + path)


def _text(browser, css: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, css).text


def _login(browser, app_url, password: str) -> None:
    _open(browser, app_url, "/admin/login")
    browser.find_element(By.ID, "username").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys(password)
    _click(browser, "#login")


def test_wrong_password_stays_on_the_login_page(browser, app_url, screenshot):
    _open(browser, app_url, "/admin/")
    assert "/admin/login" in browser.current_url
    screenshot("admin-login")
    _login(browser, app_url, "wrong-password")
    assert "账号或密码错误" in _text(browser, "#login-error")


def test_a_tampered_csrf_token_is_rejected(browser, app_url):
    _open(browser, app_url, "/admin/login")
    browser.execute_script("document.querySelector('input[name=csrf_token]').value = 'forged'")
    browser.find_element(By.ID, "username").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    _click(browser, "#login")
    assert "安全令牌" in _text(browser, "#forbidden")


def test_login_shows_a_dashboard_whose_figures_match_the_database(browser, app_url, db, cases, screenshot):
    _login(browser, app_url, ADMIN_PASSWORD)
    assert "admin" in _text(browser, "#whoami")
    with db() as session:
        received = session.scalar(select(func.count()).select_from(Case))
        open_now = session.scalar(select(func.count()).select_from(Case).where(Case.state.in_(OPEN_STATES)))
    opened = sum(bool(re.search(r"GB-\d{6}", reply)) for reply in cases)  # an ask-back opens no case yet
    assert _text(browser, "#kpi-received .value") == str(received) == str(opened) and opened >= len(cases) - 1
    assert _text(browser, "#kpi-open .value") == str(open_now)
    assert browser.find_element(By.CSS_SELECTOR, "svg#chart-daily polyline").is_displayed()
    screenshot("admin-dashboard")


def test_filtering_cases_by_category_and_text(browser, app_url, db, screenshot):
    _open(browser, app_url, "/admin/cases")
    Select(browser.find_element(By.ID, "f-category")).select_by_visible_text("噪音扰民")
    _click(browser, "#apply-filters")
    categories = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#case-table td.category")]
    with db() as session:
        expected = session.scalar(select(func.count()).select_from(Case).where(Case.category == "噪音扰民"))
    assert categories == ["噪音扰民"] * expected and expected >= 1
    screenshot("admin-cases")
    _click(browser, "#case-table td a")
    assert _text(browser, "#case-category").startswith("噪音扰民")
    assert browser.find_elements(By.CSS_SELECTOR, "#timeline li")
    screenshot("admin-case")


def test_explain_box(browser, app_url, screenshot):
    _open(browser, app_url, "/admin/rules")
    browser.find_element(By.ID, "explain-text").send_keys("樓上裝修噪音太大")
    _click(browser, "#explain")
    assert "噪音扰民" in _text(browser, "#explain-1 .decision")
    assert "楼上装修噪音太大" in _text(browser, "#explain-1 .normalised")
    screenshot("admin-rules")


def _edit_rules(browser, app_url, category: str, change) -> None:
    _open(browser, app_url, "/admin/rules")
    _click(browser, f'a.edit-category[data-category="{category}"]')
    _click(browser, "#advanced-yaml")
    area = browser.find_element(By.ID, "rules-yaml")
    browser.execute_script("arguments[0].value = arguments[1]", area, change(area.get_attribute("value")))
    _click(browser, "#save-rules")
    assert "已保存到草稿" in _text(browser, "#rules-done")


def test_edit_a_rule_then_run_whatif(browser, app_url, cases, screenshot):
    _edit_rules(browser, app_url, "环境卫生",
                lambda rules: rules + f"- id: browser-monster\n  keywords: [{NEW_WORD}]\n  weight: 3.0\n")
    assert "草稿基于" in _text(browser, "#draft-status")
    limit = browser.find_element(By.ID, "whatif-limit")
    limit.clear()
    limit.send_keys("100")
    _click(browser, "#run-whatif")
    assert int(_text(browser, "#changed-count")) >= 1
    changed = _text(browser, "#message-changes")
    assert NEW_WORD in changed and "环境卫生" in changed
    screenshot("admin-whatif")


def test_publish_then_roll_back(browser, app_url):
    _open(browser, app_url, "/admin/rules")
    browser.find_element(By.ID, "publish-note").send_keys("browser test")
    _click(browser, "#publish")
    assert "v1" in _text(browser, "#rules-done") and "v1" in _text(browser, "#live-version")

    _edit_rules(browser, app_url, "环境卫生", lambda rules: re.sub(r"- id: browser-monster\n(  .*\n)+", "", rules))
    _click(browser, "#publish")
    assert "v2" in _text(browser, "#live-version")

    _click(browser, "#rollback-1")
    assert "v3" in _text(browser, "#live-version")
    assert "回滚到 v1" in _text(browser, "#versions")


def test_registry_and_broadcast_pages(browser, app_url, screenshot):
    _open(browser, app_url, "/admin/registry/grids")
    assert browser.find_elements(By.CSS_SELECTOR, "#registry-table tr")
    screenshot("admin-registry")
    _open(browser, app_url, "/admin/broadcasts")
    assert browser.find_element(By.ID, "form-broadcast")
    screenshot("admin-broadcasts")


def test_logout(browser, app_url):
    _open(browser, app_url, "/admin/")
    _click(browser, "#logout")
    assert "/admin/login" in browser.current_url
    _open(browser, app_url, "/admin/cases")
    assert "/admin/login" in browser.current_url
