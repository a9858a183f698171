"""Text normalisation run before any rule: what `classify` shows as the normalised text.

Order matters: width and case first (NFKC, casefold), then Cantonese words to Mandarin
(the table is keyed on both scripts), traditional → simplified (OpenCC t2s), Chinese
numerals before a building/room counter to digits, a numbered phase written with another phase word as 期
(一区 → 1期), punctuation/emoji/whitespace removed, and runs of one repeated character collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml

from config.settings import SHIPPED_CONFIG_DIR
from handlers.chat.scripts import to_simplified

_DIALECT_FILE = Path(__file__).with_name("dialect.yaml")
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_POWERS = {"十": 10, "百": 100, "千": 1000}
# 大写数字 (壹贰叁…), as on forms and receipts, in either script.
CAPITAL_NUMERALS = str.maketrans("壹贰貳叁參参肆伍陆陸柒捌玖拾", "一二二三三三四五六六七八九十")
_COUNTERS = "栋|幢|号楼|号|单元|楼|层|室|座|期|区|组|户|弄|巷|路|街|村"
_NUMERAL = re.compile(rf"([零〇一二两三四五六七八九十百千]+)(?=({_COUNTERS}))")
_NOISE = re.compile(r"[\W_]+")
_ASCII_WORD = re.compile(r"[0-9a-z]")
_REPEATS = re.compile(r"(\D)\1{2,}")
# Full-width ASCII and the ideographic space: the bulk of what NFKC changes in Chinese text,
# folded by one regex pass so that the full NFKC only runs when something else needs it.
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")


@lru_cache(maxsize=1)
def _phase() -> tuple[re.Pattern[str], str]:
    """A numbered phase of an estate written with another of address.yaml's `phase_words` than the first (1区 for 1期,
    not after a letter: A3区 is a district), and that first word: the same place, so the same words for every rule
    and the model."""
    first, *others = yaml.safe_load((SHIPPED_CONFIG_DIR / "address.yaml").read_text(encoding="utf-8"))["phase_words"]
    return re.compile(rf"(?<![a-z0-9])(\d+)(?:{'|'.join(map(re.escape, others or ['(?!)']))})"), first


@lru_cache(maxsize=1)
def _dialect() -> tuple[re.Pattern[str], dict[str, str], re.Pattern[str]]:
    table = {str(k): str(v) for k, v in yaml.safe_load(_DIALECT_FILE.read_text(encoding="utf-8")).items()}
    pattern = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    return pattern, table, re.compile("[" + "".join(re.escape(k[0]) for k in table) + "]")


def chinese_number(numeral: str) -> int:
    """一百零二 → 102, 十二 → 12, 三零二 → 302 (digit by digit without 十/百/千), 贰 → 2 (CAPITAL_NUMERALS)."""
    numeral = numeral.translate(CAPITAL_NUMERALS)
    if not any(c in _POWERS for c in numeral):
        return int("".join(str(_DIGITS[c]) for c in numeral))
    total, current = 0, 0
    for char in numeral:
        if char in _POWERS:
            total += (current or 1) * _POWERS[char]
            current = 0
        else:
            current = _DIGITS[char]
    return total + current


def _half_width(match: re.Match[str]) -> str:
    char = match.group(0)
    return " " if char == "\u3000" else chr(ord(char) - 0xFEE0)


def _strip_noise(text: str) -> str:
    parts = [p for p in _NOISE.split(text) if p]
    if len(parts) < 2:
        return parts[0] if parts else ""
    out = [parts[0]]
    for part in parts[1:]:
        # keep one space only where it separates two latin words/numbers ("wifi 5g")
        if _ASCII_WORD.match(out[-1][-1]) and _ASCII_WORD.match(part[0]):
            out.append(" ")
        out.append(part)
    return "".join(out)


@lru_cache(maxsize=256)
def normalise(text: str) -> str:
    """The canonical form every rule is matched against. Kept for the last texts: a report's words are normalised
    by the classifier, then again by the duplicate check (`content`, `spots`) when its unit has earlier cases."""
    text = _FULL_WIDTH.sub(_half_width, text or "")
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    pattern, table, initials = _dialect()
    if initials.search(text):
        text = pattern.sub(lambda m: table[m.group(0)], text)
    text = to_simplified(text)
    text = _NUMERAL.sub(lambda m: str(chinese_number(m.group(1))), text)
    phase, word = _phase()
    text = phase.sub(rf"\g<1>{word}", text)
    text = _strip_noise(text)
    return _REPEATS.sub(r"\1", text)
