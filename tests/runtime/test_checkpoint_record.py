"""The checkpoint's identity (the stream's Delta ``txnAppId``) and its spark-enrich record, for
local paths and for URIs (which must not be resolved against the driver's working folder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spark_enrich.config.models import KafkaSource
from spark_enrich.errors import PipelineRunError
from spark_enrich.plan import compile_source
from spark_enrich.runtime.checkpoint import FINGERPRINT_FILE, check_checkpoint, txn_app_id

TOPICS = compile_source(
    KafkaSource(kind="kafka", name="events", bootstrap_servers="127.0.0.1:9092", topics=["a"])
)
OTHER_TOPICS = compile_source(
    KafkaSource(kind="kafka", name="events", bootstrap_servers="127.0.0.1:9092", topics=["a", "b"])
)


def test_a_uri_checkpoint_has_one_identity_whatever_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = set()
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)  # a restarted driver in another container
        ids.add(txn_app_id("demo", "s3a://bucket/checkpoints/demo"))
        ids.add(txn_app_id("demo", "s3a://bucket/checkpoints/demo/"))
        ids.add(txn_app_id("demo", "s3://bucket//checkpoints/demo"))  # one location to validate
    assert len(ids) == 1
    assert txn_app_id("demo", "s3a://other/checkpoints/demo") not in ids


def test_a_file_uri_and_its_local_path_are_the_same_checkpoint(tmp_path: Path) -> None:
    local = tmp_path / "cp"
    assert txn_app_id("demo", local.as_uri()) == txn_app_id("demo", str(local))
    assert txn_app_id("demo", str(local)) != txn_app_id("other", str(local))


def test_the_record_is_written_inside_a_uri_checkpoint_and_guards_it(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    checkpoint = tmp_path / "stream" / "cp"
    check_checkpoint(spark, checkpoint.as_uri(), "demo", TOPICS)
    assert (checkpoint / FINGERPRINT_FILE).is_file()
    assert not (tmp_path / "file:").exists()  # not a relative folder named after the scheme
    # Either spelling of the location finds the record: same sources pass, others are refused.
    check_checkpoint(spark, str(checkpoint), "demo", TOPICS)
    for location in (checkpoint.as_uri(), str(checkpoint)):
        with pytest.raises(PipelineRunError) as refused:
            check_checkpoint(spark, location, "demo", OTHER_TOPICS)
        assert refused.value.error_class == "CHECKPOINT_INCOMPATIBLE"
        assert '"b"' in refused.value.message


def test_a_checkpoint_without_the_record_is_refused(spark: SparkSession, tmp_path: Path) -> None:
    checkpoint = tmp_path / "cp"
    (checkpoint / "offsets").mkdir(parents=True)  # Spark's files, from another program
    with pytest.raises(PipelineRunError) as refused:
        check_checkpoint(spark, checkpoint.as_uri(), "demo", TOPICS)
    assert refused.value.error_class == "CHECKPOINT_INCOMPATIBLE"
    assert FINGERPRINT_FILE in refused.value.message
    assert not (checkpoint / FINGERPRINT_FILE).exists()


def test_a_record_left_beside_a_uri_checkpoint_by_an_earlier_version_is_adopted(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    checkpoint = tmp_path / "stream" / "cp"
    (checkpoint / "offsets").mkdir(parents=True)  # a running stream's own files
    check_checkpoint(spark, str(tmp_path / "fresh"), "demo", TOPICS)  # a record, for its text
    legacy = Path(checkpoint.as_uri()) / FINGERPRINT_FILE  # `./file:/...`, as written before
    legacy.parent.mkdir(parents=True)
    legacy.write_text((tmp_path / "fresh" / FINGERPRINT_FILE).read_text())

    check_checkpoint(spark, checkpoint.as_uri(), "demo", TOPICS)  # not refused

    assert (checkpoint / FINGERPRINT_FILE).read_text() == legacy.read_text()
    with pytest.raises(PipelineRunError):
        check_checkpoint(spark, checkpoint.as_uri(), "demo", OTHER_TOPICS)


# The record of TOPICS, written out by hand (not by the code under test).
TOPICS_RECORD = {
    "pipeline": "demo",
    "source": {"kind": "kafka", "name": "events", "topics": ["a"], "pattern": None},
}


def _record_and_leftovers(checkpoint: Path) -> tuple[object, list[str]]:
    record = json.loads((checkpoint / FINGERPRINT_FILE).read_text())
    others = sorted(p.name for p in checkpoint.iterdir() if "spark_enrich" not in p.name)
    temps = sorted(p.name for p in checkpoint.iterdir() if p.name.endswith((".tmp", ".tmp.crc")))
    return record, others + temps


@pytest.mark.parametrize("damage", ["empty", "cut short"])
def test_a_damaged_record_beside_the_streams_files_is_refused_with_its_path_and_a_way_out(
    spark: SparkSession, tmp_path: Path, damage: str
) -> None:
    checkpoint = tmp_path / "cp"
    check_checkpoint(spark, str(checkpoint), "demo", TOPICS)
    (checkpoint / "offsets").mkdir()
    (checkpoint / "offsets" / "0").write_text("v1\n{}\n")  # the stream has run
    record = checkpoint / FINGERPRINT_FILE
    text = record.read_text()
    record.write_text("" if damage == "empty" else text[: len(text) // 2])  # a kill mid-write

    with pytest.raises(PipelineRunError) as refused:
        check_checkpoint(spark, str(checkpoint), "demo", TOPICS)

    assert refused.value.error_class == "CHECKPOINT_RECORD_DAMAGED"
    message = refused.value.message
    assert str(record) in message
    assert "runtime.stream.checkpoint" in message  # the way out when unsure
    assert json.dumps(TOPICS_RECORD, sort_keys=True) in message  # what to write back
    assert (checkpoint / "offsets" / "0").is_file()  # nothing of the stream's touched


@pytest.mark.parametrize("damage", ["empty", "cut short"])
def test_a_record_damaged_before_the_stream_wrote_anything_is_written_again(
    spark: SparkSession, tmp_path: Path, damage: str
) -> None:
    checkpoint = tmp_path / "cp"
    checkpoint.mkdir()
    text = json.dumps(TOPICS_RECORD, sort_keys=True, indent=2)
    # A driver killed during the record's first write: nothing else is in the folder.
    (checkpoint / FINGERPRINT_FILE).write_text("" if damage == "empty" else text[:20])

    check_checkpoint(spark, str(checkpoint), "demo", TOPICS)

    assert _record_and_leftovers(checkpoint) == (TOPICS_RECORD, [])
    with pytest.raises(PipelineRunError) as refused:  # and it guards the checkpoint again
        check_checkpoint(spark, str(checkpoint), "demo", OTHER_TOPICS)
    assert refused.value.error_class == "CHECKPOINT_INCOMPATIBLE"


def test_the_record_is_written_whole_or_not_at_all(spark: SparkSession, tmp_path: Path) -> None:
    checkpoint = tmp_path / "cp"
    checkpoint.mkdir()
    # What a driver killed before the rename of an atomic write leaves: a hidden partial file.
    (checkpoint / f".{FINGERPRINT_FILE}.0123abcd.tmp").write_text('{"pipeline": "de')

    check_checkpoint(spark, checkpoint.as_uri(), "demo", TOPICS)  # not refused as foreign

    assert _record_and_leftovers(checkpoint) == (TOPICS_RECORD, [])
    fresh = tmp_path / "fresh"
    check_checkpoint(spark, fresh.as_uri(), "demo", TOPICS)
    assert _record_and_leftovers(fresh) == (TOPICS_RECORD, [])
