"""Every text a person reads quotes in one style: Chinese quotation marks (“…”), never ASCII quotes."""

import re

import pytest

from config.settings import SHIPPED_CONFIG_DIR

TEMPLATES = SHIPPED_CONFIG_DIR.parent / "templates"
CHAT_TEMPLATES = sorted([*TEMPLATES.glob("replies/*.j2"), *TEMPLATES.glob("notices/*.j2"), *TEMPLATES.glob("_*.j2")])
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


@pytest.mark.parametrize("path", CHAT_TEMPLATES, ids=lambda p: p.name)
def test_chat_text_quotes_with_chinese_marks(path):
    text = JINJA.sub("", path.read_text(encoding="utf-8"))
    assert '"' not in text and "'" not in text, f"{path.name}: use “…” in text a person reads"


def test_the_templates_were_found():
    assert len(CHAT_TEMPLATES) > 30
