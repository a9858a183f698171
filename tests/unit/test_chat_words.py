"""Chat words: commands at word boundaries, full-width input, case numbers."""

import pytest

from handlers.chat.case_numbers import format_case_number, only_refs, parse_case_number, split_ref
from handlers.chat.commands import (
    announces_a_matter,
    gives_a_reason,
    is_chitchat,
    is_greeting,
    is_opener,
    is_thanks,
    is_yes,
    parse_command,
    rating_in_words,
    suggest,
)
from handlers.conversation.drafts import OTHER, hint_of, read_choice


@pytest.mark.parametrize("ref, expected", [("GB-000123", 123), ("gb123", 123), ("000123", 123), ("123", 123),
                                           ("１２３", 123), ("GB-", None), ("abc", None)])
def test_parse_case_number(ref, expected):
    assert parse_case_number(ref) == expected


def test_case_number_format_round_trips():
    assert format_case_number(123) == "GB-000123"
    assert parse_case_number(format_case_number(987654)) == 987654


@pytest.mark.parametrize("text, name, args", [
    ("接单 123", "take", "123"),
    ("接单　１２３", "take", "123"),
    ("接单：GB-000123", "take", "GB-000123"),
    ("方案 12 明天上午清理", "plan", "12 明天上午清理"),
    ("上报 楼道堆物", "patrol", "楼道堆物"),
    ("帮助", "help", ""),
])
def test_worker_commands_accept_full_width_and_chinese_punctuation(text, name, args):
    command = parse_command(text, "worker")
    assert (command.name, command.args) == (name, args)


@pytest.mark.parametrize("text, name", [("我的工单", "mine"), ("我的待办", "mine"), ("超时的", "overdue")])
def test_a_worker_asks_for_their_list_in_their_own_words(text, name):
    assert parse_command(text, "worker").name == name


@pytest.mark.parametrize("text, name", [("进度", "progress"), ("进度 12", "progress"), ("不满意 还是很吵", "unsatisfied"),
                                        ("满意", "satisfied"), ("基本满意", "basic"), ("绑定阳光花园3栋", "bind")])
def test_resident_commands(text, name):
    assert parse_command(text, "resident").name == name


@pytest.mark.parametrize("text", ["进度太慢了，一直没人管", "满意度调查是骗人的吧", "撤销违建的事情怎么说"])
def test_reports_that_start_like_a_command_stay_reports(text):
    assert parse_command(text, "resident") is None


def test_greetings_are_recognised_but_reports_are_not():
    assert is_greeting("你好！") and is_greeting("  ") and is_greeting("谢谢")
    assert is_greeting("[微笑][微笑]") and is_greeting("👍👍") and is_greeting("谢谢🙏")
    assert not is_greeting("你好，楼下垃圾没人清")


def test_a_mistyped_command_word_is_suggested_only_when_one_character_is_off():
    assert suggest("结单 3", "worker") == "接单 3"
    assert suggest("办节GB-000003 已处理", "worker") == "办结GB-000003 已处理"
    assert suggest("单接 3", "worker") == "接单 3"  # two characters swapped
    assert suggest("今天天气不错", "worker") is None
    assert suggest("结单的事情", "worker") is None  # not at a word boundary


def test_thanks_are_told_apart_from_other_greetings():
    assert is_thanks("谢谢！") and is_thanks("辛苦了[微笑]")
    assert all(is_thanks(words) for words in ("谢谢你们！", "非常感谢", "太感谢了～", "辛苦你们了", "謝謝你們"))
    assert not is_thanks("你好") and not is_thanks("谢谢你们帮我修好了路灯，但是楼道灯还是坏的")


def test_small_talk_is_recognised_but_short_reports_are_not():
    assert is_chitchat("今天天气真好啊") and is_chitchat("测试一下") and is_chitchat("你好")
    assert not is_chitchat("工地太吵") and not is_chitchat("井盖松了")
    assert not is_chitchat("天气一热，垃圾站的味道就飘到我家窗口")  # long: a report that mentions the weather


def test_an_opener_may_end_in_a_word_for_the_matter_but_names_none():
    """我想反映个事情 got the whole help text: 事情 after the opener was read as the matter itself."""
    assert all(is_opener(words) for words in ("我想反映个事情", "想反映一下情况", "有个事儿想问问", "您好，我有问题想咨询一下"))
    assert not is_opener("我想反映楼下垃圾没人清") and not is_opener("想反映噪音问题")


def test_a_bare_word_for_reporting_is_an_opener_not_a_report():
    """投诉 alone was asked back as 住房建设/噪音扰民/交通运输, 举报 alone opened a 违章搭建 case with no matter in it."""
    assert all(is_opener(words) for words in ("投诉", "我要举报！", "报修", "求助！！！"))
    assert not any(is_opener(words) for words in ("投诉物业不作为", "举报有人违建", "报修电梯"))


def test_everyday_ways_of_saying_there_is_something_to_report_are_openers():
    """我要反映个事 and 有事找你们 got the whole help text, as if the resident had said nothing to act on."""
    assert all(is_opener(words) for words in ("我要反映个事", "跟你们说个事", "我有事找你们", "我想找网格员", "有个情况要反映",
                                              "我要报个事", "我想說件事"))
    assert not any(is_opener(words) for words in ("说个事楼道灯坏了", "有事找网格员，楼下漏水", "楼下有事", "有事吗"))


@pytest.mark.parametrize("answer, expected", [
    ("2", "市政设施"), ("２", "市政设施"), ("3", OTHER), ("其他", OTHER), ("都不是。", OTHER),
    ("环境卫生", "环境卫生"), ("4", None), ("0", None), ("我说的是楼下那家店", None),
])
def test_an_ask_back_answer_names_a_choice_or_other_or_nothing(answer, expected):
    assert read_choice(answer, ["环境卫生", "市政设施"]) == expected


@pytest.mark.parametrize("answer, expected", [
    ("二", "市政设施"), ("贰", "市政设施"), ("第二个", "市政设施"), ("第2项", "市政设施"), ("选2", "市政设施"),
    ("2、", "市政设施"), ("（2）", "市政设施"), ("2 市政设施", "市政设施"), ("市政設施", "市政设施"),
    ("第三个", OTHER), ("3 其他（由网格员判断）", OTHER), ("其他（由网格员判断）", OTHER),
    ("2 环境卫生", None), ("第四个", None), ("一楼的灯坏了", None), ("二手车堵路", None), ("", None),
])
def test_an_ask_back_answer_is_read_however_the_number_or_name_is_written(answer, expected):
    assert read_choice(answer, ["环境卫生", "市政设施"]) == expected


@pytest.mark.parametrize("answer, expected", [
    ("第二个吧", "市政设施"), ("2啊", "市政设施"), ("选1吧！", "环境卫生"), ("不知道啊", OTHER), ("不清楚哦", OTHER),
    ("随便吧", OTHER), ("吧", None), ("一楼的灯坏了啊", None),
])
def test_an_ask_back_answer_said_with_a_particle_after_it(answer, expected):  # they were kept as more of the report
    assert read_choice(answer, ["环境卫生", "市政设施"]) == expected


def test_a_note_keeps_the_senders_own_characters_while_the_number_is_read_folded():
    command = parse_command("办结１２，已清走两车垃圾，楼道干净了！", "worker")
    ref, note = split_ref(command.args)
    assert (command.name, ref) == ("close", "12")
    assert command.as_written(note) == "已清走两车垃圾，楼道干净了！"


def test_words_in_traditional_characters_are_the_same_words_and_notes_keep_them_as_written():
    assert parse_command("進度 12", "resident").name == "progress"
    assert parse_command("撤銷１２", "resident").name == "withdraw"
    assert parse_command("不滿意 還是很吵", "resident").name == "unsatisfied"
    command = parse_command("辦結 12 垃圾已清運", "worker")
    ref, note = split_ref(command.args)
    assert (command.name, ref, command.as_written(note)) == ("close", "12", "垃圾已清運")


def test_a_rating_reason_keeps_its_own_punctuation():
    command = parse_command("不满意 3 还是很吵（晚上十点后）！", "resident")
    assert command.as_written(command.args.partition(" ")[2]) == "还是很吵（晚上十点后）！"


def test_text_whose_folding_changes_its_length_falls_back_to_the_folded_words():
    command = parse_command("进展 5 ㎡的积水已排干", "worker")  # ㎡ folds to two characters
    ref, note = split_ref(command.args)
    assert command.as_written(note) == note == "m2的积水已排干"


@pytest.mark.parametrize("text, ref, note", [
    ("办结 12号，已清理", "12", "已清理"),
    ("办结12号 已清理", "12", "已清理"),
    ("办结 #12 已清理", "#12", "已清理"),
    ("办结 GB 000012 已清理", "GB 000012", "已清理"),
    ("办结 12 3号楼垃圾已清理", "12", "3号楼垃圾已清理"),
])
def test_a_case_number_is_read_as_workers_write_it_and_the_note_keeps_none_of_it(text, ref, note):
    command = parse_command(text, "worker")
    assert command.name == "close" and split_ref(command.args) == (ref, note)
    assert parse_case_number(ref) == 12


def test_yes_is_said_in_many_words_but_a_report_is_no_yes():
    assert all(is_yes(word) for word in ("1", "１", "对的！", "没错", "好的[微笑]", "确定", "OK"))
    assert not any(is_yes(word) for word in ("2", "对面楼漏水", "好吵", "不是"))


@pytest.mark.parametrize("text, rating", [
    ("挺满意的", "satisfied"), ("很好👍", "satisfied"), ("[强]", "satisfied"), ("五星好评！", "satisfied"),
    ("還行吧", "basic"), ("一般般", "basic"), ("基本满意吧", "basic"),
    ("不太满意", "unsatisfied"), ("还是没修好", "unsatisfied"), ("不是很满意", "unsatisfied"),
    ("谢谢", None), ("好的", None), ("楼上的住户对物业很不满意，天天在楼道里吵架", None),
])
def test_a_rating_is_read_in_the_words_people_use_from_a_short_answer_only(text, rating):
    assert rating_in_words(text) == rating


@pytest.mark.parametrize("text, refs", [("3", ["3"]), ("3、4号", ["3", "4"]), ("和 GB-000004。", ["GB-000004"]),
                                        ("#5 #6", ["#5", "#6"]), ("5分钟后到", []), ("", [])])
def test_only_refs_finds_further_case_numbers_and_nothing_in_words(text, refs):
    assert only_refs(text) == refs


def test_an_unsatisfied_answer_that_says_why_is_its_own_reason():
    assert gives_a_reason("还没弄好，水还在往外冒") and gives_a_reason("不满意，垃圾第二天又堆满了")
    assert not any(gives_a_reason(words) for words in ("还没弄好啊", "不太满意", "真的不满意！", "根本没修好"))


def test_an_unsatisfied_answer_that_says_why_in_a_clause_of_one_word_is_its_own_reason():
    assert gives_a_reason("根本没修好，还是黑的") and gives_a_reason("没弄好，臭")
    assert not any(gives_a_reason(words) for words in ("不满意，哎", "没修好啊！！", "不行，真的"))


def test_a_category_is_offered_with_its_first_examples():
    assert hint_of("路灯、井盖、道路、下水道") == "路灯、井盖、道路等"
    assert hint_of("违建、私搭乱建") == "违建、私搭乱建" and hint_of("") == ""


def test_a_matter_announced_names_its_topic_and_no_details():
    assert announces_a_matter("我想反映一下我们小区物业收费不合理的问题") and announces_a_matter("想投诉楼下商铺的事。")
    assert not announces_a_matter("楼下商铺的问题")  # no opener: a report in few words
    assert not announces_a_matter("我想反映一下，楼下商铺每天早上六点就开始卸货，噪音太大")  # the details themselves
