"""Masking of personal data, and the transition table's refusals."""

import pytest

from handlers.cases.lifecycle import TRANSITIONS, IllegalTransition, next_state
from handlers.privacy.masking import mask_name, mask_phone, mask_text
from models import CaseState


def test_phone_and_name_masks_keep_only_what_a_worker_needs():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三丰") == "张**"
    assert mask_name("李") == "李*"


def test_free_text_masks_mobile_landline_and_id_numbers():
    masked = mask_text("电话13812345678，座机0755-12345678，身份证110101199003071234")
    assert "13812345678" not in masked and "138****5678" in masked
    assert "12345678，" not in masked
    assert "199003071234" not in masked


@pytest.mark.parametrize(("written", "masked"), [("139 2468 1357", "139****1357"), ("139-2468-1357", "139****1357"),
                                                 ("１３９２４６８１３５７", "139****1357"), ("+8613924681357", "+86139****1357")])
def test_a_mobile_number_is_masked_however_it_is_written(written, masked):
    assert mask_text(f"电话{written}，路灯坏了") == f"电话{masked}，路灯坏了"


def test_happy_path_through_the_closed_loop():
    state = CaseState.PENDING
    for action in ("take", "plan", "progress", "close", "rate"):
        state = next_state(state, action)
    assert state == CaseState.ARCHIVED


@pytest.mark.parametrize("state, action", [(CaseState.ARCHIVED, "take"), (CaseState.PENDING, "close"),
                                           (CaseState.WITHDRAWN, "withdraw"), (CaseState.CLOSED, "take")])
def test_illegal_transitions_are_refused(state, action):
    with pytest.raises(IllegalTransition):
        next_state(state, action)


def test_every_transition_targets_a_known_state():
    known = set(CaseState)
    for transition in TRANSITIONS.values():
        assert transition.sources <= known
        assert transition.target is None or transition.target in known


def test_free_text_masks_the_names_it_introduces_and_the_names_given():
    assert mask_text("我叫王建国，电话13812345678") == "我叫王**，电话138****5678"
    assert mask_text("联系人：李梅 路灯不亮") == "联系人：李* 路灯不亮"
    assert mask_text("本人张伟住5栋") == "本人张*住5栋"
    assert mask_text("已联系反映人陈晓明的家人") == "已联系反映人陈**的家人"
    for kept in ("我是3栋的住户", "我是刘阿姨", "我是张先生", "我是业主，垃圾满了", "王家湾小区的路灯"):
        assert mask_text(kept) == kept
    assert mask_text("赵海涛说楼道灯坏了", "赵海涛") == "赵**说楼道灯坏了"


def test_free_text_masks_a_name_introduced_in_traditional_characters():
    assert mask_text("我叫陳美玲，電話13912345678") == "我叫陳**，電話139****5678"
    assert mask_text("聯繫人：劉偉 手機13800001111") == "聯繫人：劉* 手機138****1111"
    assert mask_text("我是陳師傅") == "我是陳師傅"
