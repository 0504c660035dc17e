"""The checkpoint's identity (the stream's Delta ``txnAppId``) and its spark-enrich record, for
local paths and for URIs (which must not be resolved against the driver's working folder)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from pyspark.sql import SparkSession

from spark_enrich.errors import PipelineRunError
from spark_enrich.runtime.checkpoint import FINGERPRINT_FILE, check_checkpoint, txn_app_id

TOPICS = SimpleNamespace(kind="kafka", name="events", topics=["a"], pattern=None)
OTHER_TOPICS = SimpleNamespace(kind="kafka", name="events", topics=["a", "b"], pattern=None)


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
