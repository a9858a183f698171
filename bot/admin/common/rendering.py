"""HTML pages of the console: one autoescaping Jinja2 environment over templates/admin/."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session

from handlers.chat.case_numbers import format_case_number
from handlers.privacy.masking import mask_phone
from handlers.texts import BEIJING, TEMPLATES_DIR, label, wording


def _when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(BEIJING).strftime(fmt) if value else ""


def _phone(value: str | None, masked: bool) -> str:
    """A phone number as the viewer may see it (read-only accounts: 138****5678)."""
    return mask_phone(value) if masked else value or ""


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.do"])
    env.filters.update(case_number=format_case_number, when=_when, percent=_percent, label=label, phone=_phone,
                       query=lambda params: urlencode({k: v for k, v in params.items() if v not in (None, "")}))
    env.globals["labels"] = wording()
    return env


def render_page(request: Request, template: str, /, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """`templates/admin/<template>.html.j2` with the viewer, CSRF token and current path in context."""
    viewer = getattr(request.state, "viewer", None)
    request.state.csp_nonce = nonce = secrets.token_urlsafe(16)  # bot/guards.py names it in the CSP
    html = environment().get_template(f"admin/{template}.html.j2").render(
        viewer=viewer, csrf_token=getattr(request.state, "csrf", ""), path=request.url.path, csp_nonce=nonce,
        **context)
    return HTMLResponse(html, status_code=status_code)


def see_other(path: str, **query: str) -> RedirectResponse:
    """The console's answer to a form: 303 to `path`, what happened in its query (`done`, `error`, ...)."""
    return RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)


def refused(session: Session, path: str, error: object) -> RedirectResponse:
    """A form whose work was refused: nothing of it kept, its page shown again with the reason."""
    session.rollback()
    return see_other(path, error=str(error))
