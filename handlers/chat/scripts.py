"""Traditional characters read as simplified: 進度 is 进度, 環境衛生 is 环境卫生 (OpenCC t2s)."""

from __future__ import annotations

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


def to_simplified(text: str) -> str:
    """Traditional → simplified via OpenCC, skipped when no character would change."""
    if _traditional_chars().isdisjoint(text):
        return text
    return _opencc().convert(text)
