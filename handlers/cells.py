"""Spreadsheet cells that stay text: a resident's `=HYPERLINK(…)` must never become a live formula.

CSV: a cell starting with `= + - @`, a tab or a carriage return gets a leading `'` (Excel and
LibreOffice then show it as text). XLSX: such a string is written as a string cell, never a
formula, so it reads back unchanged (the registry workbook's round trip).
"""

from __future__ import annotations

from collections.abc import Iterable

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import TYPE_STRING

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """`value` as a CSV cell that no spreadsheet evaluates."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(row: Iterable[object]) -> list[object]:
    return [csv_cell(value) for value in row]


def xlsx_row(sheet, row: Iterable[object]) -> list[object]:
    """`row` for `sheet.append`, every string a string cell (openpyxl would make a leading `=` a formula)."""
    out: list[object] = []
    for value in row:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = TYPE_STRING
            out.append(cell)
        else:
            out.append(value)
    return out
