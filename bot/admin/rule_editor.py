"""A category in the draft: its clock and priority as a form, its rules as a list with one form per rule (add,
edit, delete, try on recent messages before saving), and the raw YAML as an advanced view."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot.admin.common.deps import Viewer, current_viewer, get_now, get_session
from bot.admin.common.rendering import render_page
from bot.state import AppState, get_state
from handlers.console import rule_replay, rulesets
from handlers.console.rule_forms import (
    CategoryForm,
    FieldError,
    RuleForm,
    RuleFormError,
    RuleNotFound,
    category_entry,
    category_rules,
    check_position,
    checked_settings,
    entry_fingerprint,
    new_rule_id,
    rule_id_of,
    store,
    store_settings,
    taken_ids,
    try_rule,
    with_rule,
)

router = APIRouter(prefix="/rules/category/{name}")
TEST_MESSAGES = 500  # recent messages the test box searches


def _data(session: Session, state: AppState) -> tuple[dict, bool]:
    """(the draft's rule set, else the one in force; whether a draft exists)."""
    row = rulesets.draft(session)
    return (row.data, True) if row is not None else (rulesets.in_force(session, state.settings.config_dir)[1], False)


def _rules_or_404(request: Request, data: dict, name: str) -> list[dict] | HTMLResponse:
    try:
        return category_rules(data, name)
    except RuleNotFound:
        return render_page(request, "not_found", status_code=404, what="类别")


def _category_url(name: str, done: str) -> str:
    return f"/admin/rules/category/{quote(name)}?done={done}"


@router.get("", response_class=HTMLResponse)
def category(request: Request, name: str, done: str | None = None, viewer: Viewer = Depends(current_viewer),
             session: Session = Depends(get_session), state: AppState = Depends(get_state)) -> HTMLResponse:
    data, has_draft = _data(session, state)
    rules = _rules_or_404(request, data, name)
    if isinstance(rules, HTMLResponse):
        return rules
    return _category_page(request, name, data, has_draft,
                          done=done if done in ("saved", "deleted", "settings") else None)


def _category_page(request: Request, name: str, data: dict, has_draft: bool, *, settings: CategoryForm | None = None,
                   errors: dict[str, FieldError] | None = None, done: str | None = None,
                   status_code: int = 200) -> HTMLResponse:
    """The category's page: its settings form (as typed when refused), its rules."""
    rules, entry = category_rules(data, name), category_entry(data, name)
    forms = [(i, rule_id_of(rules, name, i), RuleForm.from_rule(rule)) for i, rule in enumerate(rules)]
    defaults = CategoryForm.from_entry({"clock": data["catalogue"].get("default_clock") or {}})
    return render_page(request, "rule_category", status_code=status_code, name=name, forms=forms,
                       has_draft=has_draft, done=done, settings=settings or CategoryForm.from_entry(entry),
                       defaults=defaults, fingerprint=entry_fingerprint(entry), errors=errors or {})


@router.post("/settings", response_class=HTMLResponse)
def save_settings(request: Request, name: str, original: str = Form(""), take: str = Form(""),
                  plan: str = Form(""), close: str = Form(""), priority: str = Form("0"),
                  viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
                  state: AppState = Depends(get_state), now: datetime = Depends(get_now)) -> Response:
    """Save the category's clock and priority into the draft; a form opened on older settings is refused."""
    viewer.require("manage")
    form = CategoryForm(take=take, plan=plan, close=close, priority=priority)
    data, has_draft = _data(session, state)
    if not _known(data, name):
        return render_page(request, "not_found", status_code=404, what="类别")
    if entry_fingerprint(category_entry(data, name)) != original:
        return _category_page(request, name, data, has_draft, errors={"form": FieldError("settings_stale")},
                              status_code=409)
    try:
        entry = checked_settings(data, name, form)
    except RuleFormError as error:
        return _category_page(request, name, data, has_draft, settings=form, errors=error.errors, status_code=422)
    except rulesets.RuleSetError as error:
        return _category_page(request, name, data, has_draft, settings=form, status_code=422,
                              errors={"form": FieldError("rule_set", {"detail": str(error)})})
    row = rulesets.start_draft(session, state.settings.config_dir, author=viewer.name, now=now)
    store_settings(session, row, name, entry, author=viewer.name, now=now)
    session.commit()
    return RedirectResponse(_category_url(name, done="settings"), status_code=303)


def _form_page(request: Request, name: str, *, form: RuleForm, index: int | None, original_id: str,
               has_draft: bool, errors: dict[str, FieldError] | None = None, trial=None, sample: str = "",
               status_code: int = 200) -> HTMLResponse:
    return render_page(request, "rule_form", status_code=status_code, name=name, form=form, index=index,
                       original_id=original_id, has_draft=has_draft, errors=errors or {}, trial=trial,
                       sample=sample)


@router.get("/rules/new", response_class=HTMLResponse)
def new_rule(request: Request, name: str, viewer: Viewer = Depends(current_viewer),
             session: Session = Depends(get_session), state: AppState = Depends(get_state)) -> HTMLResponse:
    data, has_draft = _data(session, state)
    rules = _rules_or_404(request, data, name)
    if isinstance(rules, HTMLResponse):
        return rules
    return _form_page(request, name, form=RuleForm(rule_id=new_rule_id(data, name)), index=None, original_id="",
                      has_draft=has_draft)


@router.get("/rules/{index}", response_class=HTMLResponse)
def edit_rule(request: Request, name: str, index: int, viewer: Viewer = Depends(current_viewer),
              session: Session = Depends(get_session), state: AppState = Depends(get_state)) -> HTMLResponse:
    data, has_draft = _data(session, state)
    rules = _rules_or_404(request, data, name)
    if isinstance(rules, HTMLResponse):
        return rules
    if not 0 <= index < len(rules):
        return render_page(request, "not_found", status_code=404, what="规则")
    return _form_page(request, name, form=RuleForm.from_rule(rules[index]), index=index,
                      original_id=rule_id_of(rules, name, index), has_draft=has_draft)


def _index(text: str) -> int | None:
    """The form's position field: empty for a new rule; anything but digits is no position at all (404)."""
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise RuleNotFound(text)
    return int(text)


@router.post("/rules", response_class=HTMLResponse)
async def save_or_try(request: Request, name: str, action: str = Form("save"), index: str = Form(""),
                      original_id: str = Form(""), kind: str = Form("keywords"), terms: str = Form(""),
                      groups: list[str] = Form([]), weight: str = Form("1"), threshold: str = Form("85"),
                      priority: str = Form("0"), homophones: bool = Form(False), note: str = Form(""),
                      rule_id: str = Form(""), sample: str = Form(""), viewer: Viewer = Depends(current_viewer),
                      session: Session = Depends(get_session), state: AppState = Depends(get_state),
                      now: datetime = Depends(get_now)) -> Response:
    """Save the rule into the draft (action=save), or show what it matches without saving (action=test)."""
    viewer.require("manage")
    form = RuleForm(kind=kind, terms=terms, groups=groups, weight=weight, threshold=threshold, priority=priority,
                    homophones=homophones, note=note, rule_id=rule_id)
    return await run_in_threadpool(_save_or_try, request, name, action, index, original_id, form, sample[:500],
                                   viewer, session, state, now)


def _save_or_try(request: Request, name: str, action: str, index_text: str, original_id: str, form: RuleForm,
                 sample: str, viewer: Viewer, session: Session, state: AppState, now: datetime) -> Response:
    data, has_draft = _data(session, state)
    try:
        index = _index(index_text)
        check_position(data, name, index, original_id)
    except RuleNotFound:
        return _form_page(request, name, form=form, index=None, original_id="", has_draft=has_draft,
                          errors={"form": FieldError("stale")}, status_code=404) \
            if _known(data, name) else render_page(request, "not_found", status_code=404, what="类别")
    page = dict(form=form, index=index, original_id=original_id, has_draft=has_draft, sample=sample)
    try:
        rule = form.to_rule(taken_ids(data, name, index))
        changed = with_rule(data, name, index, rule)
        rulesets.validate(changed)
    except RuleFormError as error:
        return _form_page(request, name, errors=error.errors, status_code=422, **page)
    except rulesets.RuleSetError as error:
        return _form_page(request, name, errors={"form": FieldError("rule_set", {"detail": str(error)})},
                          status_code=422, **page)
    if action == "test":
        rules = changed["rules"][name]
        position = len(rules) - 1 if index is None else index
        texts = rule_replay.recent_texts(session, TEST_MESSAGES, viewer.scope.grid_ids)
        trial = try_rule(changed, name, rule, rule_id_of(rules, name, position), texts, sample)
        return _form_page(request, name, trial=trial, **page)
    row = rulesets.start_draft(session, state.settings.config_dir, author=viewer.name, now=now)
    store(session, row, name, with_rule(row.data, name, index, rule), author=viewer.name, now=now)
    session.commit()
    return RedirectResponse(_category_url(name, done="saved"), status_code=303)


def _known(data: dict, name: str) -> bool:
    try:
        category_rules(data, name)
    except RuleNotFound:
        return False
    return True


@router.post("/rules/{index}/delete")
def delete_rule(request: Request, name: str, index: int, original_id: str = Form(""),
                viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
                state: AppState = Depends(get_state), now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    row = rulesets.start_draft(session, state.settings.config_dir, author=viewer.name, now=now)
    try:
        check_position(row.data, name, index, original_id)
        store(session, row, name, with_rule(row.data, name, index, None), author=viewer.name, now=now)
    except (RuleNotFound, rulesets.RuleSetError):
        session.rollback()
        return render_page(request, "not_found", status_code=404, what="规则")
    session.commit()
    return RedirectResponse(_category_url(name, done="deleted"), status_code=303)


@router.get("/yaml", response_class=HTMLResponse)
def yaml_form(request: Request, name: str, viewer: Viewer = Depends(current_viewer),
              session: Session = Depends(get_session), state: AppState = Depends(get_state)) -> HTMLResponse:
    data, has_draft = _data(session, state)
    entry = next((e for e in data["catalogue"]["categories"] if e.get("name") == name), {"name": name})
    return render_page(request, "rule_edit", name=name, entry_yaml=rulesets.to_yaml(entry),
                       rules_yaml=rulesets.to_yaml(data["rules"].get(name, [])), error=None, has_draft=has_draft)


@router.post("/yaml")
def yaml_save(request: Request, name: str, entry: str = Form(...), rules: str = Form(...),
              viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
              state: AppState = Depends(get_state), now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    try:
        row = rulesets.start_draft(session, state.settings.config_dir, author=viewer.name, now=now)
        rulesets.edit_category(session, row, name, entry=rulesets.parse_yaml(entry, "类别设置"),
                               rules=rulesets.parse_yaml(rules, "规则") or [], author=viewer.name, now=now)
    except rulesets.RuleSetError as error:
        session.rollback()
        return render_page(request, "rule_edit", status_code=422, name=name, entry_yaml=entry, rules_yaml=rules,
                           error=str(error), has_draft=rulesets.draft(session) is not None)
    session.commit()
    return RedirectResponse("/admin/rules?done=saved", status_code=303)
