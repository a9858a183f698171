"""Masking of residents' personal data: the one place it happens."""

from __future__ import annotations

import re

# A mobile number as people write it: 13812345678, 138 1234 5678, 138-1234-5678, +8613812345678.
_PHONE = re.compile(r"(?<!\d)((?:\+?86[\s-]?)?1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)(\d{3,4})(\d{4})(?!\d)")
_DIGIT = re.compile(r"\d")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
# A name the writer introduces (我叫王建国, 联系人：李梅, 本人张伟): a common surname and one or two characters, up to
# what follows a name (punctuation, a digit, 电话, 的, 住 …). Only after such words: a surname alone is too common.
# Traditional characters too (我叫陳美玲, 聯繫人：劉偉): Hong Kong, Macau and Taiwan residents write them, and a name is
# masked as written (the text is not folded first).
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
             "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
             "張劉陳楊黃趙吳孫馬羅鄭謝許韓馮鄧蕭葉蘇呂盧鍾鐘譚陸賈韋鄒閆龍賀顧龔萬錢嚴湯蔣")
_INTRODUCED_NAME = re.compile(
    r"(我叫|我是|本人|姓名|名字叫|联系人|聯繫人|聯系人|户主|戶主|业主|業主|反映人)([:：\s]*)([" + _SURNAMES + r"])"
    r"(?!先生|女士|阿姨|师傅|師傅|老师|老師|大爷|大爺|大妈|大媽|奶奶|爷爷|爺爺|叔叔|姐|哥)([\u4e00-\u9fff]{1,2}?)"
    r"(?=[^\u4e00-\u9fff]|$|电话|電話|手机|手機|联系|聯繫|聯系|住|的|在|是|家|和|先生|女士)")


def phone_numbers(text: str) -> list[str]:
    """The mobile numbers `text` holds, as 11 digits (138 1234 5678 and +86 138… → 13812345678)."""
    return [f"{head[-3:]}{middle}{tail}" for head, middle, tail in _PHONE.findall(text.translate(_FULL_WIDTH_DIGITS))]


def mask_phone(phone: str | None) -> str:
    """`13812345678` → `138****5678`."""
    if not phone:
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "****" + phone[-4:]


def mask_name(name: str | None) -> str:
    """`张三丰` → `张**`: the surname stays so a worker can address the resident."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_text(text: str, *names: str | None) -> str:
    """Free text with phone and ID-card numbers masked, and the names it introduces (我叫王建国 → 我叫王**) or
    that are given in `names` (the resident's own) (for group chats, followers and logs)."""
    for name in names:
        if name and len(name) > 1:
            text = text.replace(name, mask_name(name))
    text = _INTRODUCED_NAME.sub(lambda m: m.group(1) + m.group(2) + m.group(3) + "*" * len(m.group(4)), text)
    if _DIGIT.search(text) is None:  # every other pattern needs digits: most log fields and many texts have none
        return text
    text = text.translate(_FULL_WIDTH_DIGITS)  # １３８… typed on a full-width keyboard is the same number
    text = _PHONE.sub(r"\1****\3", text)
    text = _LANDLINE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)
    return _ID_CARD.sub(lambda m: m.group(1) + "********" + m.group(2), text)
