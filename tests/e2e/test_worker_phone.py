"""A grid worker's day typed on a phone, over the encrypted protocol: the slips people make (a comma after a
name, an @-mention, a colleague on leave, a name that is nobody) get a short answer naming the case, and a
refused command changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Worker, WorkerRole
from tests.e2e.test_worker_commands import aibot, bot_say, home_chat, outsider  # noqa: F401 (fixtures)
from tests.e2e.worker_chat import digits, queued, report, show, taken


def nearby(building: int, matter: str = "门口的垃圾桶满了好几天没人清理") -> str:
    """A report in demo-worker's grid naming its own building (one per unit of two buildings: no two tests
    share one, so none is linked to another as a duplicate)."""
    return f"阳光小区一期{building}栋{matter}"


@pytest.fixture(scope="module")
def on_leave(db) -> str:
    """The name of a worker of demo-worker's grid who is on leave (请假)."""
    with db.begin() as session:
        home = session.scalars(select(Worker).where(Worker.userid == "demo-worker")).one().grids[0]
        worker = next(w for w in home.workers if w.role == WorkerRole.PARTTIME)
        worker.on_duty = False
        return worker.name


def test_transfer_to_a_worker_on_leave_is_refused_and_changes_nothing(wecom, on_leave, database_url):
    number, n = taken(wecom, nearby(1), "leave-neighbour")
    reply = wecom.send_text("demo-worker", f"转派 {n} {on_leave}")
    assert number in reply and on_leave in reply and "请假" in reply
    case = show(number, database_url)
    assert (case["state"], case["assignee"]) == ("in_progress", "demo-worker")
    assert [e["action"] for e in case["events"]] == ["report", "take"]


def test_transfer_target_may_be_an_at_mention_followed_by_a_comma_and_the_reason(wecom, database_url):
    number, n = taken(wecom, nearby(3), "mention-neighbour")
    assert "已转派给林建华" in wecom.send_text("demo-worker", f"转派 {n} @林建华，需要网格长出面协调物业")
    case = show(number, database_url)
    assert case["assignee"] == "demo-leader"
    assert case["events"][-1]["note"] == "林建华：需要网格长出面协调物业"


def test_transfer_reason_may_follow_the_name_on_a_new_line(wecom, database_url):
    number, n = taken(wecom, nearby(5), "newline-neighbour")
    assert "已转派给林建华" in wecom.send_text("demo-worker", f"转派 {n} 林建华\n物业不配合")
    assert show(number, database_url)["events"][-1]["note"] == "林建华：物业不配合"


@pytest.mark.parametrize("who", ["王大锤", "demo-resident"])
def test_transfer_to_someone_who_is_not_a_worker_names_the_case_and_changes_nothing(wecom, database_url, who):
    number, n = taken(wecom, nearby(7 if who == "王大锤" else 9), f"nobody-neighbour-{who}")
    reply = wecom.send_text("demo-worker", f"转派 {n} {who}")
    assert number in reply and f"没有找到网格员“{who}”" in reply
    assert show(number, database_url)["assignee"] == "demo-worker"


def test_recategorize_reads_a_name_close_to_a_category(wecom, database_url):
    number, n = taken(wecom, nearby(11), "category-neighbour")
    for written, meant in (("噪音扰民。", "噪音扰民"), ("環境衛生", "环境卫生"), ("噪声扰民", "噪音扰民"),
                           ("环境卫生问题", "环境卫生")):
        reply = wecom.send_text("demo-worker", f"改类 {n} {written}")
        assert reply.startswith(f"{number} 类别已改为“{meant}”"), (written, reply)
    notes = [e["note"] for e in show(number, database_url)["events"] if e["action"] == "recategorize"]
    assert notes == ["环境卫生 → 噪音扰民", "噪音扰民 → 环境卫生", "环境卫生 → 噪音扰民", "噪音扰民 → 环境卫生"]


def test_recategorize_to_a_name_of_two_categories_asks_which_and_changes_nothing(wecom, database_url):
    number, n = taken(wecom, nearby(13), "which-neighbour")
    reply = wecom.send_text("demo-worker", f"改类 {n} 卫生")
    assert number in reply and "环境卫生" in reply and "医疗卫生" in reply and f"改类 {n} 环境卫生" in reply
    unknown = wecom.send_text("demo-worker", f"改类 {n} 火星事务")
    assert number in unknown and "没有找到类别“火星事务”" in unknown
    case = show(number, database_url)
    assert case["category"] == "环境卫生" and [e["action"] for e in case["events"]] == ["report", "take"]


def test_take_with_several_numbers_takes_none_and_says_to_send_them_one_by_one(wecom, database_url):
    first = report(wecom, nearby(15), "batch-neighbour")
    second = report(wecom, nearby(16, "楼道的灯坏了好几天，晚上黑漆漆的"), "batch-neighbour-2")
    a, b = digits(first), digits(second)
    reply = wecom.send_text("demo-worker", f"接单 {a}、{b}")
    assert first in reply and second in reply and f"“接单 {a}”" in reply and f"“接单 {b}”" in reply
    assert [show(number, database_url)["state"] for number in (first, second)] == ["pending", "pending"]


def test_take_with_words_after_the_number_still_takes_it(wecom, database_url):
    number = report(wecom, nearby(2, "门口的路面塌了个坑，很危险"), "words-neighbour")
    assert "已接单" in wecom.send_text("demo-worker", f"接单 {digits(number)} 5分钟后到")
    assert show(number, database_url)["assignee"] == "demo-worker"


def test_a_double_tapped_escalation_escalates_once(wecom, db, database_url):
    number, n = taken(wecom, nearby(4, "楼下的井盖松了，踩上去会晃"), "tap-neighbour")
    first = wecom.send_text("demo-worker", f"提级 {n} 需要协调物业")
    again = wecom.send_text("demo-worker", f"提级 {n} 需要协调物业")  # a second tap: a new MsgId
    assert "已提级至网格长" in first
    assert number in again and "没有重复" in again and "社区" not in again
    case = show(number, database_url)
    assert case["level"] == 1 and [e["action"] for e in case["events"]].count("escalate") == 1
    assert len(queued(db, "demo-leader", number, "提级办理")) == 1


def test_a_double_tapped_progress_note_is_recorded_and_sent_once(wecom, db, database_url):
    number, n = taken(wecom, nearby(6, "楼道的灯坏了好几天，晚上黑漆漆的"), "tap-neighbour-2")
    replies = [wecom.send_text("demo-worker", f"进展 {n} 已联系电工，明天上午来修") for _ in range(2)]
    assert "进展已记录" in replies[0] and number in replies[1] and "没有重复" in replies[1]
    assert [e["action"] for e in show(number, database_url)["events"]].count("progress") == 1
    assert len(queued(db, "tap-neighbour-2", number, "已联系电工")) == 1
    assert "进展已记录" in wecom.send_text("demo-worker", f"进展 {n} 电工已到场")  # new words: a new step


def test_in_the_group_the_bots_mention_after_the_words_is_not_part_of_them(wecom, aibot, home_chat, database_url):
    number, n = taken(wecom, nearby(8, "楼下的路灯坏了一个星期，晚上黑漆漆的"), "group-neighbour")
    assert "进展已记录" in bot_say(aibot, "demo-worker", f"进展 {n} 已联系电工 @网格通", home_chat)
    assert show(number, database_url)["events"][-1]["note"] == "已联系电工"
    reply = bot_say(aibot, "demo-worker", f"改类 {n} 噪音扰民\u2005@网格通", home_chat)
    assert reply.startswith(f"{number} 类别已改为“噪音扰民”"), reply


def test_in_the_group_a_transfer_may_mention_the_colleague(wecom, aibot, home_chat, database_url):
    number, n = taken(wecom, nearby(10, "楼上半夜还在装修电钻响个不停"), "group-neighbour-2")
    assert "已转派给林建华" in bot_say(aibot, "demo-worker", f"转派 {n} @林建华 @网格通", home_chat)
    case = show(number, database_url)
    assert case["assignee"] == "demo-leader" and case["events"][-1]["note"] == "林建华"


def test_a_case_number_written_12hao_leaves_no_hao_in_the_note_the_resident_reads(wecom, db, database_url):
    number, n = taken(wecom, nearby(12, "门口的垃圾桶满了好几天没人清理"), "hao-neighbour")
    assert "已请居民评价" in wecom.send_text("demo-worker", f"办结 {n}号，垃圾已清运")
    assert show(number, database_url)["events"][-1]["note"] == "垃圾已清运"
    assert queued(db, "hao-neighbour", number, "已办结：垃圾已清运")


def test_a_command_after_an_acknowledgement_is_still_the_command(wecom, db, database_url):
    number = report(wecom, nearby(14, "门口的垃圾桶满了好几天没人清理"), "ack-neighbour")
    n = digits(number)
    assert "已接单" in wecom.send_text("demo-worker", f"收到，接单 {n}")
    assert "已请居民评价" in wecom.send_text("demo-worker", f"好的 办结 {n} 垃圾已清运，桶已消毒")
    case = show(number, database_url)
    assert case["state"] == "closed" and case["events"][-1]["note"] == "垃圾已清运，桶已消毒"


def test_merging_a_case_into_itself_says_so_and_changes_nothing(wecom, database_url):
    number = report(wecom, nearby(1, "楼上半夜还在装修电钻响个不停，吵得没法睡觉"), "self-merge-neighbour")
    n = digits(number)
    reply = wecom.send_text("demo-worker", f"合并 {n} {number}")
    assert number in reply and "没有找到" not in reply and "保留" in reply
    assert show(number, database_url)["state"] == "pending"


def test_a_refused_progress_note_says_what_was_refused_in_plain_chinese(wecom, outsider, database_url):
    number, n = taken(wecom, nearby(9, "楼下的污水井堵了，污水漫到路上"), "refused-neighbour")
    reply = wecom.send_text(outsider, f"进展 {n} 已到场")
    assert number in reply and "不能记录进展" in reply
    assert [e["action"] for e in show(number, database_url)["events"]] == ["report", "take"]


def test_a_resident_asking_after_their_case_reaches_the_worker_as_a_chase_with_how_to_answer(wecom, db, database_url):
    """那个…怎么样了 / 催一下 reached the worker as 【居民补充材料】, as if the words were more of the report, with no
    word that the resident waits for an answer nor how to give one."""
    assert "绑定" in wecom.send_text("phone-chaser", "绑定 阳光小区一期1栋")
    number, short = taken(wecom, "小区北门那盏路灯一到晚上就闪个不停", "phone-chaser")
    assert number in wecom.send_text("phone-chaser", "那个路灯的事怎么样了")
    [chase] = queued(db, "demo-worker", number, "那个路灯的事怎么样了")
    assert "【居民催问】" in chase and f"请回复“进展 {short} 内容”" in chase, chase
    assert "已记录并告知居民" in wecom.send_text("demo-worker", f"进展 {short} 已联系电工，明天上午来修")
    steps = [(event["action"], event["note"]) for event in show(number, database_url)["events"]]
    assert ("follow_up", "那个路灯的事怎么样了") in steps, steps
