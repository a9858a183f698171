"""The registry workbook (台账): its sheets and Chinese column headers, read and written.

One sheet per kind — 区域, 网格, 最小单元, 网格员, 居民, 部门 — with the headers communities use
(a few common variants are accepted when reading). A CSV file holds one sheet; its
kind is told by its headers. Cells are read as text the way a person typed them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from handlers.cells import xlsx_row


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    note: str = ""


@dataclass(frozen=True)
class Sheet:
    kind: str  # areas / grids / units / workers / residents / departments
    title: str
    columns: tuple[Column, ...]
    note: str

    def key_of(self, header: str) -> str | None:
        header = header.strip().replace(" ", "")
        for column in self.columns:
            if header == column.header or header in column.aliases:
                return column.key
        return None


LIST_SEPARATORS = "、,，;；/|"
SHEETS: tuple[Sheet, ...] = (
    Sheet("areas", "区域", (
        Column("code", "区域编码", ("编码", "区划代码"), True, "区、街道(镇)、社区(村)的唯一编码"),
        Column("name", "区域名称", ("名称",), True),
        Column("level", "层级", ("类型", "级别"), True, "区 / 街道 / 镇 / 社区 / 村"),
        Column("parent", "上级区域编码", ("上级编码",), False, "区留空；街道填区的编码；社区填街道的编码"),
    ), "行政区域：区 → 镇(街道) → 村(社区)"),
    Sheet("grids", "网格", (
        Column("code", "网格编码", ("编码",), True, "全区唯一"),
        Column("name", "网格名称", ("名称",), True),
        Column("area", "所属社区编码", ("所属村(社区)编码", "社区编码", "所属区域编码"), True),
        Column("level", "网格层级", ("层级",), False, "一级 / 二级 / 三级（不分级的留空）"),
        Column("parent", "上级网格编码", (), False, "二级、三级网格填上级网格的编码"),
        Column("chat_id", "群聊ID", ("群聊", "chatid"), False, "应用创建的网格群（appchat）"),
        Column("webhook", "群机器人Webhook", ("Webhook", "群机器人"), False, "已有网格群的机器人地址"),
        Column("boundary", "边界坐标", ("边界",), False, "经度,纬度;经度,纬度;… 至少三个点"),
    ), "网格及其上下级关系、网格群"),
    Sheet("units", "最小单元", (
        Column("code", "单元编码", ("编码", "最小单元编码"), True),
        Column("grid", "网格编码", ("所属网格编码", "所属网格"), True),
        Column("address", "详细地址", ("地址",), True, "如：湖滨路88号阳光小区一期1-2栋"),
        Column("aliases", "别名", ("常用名", "简称"), False, "小区别称、楼栋号、居民常说的附近地标（如某菜市场、某小学后门）等，用“、”分隔"),
        Column("lat", "纬度", ("lat",), False),
        Column("lng", "经度", ("lng",), False),
    ), "最小单元：1-3栋楼、一个自然村或小区的一期"),
    Sheet("workers", "网格员", (
        Column("userid", "企业微信账号", ("账号", "userid", "UserID"), True),
        Column("name", "姓名", (), True),
        Column("phone", "手机号码", ("手机号", "联系电话", "电话"), False),
        Column("role", "角色", ("岗位", "职务"), True,
               "网格长 / 专职网格员 / 专业网格员 / 兼职网格员 / 单元长 / 社区工作人员 / 街道工作人员"),
        Column("grids", "所属网格编码", ("网格编码", "所属网格"), False, "可填多个，用“、”分隔"),
        Column("matters", "负责事项", ("事项",), False, "专业网格员负责的事项类别，用“、”分隔"),
        Column("area", "所属区域编码", ("区域编码",), False, "社区、街道工作人员填所属社区/街道编码"),
        Column("status", "状态", ("在岗状态",), False, "在岗 / 请假（留空为在岗）"),
    ), "网格员及社区、街道工作人员"),
    Sheet("residents", "居民", (
        Column("userid", "企业微信账号", ("账号", "userid", "UserID"), True),
        Column("name", "姓名", (), False),
        Column("phone", "手机号码", ("手机号", "联系电话", "电话"), False),
        Column("unit", "单元编码", ("所属单元编码", "所属单元"), True),
        Column("groups", "重点人群", ("人群类别",), False,
               "困难群众 / 空巢老人 / 残疾家庭 / 新增流动人口 等，可填多个，用“、”分隔；每期按时走访"),
        Column("visit_worker", "走访网格员账号", ("走访网格员", "责任网格员"), False,
               "留空由网格的专职网格员走访；填网格员的企业微信账号则由其走访"),
    ), "居民及其所在最小单元"),
    Sheet("departments", "部门", (
        Column("code", "部门编码", ("编码",), True, "全区唯一，如 CGZF"),
        Column("name", "部门名称", ("名称",), True, "如：城管执法、住建、生态环境、市场监管"),
        Column("liaisons", "联络员账号", ("联络员", "联络人账号"), False, "企业微信账号，可填多个，用“、”分隔"),
        Column("liaison_names", "联络员姓名", ("联络人姓名",), False, "与账号一一对应，用“、”分隔"),
        Column("matters", "负责事项", ("事项",), False, "部门承接的事项类别，用“、”分隔"),
        Column("report_hours", "报到时限（小时）", ("报到时限", "报到时限(小时)"), False, "吹哨后多久内报到，留空为2小时"),
    ), "职能部门及其联络员（吹哨报到）"),
)
SHEETS_BY_KIND = {sheet.kind: sheet for sheet in SHEETS}


def cell_text(value) -> str:
    """A cell as the text a person typed: 441999001.0 → '441999001', None → ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass
class Table:
    """One sheet as read: which column holds which field, and its rows of text."""

    sheet: Sheet
    title: str
    headers: dict[str, int]  # field key -> 0-based column
    header_names: list[str]
    rows: list[tuple[int, list[str]]]  # (1-based row number as the spreadsheet shows it, cells)

    def column_label(self, key: str) -> str:
        """The column as a person finds it: letter and header, e.g. 'C 手机号码'."""
        if key in self.headers:
            index = self.headers[key]
            return f"{get_column_letter(index + 1)} {self.header_names[index]}"
        column = next(c for c in self.sheet.columns if c.key == key)
        return column.header

    def value(self, cells: list[str], key: str) -> str:
        index = self.headers.get(key)
        return cells[index] if index is not None and index < len(cells) else ""


def _table(sheet: Sheet, title: str, rows: Iterator[tuple]) -> Table | None:
    header_row = next(rows, None)
    if header_row is None:
        return None
    names = [cell_text(v) for v in header_row]
    headers = {}
    for index, name in enumerate(names):
        key = sheet.key_of(name) if name else None
        if key is not None and key not in headers:
            headers[key] = index
    body = []
    for number, row in enumerate(rows, start=2):
        cells = [cell_text(v) for v in row]
        if any(cells):
            body.append((number, cells))
    return Table(sheet, title, headers, names, body)


def _sheet_for_title(title: str) -> Sheet | None:
    clean = title.strip()
    return next((s for s in SHEETS if s.title == clean or s.kind == clean.lower()), None)


def _sheet_for_headers(names: list[str]) -> Sheet | None:
    """The kind of a CSV file: the sheet whose required headers it has, most columns first."""
    scored = []
    for sheet in SHEETS:
        keys = {sheet.key_of(n) for n in names if n} - {None}
        if all(c.key in keys for c in sheet.columns if c.required):
            scored.append((len(keys) - len(sheet.columns) * 0.01, sheet))
    return max(scored, key=lambda pair: pair[0])[1] if scored else None


def _read_csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return list(csv.reader(raw.decode(encoding).splitlines()))
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8", raw[:1], 0, 1, "neither UTF-8 nor GB18030")


def read_tables(path: Path) -> tuple[list[Table], list[str]]:
    """The registry sheets of an .xlsx or .csv file, and the titles of sheets it ignored."""
    if path.suffix.lower() == ".csv":
        rows = _read_csv_rows(path)
        sheet = _sheet_for_headers([cell_text(v) for v in rows[0]]) if rows else None
        if sheet is None:
            return [], [path.name]
        table = _table(sheet, path.name, iter(rows))
        return ([table] if table else []), []
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        tables, ignored = [], []
        for worksheet in workbook.worksheets:
            sheet = _sheet_for_title(worksheet.title)
            table = _table(sheet, worksheet.title, worksheet.iter_rows(values_only=True)) if sheet else None
            (tables.append(table) if table else ignored.append(worksheet.title))
        return tables, ignored
    finally:
        workbook.close()


def write_workbook(path: Path, rows_by_kind: dict[str, list[list[str]]], *, instructions: bool = False) -> None:
    """A workbook with every registry sheet (text cells, never formulas), optionally with a 填写说明 sheet first."""
    workbook = Workbook(write_only=False)
    workbook.remove(workbook.active)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    if instructions:
        guide = workbook.create_sheet("填写说明")
        guide.append(["工作表", "列", "必填", "说明"])
        for sheet in SHEETS:
            guide.append([sheet.title, "", "", sheet.note])
            for column in sheet.columns:
                guide.append(["", column.header, "是" if column.required else "", column.note])
        for letter, width in zip("ABCD", (12, 18, 6, 70)):
            guide.column_dimensions[letter].width = width
    for sheet in SHEETS:
        worksheet = workbook.create_sheet(sheet.title)
        worksheet.append([column.header for column in sheet.columns])
        for cell in worksheet[1]:
            cell.font, cell.fill = bold, fill
        for row in rows_by_kind.get(sheet.kind, []):
            worksheet.append(xlsx_row(worksheet, row))
        for index, column in enumerate(sheet.columns, start=1):
            dimension = worksheet.column_dimensions[get_column_letter(index)]
            dimension.width = max(10, len(column.header) * 2 + 4)
            dimension.number_format = "@"  # codes and phones stay text when typed in Excel
        worksheet.freeze_panes = "A2"
    workbook.save(path)
