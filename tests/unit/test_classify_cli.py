"""`gridbot classify`, `rules eval`, `rules learn` and `rules lint` end to end through the command line."""

from __future__ import annotations

import csv
import json

import pytest

from tests.cli import cli_json, run_cli
from tests.conftest import SHARED_DATA

LABELLED = [("楼下垃圾桶满了没人清理", "环境卫生"), ("门口垃圾站臭气熏天", "环境卫生"), ("垃圾堆了好几天", "环境卫生"),
            ("楼上装修电钻太吵", "噪音扰民"), ("广场舞音响太吵了", "噪音扰民"), ("半夜装修吵得睡不着", "噪音扰民"),
            ("路灯坏了好几盏", "市政设施"), ("井盖丢了很危险", "市政设施"), ("路灯不亮井盖松动", "市政设施")]


def write_csv(path, rows, header=("text", "label")):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture()
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_classify_json_follows_the_contract(sqlite_url):
    found = cli_json(["classify", "小区里井盖丢了，有人差点掉下去", "--json"], sqlite_url)
    assert found["category"] == "市政设施" and found["grid_matter"] is True
    assert found["rules"] and {"id", "span", "score"} <= set(found["rules"][0])
    department = cli_json(["classify", "想问一下个人所得税专项附加扣除怎么申报", "--json"], sqlite_url)
    assert department["category"] == "税务" and department["grid_matter"] is False


def test_rules_eval_reports_scores_and_writes_errors(sqlite_url, tmp_path):
    data = write_csv(tmp_path / "eval.csv", [*LABELLED, ("今天天气不错", "无"), ("垃圾桶满了", "噪音扰民")])
    errors = tmp_path / "errors.csv"
    result = cli_json(["rules", "eval", "--data", str(data), "--json", "--errors", str(errors)], sqlite_url)
    assert result["rows"] == 11 and result["accuracy"] == pytest.approx(10 / 11)
    assert 0 < result["macro_f1"] < 1
    assert result["confusions"] == [{"label": "噪音扰民", "predicted": "环境卫生", "count": 1}]
    with errors.open(encoding="utf-8") as handle:
        assert [row["text"] for row in csv.DictReader(handle)] == ["垃圾桶满了"]


def test_learned_rules_are_a_config_dir_that_eval_can_use(sqlite_url, tmp_path):
    data = write_csv(tmp_path / "train.csv", LABELLED)
    out = tmp_path / "learned"
    result = run_cli(["rules", "learn", "--data", str(data), "--out", str(out)], sqlite_url)
    assert result.exit_code == 0, result.output
    assert (out / "catalogue.yaml").is_file() and len(list((out / "rules").glob("*.yaml"))) == 3
    scores = cli_json(["rules", "eval", "--data", str(data), "--json"], sqlite_url, GRIDBOT_CONFIG_DIR=str(out))
    assert scores["accuracy"] == 1.0


@pytest.mark.skipif(not (SHARED_DATA / "tipdm2020c-train.csv").is_file(), reason="shared data absent")
def test_learned_rules_generalise_on_real_department_labels(sqlite_url, tmp_path):
    with (SHARED_DATA / "tipdm2020c-train.csv").open(encoding="utf-8") as handle:
        rows = [(row["text"], row["label"]) for row in csv.DictReader(handle)]
    train, held_out = rows[::2], rows[1::2]
    out = tmp_path / "learned"
    assert run_cli(["rules", "learn", "--data", str(write_csv(tmp_path / "train.csv", train)), "--out", str(out)],
                   sqlite_url).exit_code == 0
    scores = cli_json(["rules", "eval", "--data", str(write_csv(tmp_path / "test.csv", held_out)), "--json"],
                      sqlite_url, GRIDBOT_CONFIG_DIR=str(out))
    assert scores["macro_f1"] >= 0.4  # 7 labels: chance is ~0.14; 5-fold figures in benchmarks/RESULTS.md


def test_lint_finds_shared_duplicate_shadowed_and_unused_rules(sqlite_url, tmp_path):
    from handlers.classify import write_config

    catalogue = {"categories": [{"name": "环境卫生"}, {"name": "突发事件", "priority": 9}]}
    write_config(tmp_path / "cfg", catalogue, {
        "环境卫生": [{"id": "a", "keywords": ["垃圾", "烟"]}, {"id": "b", "keywords": ["垃圾"]},
                 {"id": "smoke", "keywords": ["冒烟了"]}, {"id": "never", "keywords": ["蟑螂"]},
                 {"id": "hidden", "keywords": ["臭"]}, {"id": "not", "exclude": ["不臭"]}],
        "突发事件": [{"id": "fire", "keywords": ["烟"], "priority": 1}, {"id": "not-smell", "keywords": ["不臭"]}],
    })
    texts = write_csv(tmp_path / "texts.csv", [("垃圾冒烟了",), ("不臭",)], header=("text",))
    findings = cli_json(["rules", "lint", "--data", str(texts), "--json"], sqlite_url,
                        GRIDBOT_CONFIG_DIR=str(tmp_path / "cfg"))
    by_kind = {(f["kind"], f["rule"]) for f in findings}
    assert ("duplicate", "b") in by_kind
    assert ("shared", "a, fire") in by_kind
    assert ("shadowed", "smoke") in by_kind  # 冒烟了 contains 烟 of a higher-priority category
    assert ("unused", "never") in by_kind and ("unused", "a") not in by_kind


def test_lint_replays_stored_messages(database_url):
    from models import InboundMessage
    from models.db import make_engine, make_session_factory
    from models.setup import init_database

    init_database(database_url)
    with make_session_factory(make_engine(database_url))() as session:
        session.add(InboundMessage(msg_key="lint:1", from_userid="u", msg_type="text", content="楼道里堆满了杂物"))
        session.commit()
    findings = cli_json(["rules", "lint", "--json"], database_url)
    unused = {f["rule"] for f in findings if f["kind"] == "unused"}
    assert "fire-corridor" not in unused and "noise-words-1" in unused
    assert all(json.dumps(f, ensure_ascii=False) for f in findings)


def test_classify_jsonl_prints_one_object_per_row_in_order(sqlite_url, tmp_path):
    rows = [("小区里井盖丢了，有人差点掉下去",), ("你好",), ("楼上天天半夜拖柜子吵得睡不着",)]
    data = write_csv(tmp_path / "texts.csv", rows, header=("text",))
    result = run_cli(["classify", "--data", str(data), "--jsonl"], sqlite_url)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["normalised"][:4] for line in lines] == ["小区里井", "你好", "楼上天天"]
    assert [line["outcome"] for line in lines] == ["match", "none", "match"]
    assert lines[0]["category"] == "市政设施" and lines[2]["category"] == "噪音扰民"
    assert all({"category", "grid_matter", "score", "candidates", "rules", "decided_by", "model"} <= set(line)
               for line in lines)


@pytest.mark.parametrize("args, says", [
    (["classify", "--jsonl"], "--jsonl needs --data"),
    (["rules", "eval"], "--data FILE.csv is required"),
    (["rules", "learn", "--out", "x"], "--data FILE.csv is required"),
    (["rules", "eval", "--data", "{missing}"], "cannot read"),
    (["rules", "eval", "--data", "{textonly}"], "needs the columns text,label"),
    (["classify", "--data", "{labelonly}", "--jsonl"], "needs a column text"),
])
def test_cli_mistakes_get_one_line_and_a_non_zero_exit(sqlite_url, tmp_path, args, says):
    files = {"missing": str(tmp_path / "nope.csv"),
             "textonly": str(write_csv(tmp_path / "t.csv", [("垃圾",)], header=("text",))),
             "labelonly": str(write_csv(tmp_path / "l.csv", [("环境卫生",)], header=("label",)))}
    result = run_cli([arg.format(**files) for arg in args], sqlite_url)
    assert result.exit_code != 0
    assert says in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output


def test_rules_learn_writes_model_examples_that_eval_then_uses(sqlite_url, tmp_path):
    data = write_csv(tmp_path / "train.csv", [*LABELLED, ("你好", "无"), ("谢谢", "无")])
    out = tmp_path / "learned"
    assert run_cli(["rules", "learn", "--data", str(data), "--out", str(out)], sqlite_url).exit_code == 0
    with (out / "examples" / "learned.csv").open(encoding="utf-8") as handle:
        assert [(row["text"], row["label"]) for row in csv.DictReader(handle)][:len(LABELLED)] == LABELLED
    greeting = write_csv(tmp_path / "greeting.csv", [("你好",)], header=("text",))
    result = run_cli(["classify", "--data", str(greeting), "--jsonl"], sqlite_url, GRIDBOT_CONFIG_DIR=str(out))
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["model"]["ranking"][0]["category"] == "无" and found["outcome"] == "none"
    scores = cli_json(["rules", "eval", "--data", str(data), "--json"], sqlite_url, GRIDBOT_CONFIG_DIR=str(out))
    assert scores["accuracy"] >= 10 / 11  # 11 rows: a lone "谢谢" may still be asked about
