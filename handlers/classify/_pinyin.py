"""Toneless pinyin for homophone typos (拉圾 for 垃圾, 燥音 for 噪音), at str.translate speed.

Every character becomes `syllable|` (non-Chinese characters stay themselves), so a term's
pinyin `|la|ji|` only matches at syllable boundaries and a match maps back to characters
by counting separators.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

SEPARATOR = "|"


class _Table(dict):
    def __missing__(self, key: int) -> str:
        return chr(key) + SEPARATOR


def _toneless(reading: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))
    return plain.replace("ü", "v")


@lru_cache(maxsize=1)
def _table() -> _Table:
    from pypinyin.pinyin_dict import pinyin_dict

    return _Table({code: _toneless(readings.split(",")[0]) + SEPARATOR for code, readings in pinyin_dict.items()})


def to_pinyin(text: str) -> str:
    """`|la|ji|tong|` for 垃圾桶 (a leading separator, then one syllable and separator per char)."""
    return SEPARATOR + text.translate(_table())


def char_span(pinyin_text: str, end: int, term: str) -> tuple[int, int]:
    """The character span of `term` found in `pinyin_text` ending at index `end` (inclusive)."""
    start = end - len(term) + 1
    first = pinyin_text.count(SEPARATOR, 0, start + 1) - 1
    return first, first + term.count(SEPARATOR) - 1
