"""Exporting the registry as the workbook it is imported from (a round trip changes nothing)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from handlers.registry.workbook import write_workbook
from handlers.texts import wording
from models import Area, AreaLevel, Department, Grid, Resident, Unit, Worker

AREA_LEVEL_LABELS = {AreaLevel.DISTRICT: "区", AreaLevel.STREET: "街道", AreaLevel.COMMUNITY: "社区"}
GRID_LEVEL_LABELS = {1: "一级", 2: "二级", 3: "三级"}


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def registry_rows(session: Session) -> dict[str, list[list[str]]]:
    """Every registry row as the text cells of its sheet."""
    areas = {area.id: area for area in session.scalars(select(Area).order_by(Area.id))}
    grids = {grid.id: grid for grid in session.scalars(select(Grid).order_by(Grid.id))}
    role_labels = wording()["roles"]
    level_order = list(AreaLevel)
    rows: dict[str, list[list[str]]] = {
        "areas": [[a.code, a.name, AREA_LEVEL_LABELS.get(a.level, a.level), areas[a.parent_id].code if a.parent_id else ""]
                  for a in sorted(areas.values(), key=lambda a: (level_order.index(a.level), a.id))],
        "grids": [[g.code, g.name, areas[g.area_id].code, GRID_LEVEL_LABELS.get(g.level, str(g.level)),
                   grids[g.parent_grid_id].code if g.parent_grid_id else "", g.chat_id or "", g.webhook_url or "",
                   ";".join(f"{lng},{lat}" for lng, lat in g.boundary or [])]
                  for g in grids.values()],
        "units": [[u.code, grids[u.grid_id].code, u.address, "、".join(u.aliases or []), _number(u.lat), _number(u.lng)]
                  for u in session.scalars(select(Unit).order_by(Unit.id))],
        "workers": [[w.userid, w.name, w.phone or "", role_labels.get(w.role, w.role), "、".join(g.code for g in w.grids),
                     "、".join(w.matters or []), areas[w.area_id].code if w.area_id else "", "在岗" if w.on_duty else "请假"]
                    for w in session.scalars(select(Worker).options(selectinload(Worker.grids)).order_by(Worker.id))],
        "residents": [[r.userid, r.name or "", r.phone or "", r.unit.code, "、".join(r.groups or []),
                       r.visit_worker.userid if r.visit_worker else ""]
                      for r in session.scalars(select(Resident).options(selectinload(Resident.unit),
                                                                        selectinload(Resident.visit_worker))
                                               .where(Resident.unit_id.is_not(None)).order_by(Resident.id))],
        "departments": [[d.code, d.name, "、".join(liaison.userid for liaison in d.liaisons),
                         "、".join(liaison.name or "" for liaison in d.liaisons) if any(x.name for x in d.liaisons) else "",
                         "、".join(d.matters or []), _number(d.report_hours)]
                        for d in session.scalars(select(Department).options(selectinload(Department.liaisons))
                                                 .order_by(Department.id))],
    }
    return rows


def export_registry(session: Session, path: Path) -> dict[str, int]:
    """Write the whole registry to `path` (.xlsx); the row count per sheet."""
    rows = registry_rows(session)
    write_workbook(path, rows)
    return {kind: len(items) for kind, items in rows.items()}


def write_template(path: Path) -> None:
    """The empty workbook communities fill in, with a 填写说明 sheet."""
    write_workbook(path, {}, instructions=True)
