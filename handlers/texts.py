"""Rendering of every text a person reads, from `templates/` (zh-CN)."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from jinja2.runtime import Context, Macro

from config.settings import SHIPPED_CONFIG_DIR
from handlers.chat.case_numbers import format_case_number
from handlers.privacy.masking import mask_name, mask_phone, mask_text
from handlers.progress_links import case_link

BEIJING = timezone(timedelta(hours=8))
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def _span(value: timedelta | int | float) -> str:
    """A duration in Chinese, as people say it: 15分钟, 2小时, 1天, 1天6小时 (rounded to the hour
    from an hour on, to the day from three days on)."""
    minutes = round(value.total_seconds() / 60) if isinstance(value, timedelta) else int(value)
    if minutes < 60:
        return f"{max(minutes, 1)}分钟"
    hours = round(minutes / 60)
    if hours < 24:
        return f"{hours}小时"
    days, rest = divmod(hours, 24)
    if days >= 3:
        return f"{round(hours / 24)}天"
    return f"{days}天{rest}小时" if rest else f"{days}天"


_ADDRESS_PREFIX = re.compile(r"^(?:.{1,8}?[区县市])?(?:.{1,8}?(?:街道|镇|乡))?(?:.{1,10}?(?:路|街|道|巷)\d+号)?")


def _short_place(address: str) -> str:
    """An address without its district, street and road number: 阳光小区一期3号楼."""
    return _ADDRESS_PREFIX.sub("", address) or address


def _local_time(value: datetime | None) -> str:
    """A UTC moment as Beijing wall-clock time, e.g. 11月22日 14:30."""
    if value is None:
        return ""
    local = value.astimezone(BEIJING)
    return f"{local.month}月{local.day}日 {local.hour:02d}:{local.minute:02d}"


@lru_cache(maxsize=1)
def wording() -> dict[str, Any]:
    """Labels for state/action/role codes (config/wording.yaml)."""
    return yaml.safe_load((SHIPPED_CONFIG_DIR / "wording.yaml").read_text(encoding="utf-8"))


class _TextEnvironment(Environment):
    """An environment whose globals are fixed once it is set up: each template's globals are a plain dict
    (Jinja's default, a ChainMap over the environment's, costs a walk of both maps on every render and
    every `{% import %}`)."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


class _TextContext(Context):
    """A template context that calls a macro straight away: `Context.call` first asks every callee what it wants
    passed (two look-ups of Jinja's marker attributes, on the object and on its `__call__`), and a macro always
    takes the evaluation context (`Macro.__call__` is `pass_eval_context`). A text's render calls three to six
    macros of `_case.j2`; anything else is called as Jinja calls it."""

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's own signature)
        if type(__obj) is not Macro:
            return super().call(__obj, *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return __obj(__self.eval_ctx, *args, **kwargs)
        except StopIteration:  # as Context.call answers it
            return __self.environment.undefined("value was undefined because a callable raised a"
                                                " StopIteration exception")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = _TextEnvironment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
        auto_reload=False,  # templates ship with the code: no stat() per render
        cache_size=-1,  # every template kept in a plain dict: no LRU bookkeeping per `{% import %}`
    )
    env.context_class = _TextContext
    env.filters.update(
        case_number=format_case_number,
        mask_phone=mask_phone,
        mask_name=mask_name,
        mask_text=mask_text,
        span=_span,
        short_place=_short_place,
        local_time=_local_time,
    )
    env.globals["labels"] = wording()
    env.globals["progress_link"] = case_link
    return env


def render(name: str, **context: Any) -> str:
    """Render `templates/<name>.txt.j2`, stripped."""
    return _text_template(name).render(**context).strip()


@lru_cache(maxsize=None)
def _text_template(name: str) -> Template:
    """`templates/<name>.txt.j2`, compiled once (templates ship with the code)."""
    return _environment().get_template(f"{name}.txt.j2")


def resident_steps() -> tuple[dict[str, str], frozenset[str]]:
    """The timeline steps a resident sees, with their labels, and the steps whose notes they read
    (one rule, kept in templates/_case.j2 for the chat texts and the progress page alike)."""
    module = _environment().get_template("_case.j2").module
    return dict(module.resident_steps), frozenset(module.resident_notes)


def label(group: str, code: object) -> str:
    """The Chinese label of a code, e.g. label("states", "pending") → 待接单."""
    return str(wording()[group].get(code, code))
