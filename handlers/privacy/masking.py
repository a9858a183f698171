"""Masking of residents' personal data: the one place it happens."""

from __future__ import annotations

import re

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)(\d{3,4})(\d{4})(?!\d)")
_DIGIT = re.compile(r"\d")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")


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


def mask_text(text: str) -> str:
    """Free text with phone and ID-card numbers masked (for group chats and logs)."""
    if _DIGIT.search(text) is None:  # every pattern needs digits: most log fields and many texts have none
        return text
    text = _PHONE.sub(r"\1****\3", text)
    text = _LANDLINE.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)
    return _ID_CARD.sub(lambda m: m.group(1) + "********" + m.group(2), text)
