"""The progress page in chromium at a phone's viewport: the case with its timeline and masked worker,
rating buttons after 办结 that act like the chat words, and a polite not-found for a tampered link."""

from __future__ import annotations

import os
import re
from pathlib import Path

from selenium.webdriver.common.by import By
from sqlalchemy import select

from models import Case, CaseState, Worker
from tests.e2e.worker_chat import digits, report

PHONE = (390, 844)  # CSS pixels of a common phone


def _path_of(text: str) -> str:
    match = re.search(r"/p/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+", text)
    assert match, text
    return match.group(0)


def _phone_shot(browser, name: str) -> None:
    folder = os.environ.get("GRIDBOT_SCREENSHOTS")
    if folder:
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(PHONE[0], min(max(height, PHONE[1]), 2400))
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(folder) / f"{name}.png"))
        browser.set_window_size(*PHONE)


def test_progress_page_on_a_phone_shows_the_case_and_rates_like_the_chat_words(browser, app_url, wecom, db):
    number = report(wecom, "小区东门的路灯坏了三盏，晚上一片漆黑")
    case_id = digits(number)
    path = _path_of(wecom.send_text("demo-resident", f"进度 {case_id}"))
    assert "已接单" in wecom.send_text("demo-worker", f"接单 {case_id}")
    wecom.send_text("demo-worker", f"进展 {case_id} 已报修电工明早到场")
    wecom.send_text("demo-worker", f"办结 {case_id} 三盏路灯已更换")
    with db() as session:
        worker = session.scalars(select(Worker).where(Worker.userid == "demo-worker")).one()

    browser.set_window_size(*PHONE)
    browser.get(app_url + path)
    assert browser.find_element(By.ID, "case-number").text == number
    assert browser.find_element(By.ID, "case-state").text == "已办结"
    assert browser.find_element(By.ID, "worker").text == worker.name[0] + "*" * (len(worker.name) - 1)
    timeline = browser.find_element(By.ID, "timeline").text
    assert "接单" in timeline and "已报修电工明早到场" in timeline and "办结" in timeline
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0], "the page scrolls sideways on a phone"
    _phone_shot(browser, "progress")

    browser.find_element(By.ID, "rate-satisfied").click()
    assert "感谢您的评价" in browser.find_element(By.ID, "done").text
    with db() as session:
        case = session.get(Case, int(case_id))
        assert (case.rating, case.state) == ("satisfied", CaseState.ARCHIVED)

    browser.get(app_url + path[:-2] + ("xx" if not path.endswith("xx") else "yy"))
    assert "链接无效或已失效" in browser.find_element(By.ID, "not-found").text
    assert number not in browser.page_source
