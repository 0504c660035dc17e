"""``spark-enrich diff`` and :func:`spark_enrich.parity.diff_frames`: every kind of difference
is counted exactly and shown field by field, in one shuffle, without collecting the tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from typer.testing import CliRunner

from spark_enrich.cli.app import app
from spark_enrich.parity import DiffError, diff_frames
from spark_enrich.parity.diff import comparison, diff_spec

SCHEMA = "id INT, day DATE, name STRING, score DOUBLE, tags MAP<STRING, INT>, _run_id STRING"


def _frame(spark: SparkSession, rows: list[tuple[object, ...]]) -> DataFrame:
    return spark.createDataFrame(rows, SCHEMA)


def _rows(ids: range, run: str) -> list[tuple[object, ...]]:
    from datetime import date

    return [(i, date(2026, 1, 1 + i % 3), f"n{i}", i / 2, {"a": i}, run) for i in ids]


@pytest.fixture(scope="module")
def pair(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    """100 rows on the left; on the right 3 changed (2 names, 1 score and map), 2 missing,
    4 extra, 1 key duplicated, 1 row with a null key; the engine's run id differs on all."""
    left = _rows(range(100), "run-a")
    right = [list(r) for r in _rows(range(2, 104), "run-b")]  # 0, 1 missing; 100..103 extra
    right[10][2] = "changed"  # id 12
    right[20][2] = None  # id 22: a null is a difference
    right[30][3] = -1.0  # id 32: score and map
    right[30][4] = {"a": -1}
    duplicate = list(right[40])  # id 42 twice
    null_key = [None, *right[41][1:]]
    rows = [tuple(r) for r in [*right, duplicate, null_key]]
    return _frame(spark, left), _frame(spark, rows)


def test_each_kind_of_difference_is_counted_exactly(pair: tuple[DataFrame, DataFrame]) -> None:
    left, right = pair
    report = diff_frames(left, right, ["id"])

    assert not report.equal
    assert (report.left_rows, report.right_rows) == (100, 104)
    assert (report.only_left, report.only_right) == (2, 4)
    assert (report.duplicated_left, report.duplicated_right) == (0, 1)
    assert (report.null_key_left, report.null_key_right) == (0, 1)
    # 100 left keys: 2 missing, 1 duplicated on the right; 97 matched one to one.
    assert (report.matched, report.differing) == (97, 3)
    assert {name: f.count for name, f in report.fields.items()} == {
        "name": 2,
        "score": 1,
        "tags": 1,
    }
    assert sorted(k["id"] for k in report.only_left_keys) == [0, 1]
    assert sorted(k["id"] for k in report.only_right_keys) == [100, 101, 102, 103]
    assert report.duplicated_keys == (({"id": 42}, 1, 2),)
    by_key = {r.key["id"]: r.fields for r in report.rows}
    assert by_key[12] == {"name": ("n12", "changed")}
    assert by_key[22] == {"name": ("n22", None)}
    assert set(by_key[32]) == {"score", "tags"}
    assert by_key[32]["score"] == (16.0, -1.0)


def test_report_text_and_json_show_fields_side_by_side(pair: tuple[DataFrame, DataFrame]) -> None:
    report = diff_frames(*pair, ["id"], sample=2)

    text = "\n".join(report.render("legacy", "engine"))
    assert "only in legacy (missing from engine): 2" in text
    assert "only in engine (extra): 4" in text
    assert "duplicated keys in engine: 1" in text
    assert "column name: 2 differ" in text
    assert "name: legacy 'n12' | engine 'changed'" in text
    payload = report.to_dict()
    json.dumps(payload)  # JSON-ready: dates, maps and rows become JSON values
    assert payload["columns"] == {"name": 2, "score": 1, "tags": 1}
    assert len(payload["sample"]["only_right"]) == 2  # the sample is bounded


def test_engine_metadata_is_ignored_unless_asked(spark: SparkSession) -> None:
    left = _frame(spark, _rows(range(5), "run-a"))
    right = _frame(spark, _rows(range(5), "run-b"))

    assert diff_frames(left, right, ["id"]).equal
    with_metadata = diff_frames(left, right, ["id"], metadata=True)
    assert with_metadata.fields["_run_id"].count == 5
    assert diff_frames(left, right, ["id"], metadata=True, ignore=["_run_id"]).equal


def test_schema_differences_are_reported(spark: SparkSession) -> None:
    left = _frame(spark, _rows(range(3), "a"))
    right = left.drop("tags").withColumn("score", left["score"].cast("string"))

    report = diff_frames(left, right, ["id"])
    assert report.schema == {"tags": "only in left", "score": "left double, right string"}
    assert not report.equal
    assert report.differing == 0  # 0.5 and '0.5' are equal as text


def test_a_missing_key_column_is_named(spark: SparkSession) -> None:
    left = _frame(spark, _rows(range(1), "a"))
    with pytest.raises(DiffError, match=r"key column\(s\) \['nope'\] not in the left table"):
        diff_frames(left, left, ["nope"])


def test_one_shuffle_and_nothing_collected(
    pair: tuple[DataFrame, DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    left, right = pair
    query = comparison(left, right, diff_spec(left, right, ["id"]))
    capsys.readouterr()
    query.explain()
    plan = capsys.readouterr().out
    # Each side is hash-partitioned by the key once; the window and the join reuse it. The
    # only other exchange moves one partial aggregate per task to the final one.
    assert plan.count("Exchange hashpartitioning") == 2, plan
    assert plan.count("Exchange SinglePartition") == 1, plan
    assert plan.count("Exchange") == 3, plan
    assert "collect_list" not in plan


def _save(frame: DataFrame, path: Path) -> str:
    frame.write.format("delta").save(str(path))
    return str(path)


def test_cli_exit_codes_and_json(pair: tuple[DataFrame, DataFrame], tmp_path: Path) -> None:
    left = _save(pair[0], tmp_path / "left")
    right = _save(pair[1], tmp_path / "right")
    runner = CliRunner()

    same = runner.invoke(app, ["diff", "--left", left, "--right", left, "--key", "id"])
    assert same.exit_code == 0, same.output
    assert "equal: yes" in same.output

    differ = runner.invoke(
        app, ["diff", "--left", left, "--right", right, "--key", "id", "--format", "json"]
    )
    assert differ.exit_code == 1, differ.output
    payload = json.loads(differ.output)
    assert (payload["only_left"], payload["only_right"], payload["differing"]) == (2, 4, 3)
    assert payload["left"] == left

    bad_key = runner.invoke(app, ["diff", "--left", left, "--right", right, "--key", "nope"])
    assert bad_key.exit_code == 64
    missing = runner.invoke(
        app, ["diff", "--left", str(tmp_path / "none"), "--right", right, "--key", "id"]
    )
    assert missing.exit_code == 64
    assert "cannot read table" in missing.output
