"""Traditional characters read as simplified: 進度 is 进度, 環境衛生 is 环境卫生 (OpenCC t2s), 甚麼 is 什么; full-width
forms as half-width: １２， is 12, (NFKC)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _opencc():
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Characters OpenCC's t2s table changes (fast path: most text has none)."""
    import opencc

    table = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    chars = set()
    for line in table.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        if value.split(" ")[0] != key:
            chars.add(key)
    return frozenset(chars)


# 甚麼, as Taiwan and Hong Kong often write 什麼, is 甚么 after t2s: read as 什么 (甚麼時候能修好 asks after a case)
VARIANTS = {"甚么": "什么"}


@lru_cache(maxsize=256)
def to_simplified(text: str) -> str:
    """Traditional → simplified via OpenCC (skipped when no character would change), variants as their usual form.
    Kept for the last texts: a report is read ~7 times (as words, for its category, as an address, for a place taken
    back) in three or four texts, and the check against OpenCC's ~4,000 traditional characters is ~6 µs a text."""
    if not _traditional_chars().isdisjoint(text):
        text = _opencc().convert(text)
    for variant, usual in VARIANTS.items():
        if variant in text:
            text = text.replace(variant, usual)
    return text


@lru_cache(maxsize=256)
def nfkc(text: str) -> str:
    """`text` in Unicode's NFKC form (full-width letters, digits and punctuation as half-width). Kept for the last
    texts: a message is read as words (`fold`) and as an address (`normalise_address`), and NFKC of Chinese with
    full-width punctuation (，) is a full normalisation, ~50 K instructions a time."""
    return unicodedata.normalize("NFKC", text)
