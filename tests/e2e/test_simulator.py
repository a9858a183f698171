"""The demo's chat simulator: it drives the app over the real encrypted protocols (app, AI bot, kf), and each
pane's conversation is read back from the database."""

from __future__ import annotations

import re

import httpx


def test_simulator_page_lists_people_and_the_demo_grid_first(app_url):
    page = httpx.get(f"{app_url}/demo/", timeout=10)
    assert page.status_code == 200
    assert "demo-resident" in page.text and "demo-worker" in page.text
    assert re.search(r"<option value=\"dept-cg-1\">城管执法 钟国栋", page.text), "department liaisons can be played too"
    chat_ids = re.findall(r'<option value="(grid-[^"]+)"', page.text)
    assert chat_ids, "every grid's group chat is offered"


def _history(http: httpx.Client, **params) -> dict:
    return http.get("/history", params=params).json()


def test_resident_text_then_worker_mention_in_the_group(app_url, fake_wecom):
    http = httpx.Client(base_url=f"{app_url}/demo", timeout=10)
    sent = http.post("/send", json={"userid": "demo-resident", "text": "小区门口的垃圾桶满了好几天没人清理"}).json()
    assert sent["status"] == 200
    number = re.search(r"GB-(\d{6})", sent["reply"]).group(1)

    chat_id = re.search(r'<option value="(grid-[^"]+)"', http.get("/").text).group(1)
    group = fake_wecom.wait_for(lambda: [m for m in _history(http, chatid=chat_id)["group"] if number in m["text"]])
    assert group[0]["side"] == "notice", "the new case shows in the demo resident's grid group"

    taken = http.post("/mention", json={"userid": "demo-worker", "chatid": chat_id, "text": f"接单 {int(number)}"})
    assert taken.json()["status"] == 200
    assert number in taken.json()["reply"]
    told = fake_wecom.wait_for(lambda: [m for m in _history(http, userid="demo-resident")["private"]
                                        if number in m["text"] and "接单" in m["text"] and m["side"] == "notice"])
    assert told, "the resident hears that the worker took the case"


def test_each_pane_is_read_back_from_the_database_with_names_and_beijing_times(app_url):
    http = httpx.Client(base_url=f"{app_url}/demo", timeout=10)
    chat_id = re.search(r'<option value="(grid-[^"]+)"', http.get("/").text).group(1)
    asked = http.post("/send", json={"userid": "demo-resident", "text": "请问社区办事大厅几点开门"}).json()["reply"]
    http.post("/send", json={"userid": "demo-worker", "text": "帮助"})  # someone else talks meanwhile
    http.post("/mention", json={"userid": "demo-worker", "chatid": chat_id, "text": "帮助"})

    private = _history(http, userid="demo-resident")["private"]  # as after switching back, or a reload
    mine = next(i for i, m in enumerate(private) if m["text"] == "请问社区办事大厅几点开门")
    assert private[mine]["side"] == "me" and private[mine]["who"] == "张丽"
    assert private[mine + 1] == {**private[mine + 1], "side": "bot", "who": "网格通", "text": asked}
    assert all(re.fullmatch(r"\d{2}:\d{2}", m["time"]) and m["at"].endswith("+08:00") for m in private)
    assert [m["at"] for m in private] == sorted(m["at"] for m in private)
    assert not any(m["text"] == "帮助" for m in private), "the worker's chat stays in the worker's pane"

    group = _history(http, chatid=chat_id)["group"]
    mention = [m for m in group if m["side"] == "me" and "帮助" in m["text"]]
    assert mention and mention[-1]["who"] == "陈晓梅"
def test_the_wechat_resident_pane_speaks_kf_through_the_fake(app_url, fake_wecom):
    http = httpx.Client(base_url=f"{app_url}/demo", timeout=10)
    page = http.get("/").text
    building = re.search(r'<select id="building"><option value="([^"]+)">([^<]+)<', page)
    assert building, "the pane offers the demo resident's buildings"
    code, address = building.groups()

    def feed() -> list[str]:
        return [m["text"] for m in _history(http, kf="wmSimPane01")["kf"] if m["side"] != "me"]

    assert http.post("/kf/send", json={"external_userid": "wmSimPane01", "scene_param": code}).json()["status"] == 200
    assert address in fake_wecom.wait_for(feed)[0], "greeted with the building"
    assert http.post("/kf/send", json={"external_userid": "wmSimPane01",
                                       "text": "楼道里的灯坏了好几天"}).json()["status"] == 200
    opened = fake_wecom.wait_for(feed, 2)
    assert len(opened) == 2 and re.search(r"GB-\d{6}", opened[1]) and address in opened[1]
