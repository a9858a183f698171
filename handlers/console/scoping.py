"""What a scoped console account may see of the registry, as SQL conditions (one rule for lists and pages).

A viewer scoped to some grids sees those grids, their units, the residents bound to those units,
the workers of those grids and the staff of the areas those grids belong to. `grid_ids` None:
the whole district.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select, true

from models import Case, Grid, InboundMessage, Resident, Unit, Worker


def _ids(grid_ids: frozenset[int]) -> frozenset[int] | set[int]:
    return grid_ids or {-1}  # IN () is not valid SQL everywhere


def workers_within(grid_ids: frozenset[int]) -> ColumnElement[bool]:
    ids = _ids(grid_ids)
    return or_(Worker.grids.any(Grid.id.in_(ids)), Worker.area_id.in_(select(Grid.area_id).where(Grid.id.in_(ids))))


def residents_within(grid_ids: frozenset[int]) -> ColumnElement[bool]:
    return Resident.unit_id.in_(select(Unit.id).where(Unit.grid_id.in_(_ids(grid_ids))))


def messages_within(grid_ids: frozenset[int]) -> ColumnElement[bool]:
    """Inbound messages of a case in these grids, or from a resident bound to a unit in them."""
    ids = _ids(grid_ids)
    return or_(InboundMessage.case_id.in_(select(Case.id).where(Case.grid_id.in_(ids))),
               InboundMessage.from_userid.in_(select(Resident.userid).where(residents_within(grid_ids))))


_CONDITIONS = {
    Grid: lambda ids: Grid.id.in_(_ids(ids)),
    Unit: lambda ids: Unit.grid_id.in_(_ids(ids)),
    Worker: workers_within,
    Resident: residents_within,
}


def within(model, grid_ids: frozenset[int] | None) -> ColumnElement[bool]:
    """The condition on `model` (Grid, Unit, Worker, Resident) for a viewer of `grid_ids`."""
    return true() if grid_ids is None else _CONDITIONS[model](grid_ids)

