"""Importing the registry workbook: every problem at once, nothing half-written, upserts that repeat cleanly."""

from __future__ import annotations

import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from config.settings import SHIPPED_CONFIG_DIR
from handlers.registry.importer import RegistryImportError, import_registry_file
from handlers.registry.workbook import SHEETS, write_workbook
from models import Grid, Resident, Unit, Worker
from tests.cli import run_cli
from tests.demo_db import demo_factory  # noqa: F401  (fixture)

GRID = "441999001001001"
UNIT = "441999001001001001"


def unit_row(code: str, grid: str = GRID, address: str = "湖滨路90号新苑1栋") -> list[str]:
    return [code, grid, address, "新苑、新苑1栋", "22.581", "113.081"]


def import_file(demo_factory, path, **options):
    with demo_factory.begin() as session:
        return import_registry_file(session, path, **options)


def count(demo_factory, model) -> int:
    with demo_factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_export_then_import_changes_nothing(demo_factory, database_url, tmp_path):
    path = tmp_path / "registry.xlsx"
    assert run_cli(["grid", "export", str(path)], database_url).exit_code == 0
    result = run_cli(["grid", "import", str(path), "--no-progress"], database_url)
    assert result.exit_code == 0, result.output
    assert "新增 0，更新 0" in result.stdout


def test_every_problem_is_reported_with_sheet_row_and_column_and_nothing_is_written(demo_factory, tmp_path):
    path = tmp_path / "bad.xlsx"
    write_workbook(path, {
        "units": [unit_row("T-OK-1"), unit_row("T-BAD-1", grid="NO-SUCH-GRID"), unit_row("T-OK-1")],
        "workers": [["t-worker", "赵一", "12345", "专职网格员", GRID, "", "", ""],
                    ["t-worker", "赵二", "13900000000", "专职网格员", GRID, "", "", ""]],
        "residents": [["t-resident", "钱三", "13600000000", "NO-SUCH-UNIT"], ["t-resident-2", "孙四", "", ""]],
    })
    with pytest.raises(RegistryImportError) as caught:
        import_file(demo_factory, path)
    found = {(p.sheet, p.row, p.column, p.code) for p in caught.value.problems}
    assert found == {
        ("最小单元", 3, "B 网格编码", "unknown_grid"),
        ("最小单元", 4, "A 单元编码", "duplicate"),
        ("网格员", 2, "C 手机号码", "bad_phone"),
        ("网格员", 3, "A 企业微信账号", "duplicate"),
        ("居民", 2, "D 单元编码", "unknown_unit"),
        ("居民", 3, "D 单元编码", "required"),
    }
    with demo_factory() as session:
        assert session.scalars(select(Unit).where(Unit.code == "T-OK-1")).first() is None


def test_the_command_prints_the_problems_in_chinese_and_fails(database_url, tmp_path):
    path = tmp_path / "bad.xlsx"
    write_workbook(path, {"units": [unit_row("T-OK-2"), unit_row("T-BAD-2", grid="NO-SUCH-GRID")]})
    result = run_cli(["grid", "import", str(path), "--no-progress"], database_url)
    assert result.exit_code == 1
    assert "【最小单元】第3行 B 网格编码：网格编码不存在：NO-SUCH-GRID" in result.stderr
    assert "未写入任何数据" in result.stderr


def test_unknown_matter_and_missing_column_are_problems(demo_factory, tmp_path):
    path = tmp_path / "matters.xlsx"
    write_workbook(path, {"workers": [["t-fire", "李五", "", "专业网格员", GRID, "消防安全、打麻将", "", ""]]})
    with pytest.raises(RegistryImportError) as caught:
        import_file(demo_factory, path, known_matters=["消防安全"])
    assert [(p.code, p.value) for p in caught.value.problems] == [("unknown_matter", "打麻将")]
    csv = tmp_path / "units.csv"
    csv.write_text("单元编码,详细地址\nT-1,某地\n", encoding="utf-8")  # no 网格编码 column: not a units sheet
    with pytest.raises(RegistryImportError) as caught:
        import_file(demo_factory, csv)
    assert [p.code for p in caught.value.problems] == ["no_sheets"]


def test_dry_run_counts_what_would_change_and_writes_nothing(demo_factory, database_url, tmp_path):
    path = tmp_path / "new.xlsx"
    write_workbook(path, {"units": [unit_row("T-DRY-1"), unit_row("T-DRY-2")]})
    result = run_cli(["grid", "import", str(path), "--dry-run", "--no-progress"], database_url)
    assert result.exit_code == 0 and "新增 2" in result.stdout and "未写入" in result.stdout
    with demo_factory() as session:
        assert session.scalars(select(Unit).where(Unit.code.like("T-DRY-%"))).first() is None


def test_import_upserts_by_code_and_userid(demo_factory, tmp_path):
    path = tmp_path / "edit.xlsx"
    write_workbook(path, {"units": [unit_row("T-UP-1")],
                          "residents": [["t-up-resident", "周六", "13600000009", "T-UP-1"]]})
    assert import_file(demo_factory, path).counts.created == 2
    write_workbook(path, {"units": [unit_row("T-UP-1", address="湖滨路90号新苑2栋")]})
    assert import_file(demo_factory, path).counts.as_dict() == {"created": 0, "updated": 1, "unchanged": 0}
    assert import_file(demo_factory, path).counts.as_dict() == {"created": 0, "updated": 0, "unchanged": 1}
    with demo_factory() as session:
        unit = session.scalars(select(Unit).where(Unit.code == "T-UP-1")).one()
        assert unit.address == "湖滨路90号新苑2栋"
        assert session.scalars(select(Resident).where(Resident.userid == "t-up-resident")).one().unit_id == unit.id


def test_a_csv_sheet_is_told_by_its_headers_and_may_be_gbk(demo_factory, tmp_path):
    path = tmp_path / "workers.csv"
    path.write_bytes("企业微信账号,姓名,手机号,角色,所属网格编码,状态\n"
                     f"t-csv-worker,吴七,139 0000 0077,兼职网格员,{GRID},请假\n".encode("gb18030"))
    assert import_file(demo_factory, path).counts.created == 1
    with demo_factory() as session:
        worker = session.scalars(select(Worker).where(Worker.userid == "t-csv-worker")).one()
        assert (worker.phone, worker.role, worker.on_duty, [g.code for g in worker.grids]) == (
            "13900000077", "parttime", False, [GRID])


def test_shipped_template_has_every_sheet_with_its_headers():
    workbook = load_workbook(SHIPPED_CONFIG_DIR / "grid_template.xlsx", read_only=True)
    for sheet in SHEETS:
        headers = next(workbook[sheet.title].iter_rows(values_only=True))
        assert list(headers) == [column.header for column in sheet.columns]
    assert "填写说明" in workbook.sheetnames


def ten_thousand_rows() -> dict[str, list[list[str]]]:
    """A whole street's registry: 3 areas, 100 grids, 6,000 units, 300 workers, 3,597 residents."""
    rows = {"areas": [["T9", "测试区", "区", ""], ["T9-1", "测试街道", "街道", "T9"], ["T9-1-1", "测试社区", "社区", "T9-1"]],
            "grids": [[f"T9G{g:03d}", f"测试第{g}网格", "T9-1-1", "", "", f"grid-T9G{g:03d}", "", ""] for g in range(100)],
            "units": [[f"T9U{u:05d}", f"T9G{u % 100:03d}", f"测试路{u // 20}号测试花园{u % 20 + 1}栋", "测试花园", "", ""]
                      for u in range(6000)],
            "workers": [[f"t9-w{w:03d}", f"测试{w}", f"139{w:08d}", "专职网格员" if w % 3 else "网格长",
                         f"T9G{w % 100:03d}", "", "", ""] for w in range(300)]}
    rows["residents"] = [[f"t9-r{r:04d}", "", f"136{r:08d}", f"T9U{r:05d}"] for r in range(3597)]
    return rows


def test_a_10000_row_workbook_imports_once_and_again_changes_nothing(demo_factory, tmp_path):
    rows = ten_thousand_rows()
    assert sum(map(len, rows.values())) == 10_000
    path = tmp_path / "street.xlsx"
    write_workbook(path, rows)
    started = time.perf_counter()
    first = import_file(demo_factory, path)
    elapsed = time.perf_counter() - started
    assert first.rows == 10_000 and first.counts.created == 10_000
    again = import_file(demo_factory, path)
    assert again.counts.as_dict() == {"created": 0, "updated": 0, "unchanged": 10_000}
    with demo_factory() as session:
        assert session.scalar(select(func.count()).select_from(Unit).where(Unit.code.like("T9U%"))) == 6000
        assert session.scalar(select(func.count()).select_from(Grid).where(Grid.code.like("T9G%"))) == 100
    assert elapsed < 60, f"10,000 rows took {elapsed:.1f} s"
