"""The console's case list: filters, keyset pagination (newest first) and export to CSV / Excel.

Newest first by report time; pagination is keyset (`before` = the last case id shown, its
report time looked up by id), so every page costs the same however deep it is, on the
(created_at, id) index; the total is counted only up to `COUNT_CAP`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from openpyxl import Workbook
from sqlalchemy import Select, func, or_, select, tuple_
from sqlalchemy.orm import Session, selectinload

from handlers.cells import csv_row, xlsx_row
from handlers.chat.case_numbers import format_case_number, parse_case_number
from handlers.console.stats import overdue_condition
from handlers.texts import BEIJING, label
from models import Case, Grid, Worker

COUNT_CAP = 10_000
EXPORT_CAP = 100_000
NEWEST_FIRST = (Case.created_at.desc(), Case.id.desc())
TEXT_SEARCH_DAYS = 7


def parse_day(value: str | None) -> date | None:
    """An ISO date typed in a form; None when blank, unreadable or out of range (year 0001 has no UTC moment)."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2999 else None


@dataclass(frozen=True)
class CaseFilter:
    """What the list shows; every field optional. Dates are Beijing calendar days, inclusive."""

    state: str | None = None
    category: str | None = None
    grid: str | None = None  # grid code
    worker: str | None = None  # assignee userid
    overdue: bool = False
    repeat: bool = False  # 回头件 only
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None  # a case number, else words in the text or a reporter's userid

    @classmethod
    def from_params(cls, params: dict[str, str]) -> CaseFilter:
        """From query-string values; blanks and unreadable or out-of-range dates are ignored."""
        def text(name: str) -> str | None:
            value = (params.get(name) or "").strip()
            return value[:100] or None

        def day(name: str) -> date | None:
            return parse_day(text(name))

        return cls(state=text("state"), category=text("category"), grid=text("grid"), worker=text("worker"),
                   overdue=params.get("overdue") in ("1", "on", "true"),
                   repeat=params.get("repeat") in ("1", "on", "true"), date_from=day("date_from"),
                   date_to=day("date_to"), q=text("q"))

    @property
    def searches_text(self) -> bool:
        return bool(self.q) and parse_case_number(self.q) is None

    def params(self) -> dict[str, str]:
        """The non-empty fields as query-string values (for links to other pages and exports)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value:
                out[f.name] = "1" if value is True else str(value)
        return out


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)


def filtered(session: Session, flt: CaseFilter, grid_ids: frozenset[int] | None, now: datetime) -> Select:
    """SELECT of the cases matching `flt` within the user's grids (no order, no limit)."""
    query = select(Case)
    if grid_ids is not None:
        query = query.where(Case.grid_id.in_(grid_ids or {-1}))
    if flt.state:
        query = query.where(Case.state == flt.state)
    if flt.category:
        query = query.where(Case.category == flt.category)
    if flt.grid:
        query = query.where(Case.grid_id == select(Grid.id).where(Grid.code == flt.grid).scalar_subquery())
    if flt.worker:
        query = query.where(Case.assignee_id == select(Worker.id).where(Worker.userid == flt.worker)
                            .scalar_subquery())
    if flt.overdue:
        query = query.where(overdue_condition(now))
    if flt.repeat:
        query = query.where(Case.repeat_of_id.is_not(None))
    if flt.date_from:
        query = query.where(Case.created_at >= _local_midnight(flt.date_from))
    if flt.date_to:
        query = query.where(Case.created_at < _local_midnight(flt.date_to) + timedelta(days=1))
    if flt.q:
        if not flt.searches_text:  # a case number (GB-000123, 123) is looked up, not searched for
            query = query.where(Case.id == parse_case_number(flt.q))
        else:
            query = query.where(or_(Case.text.contains(flt.q, autoescape=True), Case.reporter_userid == flt.q))
            if flt.date_from is None and flt.date_to is None:
                # Substring search reads every row it considers; without dates it covers a recent window.
                query = query.where(Case.created_at >= now - timedelta(days=TEXT_SEARCH_DAYS))
    return query


@dataclass
class CasePage:
    cases: list[Case]
    total: int | None  # capped at COUNT_CAP + 1 ("more than 10,000"); None for a text search
    next_before: int | None  # the `before` of the next page, None on the last

    @property
    def total_capped(self) -> bool:
        return self.total is not None and self.total > COUNT_CAP


def page(session: Session, flt: CaseFilter, grid_ids: frozenset[int] | None, now: datetime, *,
         before: int | None = None, size: int = 50) -> CasePage:
    """One page of the list, newest first, starting below case id `before`."""
    query = filtered(session, flt, grid_ids, now)
    total = None
    if not flt.searches_text:  # counting text matches would read the whole window a second time
        capped = query.with_only_columns(Case.id).limit(COUNT_CAP + 1).subquery()
        total = session.scalar(select(func.count()).select_from(capped)) or 0
    if before is not None:
        anchor = select(Case.created_at).where(Case.id == before).scalar_subquery()
        query = query.where(tuple_(Case.created_at, Case.id) < tuple_(anchor, before))
    rows = list(session.scalars(
        query.options(selectinload(Case.grid), selectinload(Case.assignee)).order_by(*NEWEST_FIRST).limit(size + 1)
    ))
    next_before = rows[size - 1].id if len(rows) > size else None
    return CasePage(rows[:size], total, next_before)


EXPORT_HEADERS = ["编号", "状态", "类别", "网格", "承办人", "上报人", "上报时间", "接单时限", "办结时间", "评价", "内容"]


def export_rows(session: Session, flt: CaseFilter, grid_ids: frozenset[int] | None, now: datetime
                ) -> Iterator[list]:
    """The filtered cases as rows under EXPORT_HEADERS, newest first, at most EXPORT_CAP."""
    grids = dict(session.execute(select(Grid.id, Grid.code)).all())
    workers = dict(session.execute(select(Worker.id, Worker.name)).all())
    query = filtered(session, flt, grid_ids, now).order_by(*NEWEST_FIRST).limit(EXPORT_CAP)
    for case in session.scalars(query.execution_options(yield_per=2000)):
        yield [
            format_case_number(case.id), label("states", case.state), case.category or "",
            grids.get(case.grid_id, ""), workers.get(case.assignee_id, ""), case.reporter_userid,
            _excel_time(case.created_at), _excel_time(case.take_due), _excel_time(case.closed_at),
            label("ratings", case.rating) if case.rating else "", case.text,
        ]


def _excel_time(value: datetime | None) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if value else ""


def to_csv(rows: Iterable[list]) -> Iterator[str]:
    """CSV text in chunks, with a BOM so Excel opens the Chinese correctly; no cell is a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(EXPORT_HEADERS)
    for i, row in enumerate(rows, 1):
        writer.writerow(csv_row(row))
        if i % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def to_xlsx(rows: Iterable[list]) -> bytes:
    """An Excel workbook (write-only mode: constant memory per row); text stays text, never a formula."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("事项")
    sheet.append(EXPORT_HEADERS)
    for row in rows:
        sheet.append(xlsx_row(sheet, row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
