"""Case numbers: `GB-000123` for people, digits alone accepted from workers."""

from __future__ import annotations

import re

PREFIX = "GB"
_NUMBER = re.compile(rf"^(?:#|{PREFIX}[-\s]?)?0*(\d{{1,12}})$", re.IGNORECASE)
# A reference as workers write it (12, GB-000012, GB 12, #12, 12号) and the words after it; the 号 of 12号楼
# names a building and stays with the words.
_REF = re.compile(r"^((?:#|GB[-\s]?)?\d+)(?:号(?![楼院室房栋幢座门铺层单]))?[\s,，:：;；。、]*(.*)$",
                  re.IGNORECASE | re.DOTALL)


# Further references after the first, and nothing else: "3", "3、4号", "和 GB-000004".
_MORE = re.compile(r"(?:[\s,，、;；和及与]*(?:#|GB[-\s]?)?\d+号?)+[\s,，、;；。.]*", re.IGNORECASE)
_ONE = re.compile(r"(?:#|GB[-\s]?)?\d+", re.IGNORECASE)


def format_case_number(case_id: int) -> str:
    """The number people see for case `case_id`."""
    return f"{PREFIX}-{case_id:06d}"


def parse_case_number(text: str) -> int | None:
    """`GB-000123`, `gb123`, `GB 123`, `#123`, `000123` or `123` → 123; anything else → None."""
    match = _NUMBER.match(text.strip())
    return int(match.group(1)) if match else None


def split_ref(args: str) -> tuple[str, str]:
    """`"12，明天清理"` or `"12号 明天清理"` → ("12", "明天清理"); ("", args) when `args` starts with no case number."""
    match = _REF.match(args.strip())
    return (match.group(1), match.group(2).strip()) if match else ("", args.strip())


def only_refs(text: str) -> list[str]:
    """The case references `text` consists of (`"3、4号"` → ["3", "4"]); [] when it holds any other words."""
    return _ONE.findall(text) if _MORE.fullmatch(text) else []
