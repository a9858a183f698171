"""The chat simulator in a real browser: a whole conversation (report, 接单 and 办结 in the group, the
resident's notices and rating, a plain-WeChat neighbour) drawn as bubbles with names and times, kept across
user switches and reloads."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

REPORT = "小区东门的路灯坏了三盏，晚上出门很黑"
WAIT = 20  # generous upper bounds: every wait ends as soon as its bubble is drawn


def _bubbles(browser, pane: str) -> list[dict]:
    return browser.execute_script("""
        return [...document.querySelectorAll('#' + arguments[0] + ' .row')].map((row) => ({
          side: row.className.replace('row ', ''), meta: row.querySelector('.meta').textContent,
          text: row.querySelector('.msg').textContent}));""", pane)


def _until(browser, pane: str, found) -> list[dict]:
    """Wait until some bubble of `pane` satisfies `found`; the pane's bubbles then."""
    WebDriverWait(browser, WAIT).until(lambda b: any(found(bubble) for bubble in _bubbles(b, pane)))
    return _bubbles(browser, pane)


def _send(browser, box: str, text: str) -> None:
    field = browser.find_element(By.ID, box)
    field.send_keys(text)
    field.submit()


def _pick(browser, select: str, value: str, pane: str | None = None) -> None:
    """Choose `value`; with `pane`, wait until that pane shows `value`'s conversation."""
    Select(browser.find_element(By.ID, select)).select_by_value(value)
    if pane:
        WebDriverWait(browser, WAIT).until(
            lambda b: b.find_element(By.ID, pane).get_attribute("data-of") == value)


@pytest.fixture(scope="module")
def page(browser, app_url):
    browser.get(app_url + "/demo/")
    browser.execute_script("localStorage.clear()")
    browser.get(app_url + "/demo/")
    return browser


def test_a_whole_conversation_is_kept_across_switches_and_reloads(page, screenshot):
    browser = page
    _pick(browser, "user", "demo-resident", "private")
    _send(browser, "text", REPORT)
    reply = _until(browser, "private", lambda b: b["side"] == "bot" and "GB-" in b["text"])
    number = re.search(r"GB-(\d{6})", next(b["text"] for b in reply if "GB-" in b["text"])).group(1)
    mine = next(b for b in reply if b["text"] == REPORT)
    assert mine["side"] == "me" and re.fullmatch(r"张丽 · \d{2}:\d{2}", mine["meta"])

    _until(browser, "group", lambda b: b["side"] == "notice" and number in b["text"])
    _pick(browser, "member", "demo-worker")
    _send(browser, "command", f"接单 {int(number)}")
    group = _until(browser, "group", lambda b: b["side"] == "bot" and number in b["text"])
    assert any(b["side"] == "me" and b["meta"].startswith("陈晓梅 · ") for b in group)

    _pick(browser, "user", "demo-worker", "private")  # the worker's private notices; the resident's words are not here
    worker = _until(browser, "private", lambda b: b["side"] == "notice" and number in b["text"])
    assert not any(b["text"] == REPORT for b in worker)
    _send(browser, "command", f"办结 {int(number)} 已更换三盏路灯，晚上亮了")
    _until(browser, "group", lambda b: b["side"] == "bot" and "办结" in b["text"])

    _pick(browser, "user", "demo-resident", "private")  # back: the conversation is read back, with what happened since
    _until(browser, "private", lambda b: b["side"] == "notice" and "已办结" in b["text"])
    _send(browser, "text", "1")
    _until(browser, "private", lambda b: b["side"] == "bot" and "评价" in b["text"])

    address = Select(browser.find_element(By.ID, "building")).first_selected_option.text
    browser.find_element(By.ID, "scan").click()  # a neighbour on plain WeChat scans the building's code
    _until(browser, "kf", lambda b: b["side"] == "bot" and address in b["text"])
    _send(browser, "kf-text", "小区的路灯坏了好几盏")
    kf = _until(browser, "kf", lambda b: b["side"] == "bot" and "GB-" in b["text"])
    assert [b["side"] for b in kf] == ["me", "bot", "me", "bot"] and kf[2]["text"] == "小区的路灯坏了好几盏"
    assert kf[0]["meta"].startswith("微信居民 · ") and address in kf[1]["text"]
    browser.set_window_size(1400, 1500)  # tall enough to show each pane's whole conversation
    screenshot("simulator")

    before = _bubbles(browser, "private")
    browser.refresh()
    assert Select(browser.find_element(By.ID, "user")).first_selected_option.get_attribute("value") == "demo-resident"
    WebDriverWait(browser, WAIT).until(lambda b: len(_bubbles(b, "private")) == len(before))
    assert _bubbles(browser, "private") == before


def test_bubbles_are_sized_to_their_text_and_mine_sit_on_the_right(page):
    browser = page
    widths = browser.execute_script("""
        const log = document.getElementById('private').getBoundingClientRect();
        const rows = [...document.querySelectorAll('#private .row.me .msg')];
        const short = rows.find((m) => m.textContent === '1').getBoundingClientRect();
        const long = rows.find((m) => m.textContent.length > 10).getBoundingClientRect();
        return {log: log.width, logRight: log.right, short: short.width, long: long.width, shortRight: short.right};""")
    assert widths["short"] < widths["long"] < widths["log"]
    assert widths["short"] < widths["log"] / 4
    assert widths["logRight"] - widths["shortRight"] < 40
