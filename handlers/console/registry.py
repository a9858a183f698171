"""Registry from the console: edits of grids, units, workers and residents (audited with their diff), imports."""

from __future__ import annotations

import re
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from handlers.console.audit import record
from handlers.console.scoping import within
from handlers.registry.importer import Problem, RegistryImportError, import_registry_file
from handlers.registry.records import set_groups_since
from handlers.texts import render
from models import Grid, Resident, Unit, Worker, WorkerRole

_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


class RegistryEditError(ValueError):
    """A field value the registry does not accept; `field` names it."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _words(text: str) -> list[str]:
    """A list typed as `a, b；c` (any Chinese or ASCII separator)."""
    return [w.strip() for w in re.split(r"[,，、;；\n]+", text) if w.strip()]


def _phone(text: str) -> str | None:
    text = text.strip()
    if text and not _PHONE.match(text):
        raise RegistryEditError("phone")
    return text or None


def _grids(session: Session, codes: list[str]) -> list[Grid]:
    grids = list(session.scalars(select(Grid).where(Grid.code.in_(codes))))
    if len(grids) != len(set(codes)):
        raise RegistryEditError("grids")
    return grids


def _apply(session: Session, obj, changes: dict, *, actor: str, kind: str, key: str, now: datetime) -> dict:
    """Set the changed attributes and audit {field: [old, new]}; nothing recorded when nothing changed."""
    diff = {}
    for name, value in changes.items():
        old = getattr(obj, name)
        shown_old = [g.code for g in old] if name == "grids" else old
        shown_new = [g.code for g in value] if name == "grids" else value
        if shown_old != shown_new:
            setattr(obj, name, value)
            diff[name] = [shown_old, shown_new]
    if diff:
        record(session, actor=actor, action=f"registry_{kind}_edit", target=key, now=now, diff=diff)
    return diff


def edit_grid(session: Session, grid: Grid, form: dict[str, str], *, actor: str, now: datetime) -> dict:
    name = form.get("name", grid.name).strip()
    if not name:
        raise RegistryEditError("name")
    return _apply(session, grid, {"name": name, "chat_id": form.get("chat_id", "").strip() or None,
                                  "webhook_url": form.get("webhook_url", "").strip() or None},
                  actor=actor, kind="grid", key=grid.code, now=now)


def edit_unit(session: Session, unit: Unit, form: dict[str, str], *, actor: str, now: datetime) -> dict:
    address = form.get("address", unit.address).strip()
    if not address:
        raise RegistryEditError("address")
    changes: dict = {"address": address, "aliases": _words(form.get("aliases", ""))}
    if form.get("grid"):
        changes["grid_id"] = _grids(session, [form["grid"].strip()])[0].id
    return _apply(session, unit, changes, actor=actor, kind="unit", key=unit.code, now=now)


def edit_worker(session: Session, worker: Worker, form: dict[str, str], *, actor: str, now: datetime) -> dict:
    name = form.get("name", worker.name).strip()
    role = form.get("role", worker.role)
    if not name:
        raise RegistryEditError("name")
    if role not in set(WorkerRole):
        raise RegistryEditError("role")
    changes: dict = {"name": name, "phone": _phone(form.get("phone", "")), "role": role,
                     "on_duty": form.get("on_duty") == "1", "matters": _words(form.get("matters", ""))}
    if "grids" in form:
        changes["grids"] = _grids(session, _words(form["grids"]))
    return _apply(session, worker, changes, actor=actor, kind="worker", key=worker.userid, now=now)


def edit_resident(session: Session, resident: Resident, form: dict[str, str], *, actor: str,
                  now: datetime) -> dict:
    unit_code = form.get("unit", "").strip()
    unit_id = None
    if unit_code:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
        if unit_id is None:
            raise RegistryEditError("unit")
    changes = {"name": form.get("name", "").strip() or None, "phone": _phone(form.get("phone", "")),
               "unit_id": unit_id}
    if "groups" in form:  # 重点人群 and who visits them: only when the form has them
        changes["groups"] = _words(form["groups"])
        changes["visit_worker_id"] = _visit_worker(session, form.get("visit_worker", ""))
    diff = _apply(session, resident, changes, actor=actor, kind="resident", key=resident.userid, now=now)
    set_groups_since(resident, now)
    return diff


def _visit_worker(session: Session, userid: str) -> int | None:
    """The worker named to visit a special-group resident (empty: the grid's default)."""
    if not userid.strip():
        return None
    worker_id = session.scalar(select(Worker.id).where(Worker.userid == userid.strip()))
    if worker_id is None:
        raise RegistryEditError("visit_worker")
    return worker_id


def listing(session: Session, model, *, q: str = "", grid_ids: frozenset[int] | None = None,
            offset: int = 0, limit: int = 100) -> tuple[list, int]:
    """A page of one registry table, searched by code/name/address, within the viewer's grids."""
    query = select(model).where(within(model, grid_ids))
    if model is Grid:
        query = query.options(selectinload(Grid.area), selectinload(Grid.workers))
        searched = [Grid.code, Grid.name]
    elif model is Unit:
        query = query.options(selectinload(Unit.grid))
        searched = [Unit.code, Unit.address]
    elif model is Worker:
        query = query.options(selectinload(Worker.grids))
        searched = [Worker.userid, Worker.name]
    else:
        query = query.options(selectinload(Resident.unit))
        searched = [Resident.userid, Resident.name]
    if q:
        query = query.where(or_(*[column.contains(q, autoescape=True) for column in searched]))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(model.id).offset(offset).limit(limit)).all()
    return list(rows), total


def import_upload(session: Session, filename: str, payload: bytes, *, actor: str, now: datetime,
                  dry_run: bool, known_matters: list[str]) -> tuple[bool, str]:
    """Import an uploaded workbook/CSV as `gridbot grid import` does: (written or checked, the report text)."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        return False, render("registry/import_problems", problems=[Problem("", 0, "", "no_sheets")])
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        handle.write(payload)
        handle.flush()
        try:
            result = import_registry_file(session, Path(handle.name), dry_run=dry_run, known_matters=known_matters)
        except RegistryImportError as error:
            return False, render("registry/import_problems", problems=error.problems)
    record(session, actor=actor, action="registry_import", target=filename[:200], now=now, dry_run=dry_run,
           rows=result.rows, created=result.counts.created, updated=result.counts.updated)
    return True, render("registry/import_done", result=result)
