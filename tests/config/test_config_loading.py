"""Loading a pipeline: interpolation, path resolution, overrides, durations, helpers, errors."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from support.config import VALID, make_registry

from spark_enrich.config import (
    ConfigError,
    PipelineConfig,
    Problem,
    check_pipeline_files,
    load_pipeline,
    validate_pipeline,
)
from spark_enrich.config.models import KafkaSource, ProcessingTimeTrigger
from spark_enrich.errors import SparkEnrichError
from spark_enrich.registry import ExecutorRegistry

BASE = VALID / "base.yaml"


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _base_text() -> str:
    return BASE.read_text(encoding="utf-8")


def test_the_base_file_loads_with_typed_values(registry: ExecutorRegistry) -> None:
    config = load_pipeline(BASE, env={}, registry=registry)
    assert config.name == "test"
    assert config.source_file == str(BASE)
    events = config.source("events")
    assert isinstance(events, KafkaSource)
    assert events.topics == ["events"]
    assert events.fail_on_data_loss is True  # default
    assert config.service("lang").timeout == timedelta(seconds=5)
    assert config.service("lang").backoff == timedelta(milliseconds=200)
    trigger = config.runtime.stream.trigger if config.runtime.stream else None
    assert trigger == ProcessingTimeTrigger(kind="processing_time", interval=timedelta(seconds=10))
    assert config.runtime.batch is not None
    assert config.runtime.batch.chunk == timedelta(days=1)
    assert config.table("pins").keys == ["pin_id"]
    assert [c.data_type.simple_string() for c in config.output.columns] == [
        "string",
        "date",
        "array<string>",
    ]
    assert config.decoding.struct.names()[:2] == ["event_id", "event_type"]


def test_relative_paths_resolve_against_the_yaml_folder_and_uris_stay(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    text = _base_text().replace("path: data/pins", "path: s3a://bucket/pins")
    folder = tmp_path / "conf"
    folder.mkdir()
    config = load_pipeline(_write(folder, text), env={}, registry=registry)
    assert config.sink.path == str(folder / "data" / "out")
    assert config.runtime.stream is not None
    assert config.runtime.stream.checkpoint == str(folder / "data" / "_checkpoints" / "test")
    assert config.table("pins").path == "s3a://bucket/pins"
    text = _base_text().replace("path: data/out", "path: ../elsewhere/out")
    config = load_pipeline(_write(folder, text), env={}, registry=registry)
    assert config.sink.path == str(tmp_path / "elsewhere" / "out")


def test_interpolation_uses_env_then_default_and_dollar_dollar_is_literal(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    text = (
        _base_text()
        .replace("127.0.0.1:9092", "${BROKER:-127.0.0.1:9092}")
        .replace("path: data/out", "path: ${OUT_DIR}/out")
        .replace('version: "1"', 'version: "v$$1-${TAG:-dev}"')
    )
    path = _write(tmp_path, text)
    config = load_pipeline(path, env={"OUT_DIR": "/srv/x"}, registry=registry)
    events = config.source("events")
    assert isinstance(events, KafkaSource)
    assert events.bootstrap_servers == "127.0.0.1:9092"
    assert config.sink.path == "/srv/x/out"
    assert config.version == "v$1-dev"
    config = load_pipeline(
        path, env={"OUT_DIR": "/srv/x", "BROKER": "10.0.0.1:9093", "TAG": "prod"}, registry=registry
    )
    events = config.source("events")
    assert isinstance(events, KafkaSource)
    assert events.bootstrap_servers == "10.0.0.1:9093"
    assert config.version == "v$1-prod"


def test_a_default_also_replaces_an_empty_variable(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    # `OUT_DIR= spark-enrich run ...` must not move the sink to the filesystem root.
    text = _base_text().replace("path: data/out", "path: ${OUT_DIR:-/srv/default}/out")
    config = load_pipeline(_write(tmp_path, text), env={"OUT_DIR": ""}, registry=registry)
    assert config.sink.path == "/srv/default/out"
    # Without a default, an empty variable is its (empty) value, as in a shell.
    text = _base_text().replace('version: "1"', 'version: "v${SUFFIX}1"')
    config = load_pipeline(_write(tmp_path, text), env={"SUFFIX": ""}, registry=registry)
    assert config.version == "v1"


def test_a_nested_default_is_malformed_not_kept_as_text(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    text = _base_text().replace("path: data/out", "path: ${OUT_DIR:-${BASE:-x}}/out")
    with pytest.raises(ConfigError) as info:
        load_pipeline(_write(tmp_path, text), env={}, registry=registry)
    (problem,) = info.value.problems
    assert (problem.code, problem.path) == ("BAD_INTERPOLATION", "sink.path")


def test_a_missing_variable_is_named(tmp_path: Path, registry: ExecutorRegistry) -> None:
    path = _write(tmp_path, _base_text().replace("path: data/out", "path: ${OUT_DIR}/out"))
    with pytest.raises(ConfigError) as info:
        load_pipeline(path, env={}, registry=registry)
    (problem,) = info.value.problems
    assert (problem.code, problem.path) == ("ENV_VAR_MISSING", "sink.path")
    assert "OUT_DIR" in problem.message
    assert problem.example == "${OUT_DIR:-default-value}"


def test_overrides_set_scalars_lists_and_entries_by_name(registry: ExecutorRegistry) -> None:
    config = load_pipeline(
        BASE,
        overrides=[
            "sink.mode=append",
            "sources.events.topics=[a, b]",
            "sources[1].date_column=day",
            "executors[0].params.min_ms=900",
            "sink.retention_days=${DAYS:-30}",
        ],
        env={},
        registry=registry,
    )
    assert config.sink.mode == "append"
    events = config.source("events")
    assert isinstance(events, KafkaSource)
    assert events.topics == ["a", "b"]
    assert config.source("archive").date_column == "day"  # type: ignore[union-attr]
    assert config.executors[0].params == {"min_ms": 900}
    assert config.sink.retention_days == 30


def test_override_problems_point_at_the_override(registry: ExecutorRegistry) -> None:
    with pytest.raises(ConfigError) as info:
        load_pipeline(
            BASE,
            overrides=["sink.mode=upsert", "no-equals-sign", "sources[7].topics=[x]"],
            env={},
            registry=registry,
        )
    got = {(p.code, p.file, p.line, p.path) for p in info.value.problems}
    assert got == {
        ("NOT_ALLOWED", "--set", 1, "sink.mode"),
        ("BAD_OVERRIDE", "--set", 2, "no-equals-sign"),
        ("BAD_OVERRIDE", "--set", 3, "sources"),
    }


def test_override_problems_inside_new_or_replaced_parts_point_at_the_override(
    registry: ExecutorRegistry,
) -> None:
    with pytest.raises(ConfigError) as info:
        load_pipeline(
            BASE,
            overrides=[
                "runtime.strem.checkpoint=/x",  # a typo creates a mapping the file lacks
                "sink={path: /x, partition_by: [nosuch]}",  # replaces the file's sink
                "name.x=1",  # name is a value: no mapping to go into
                "sources[0]name=x",  # no dot after the index
            ],
            env={},
            registry=registry,
        )
    got = {(p.code, p.file, p.line, p.path) for p in info.value.problems}
    assert got == {
        ("UNKNOWN_KEY", "--set", 1, "runtime.strem"),
        ("NOT_IN_OUTPUT", "--set", 2, "sink.partition_by[0]"),
        ("BAD_OVERRIDE", "--set", 3, "name"),
        ("BAD_OVERRIDE", "--set", 4, "sources[0]name"),
    }


def test_an_override_reaches_a_key_holding_dots_in_quotes(registry: ExecutorRegistry) -> None:
    config = load_pipeline(
        BASE,
        overrides=["sink.properties['delta.autoOptimize.optimizeWrite']=false"],
        env={},
        registry=registry,
    )
    assert config.sink.properties == {"delta.autoOptimize.optimizeWrite": "false"}


def test_an_override_with_a_tag_that_cannot_build_is_judged_as_text(
    registry: ExecutorRegistry,
) -> None:
    with pytest.raises(ConfigError) as info:
        load_pipeline(
            BASE,
            overrides=["sink.retention_days=!!int x", "sink.mode=!!bool maybe"],
            env={},
            registry=registry,
        )
    got = {(p.code, p.file, p.line, p.path) for p in info.value.problems}
    assert got == {
        ("WRONG_TYPE", "--set", 1, "sink.retention_days"),
        ("NOT_ALLOWED", "--set", 2, "sink.mode"),
    }


def test_an_unreadable_file_is_a_problem_and_the_other_files_are_still_checked(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    too_long = tmp_path / ("p" * 300 + ".yaml")  # longer than a file name may be
    valid = _write(tmp_path, _base_text())
    results = check_pipeline_files([too_long, valid], env={}, registry=registry)
    (problem,) = results[str(too_long)]
    assert problem.code == "FILE_UNREADABLE"
    assert "too long" in problem.message
    assert results[str(valid)] == []


def test_yaml_traps_keys_stay_text_and_dates_stay_strings(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    # `on:` would be the boolean True in YAML 1.1; a bare date would become a datetime.date.
    text = _base_text().replace('version: "1"', "version: 2024-05-01\non: 1")
    with pytest.raises(ConfigError) as info:
        load_pipeline(_write(tmp_path, text), env={}, registry=registry)
    (problem,) = info.value.problems
    assert (problem.code, problem.path) == ("UNKNOWN_KEY", "on")
    config = load_pipeline(
        _write(tmp_path, _base_text().replace('version: "1"', "version: 2024-05-01")),
        env={},
        registry=registry,
    )
    assert config.version == "2024-05-01"
    # A --set value is read by the same rules (it was a datetime.date, or a ValueError
    # traceback for a date that does not exist).
    overridden = load_pipeline(BASE, overrides=["version=2024-05-01"], env={}, registry=registry)
    assert overridden.version == "2024-05-01"


def test_numbers_read_as_yaml_1_2_writes_them(tmp_path: Path, registry: ExecutorRegistry) -> None:
    # YAML 1.1 (PyYAML) read `030` as octal 24 and `1:30` as the sexagesimal 90.
    text = _base_text().replace("  partition_by: [event_date]\n", "  retention_days: 030\n")
    config = load_pipeline(_write(tmp_path, text), env={}, registry=registry)
    assert config.sink.retention_days == 30
    overridden = [
        load_pipeline(BASE, overrides=[f"sink.retention_days={v}"], env={}, registry=registry)
        for v in ("030", "0o30", "0x1e", "1_000")
    ]
    assert [c.sink.retention_days for c in overridden] == [30, 24, 30, 1000]
    sexagesimal = _base_text().replace("  partition_by: [event_date]\n", "  retention_days: 1:30\n")
    with pytest.raises(ConfigError) as info:
        load_pipeline(_write(tmp_path, sexagesimal), env={}, registry=registry)
    (problem,) = info.value.problems
    assert (problem.code, problem.path, problem.found) == (
        "WRONG_TYPE",
        "sink.retention_days",
        '"1:30"',  # found is shown as JSON: a string, not the number 90
    )


def test_yaml_null_means_the_null_policy_for_on_failure(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    text = _base_text().replace(
        "      timeout: 5s\n", "      timeout: 5s\n      on_failure: null\n"
    )
    config = load_pipeline(_write(tmp_path, text), env={}, registry=registry)
    assert config.service("lang").on_failure == "null"


def test_anchors_and_merge_keys_work(tmp_path: Path, registry: ExecutorRegistry) -> None:
    text = _base_text().replace(
        "    - {name: pins, path: data/pins, keys: [pin_id]}",
        "    - &pins {name: pins, path: data/pins, keys: [pin_id]}\n"
        "    - {<<: *pins, name: pins2, path: data/pins2}",
    )
    config = load_pipeline(_write(tmp_path, text), env={}, registry=registry)
    assert config.table("pins2").keys == ["pin_id"]
    assert config.table("pins2").path == str(tmp_path / "data" / "pins2")


def test_helpers_raise_key_error_listing_known_names(registry: ExecutorRegistry) -> None:
    config = load_pipeline(BASE, env={}, registry=registry)
    with pytest.raises(KeyError, match="archive"):
        config.source("nope")
    with pytest.raises(KeyError, match="pins"):
        config.table("nope")
    with pytest.raises(KeyError, match="lang"):
        config.service("nope")


def test_config_hash_is_stable_and_follows_content(registry: ExecutorRegistry) -> None:
    first = load_pipeline(BASE, env={}, registry=registry)
    again = load_pipeline(BASE, env={}, registry=registry)
    changed = load_pipeline(BASE, overrides=["sink.mode=append"], env={}, registry=registry)
    assert first.config_hash() == again.config_hash()
    assert len(first.config_hash()) == 64
    assert changed.config_hash() != first.config_hash()
    # The canonical JSON spells durations like the file does.
    dumped = first.model_dump(mode="json")
    assert dumped["enrichments"]["services"][0]["timeout"] == "5s"


@pytest.mark.parametrize(
    "spelling",
    [
        "1999-06-01",
        "1999-06-01T00:00:00",
        "1999-06-01T00:00:00Z",
        "1999-06-01 02:00:00+02:00",
        "1999-05-31T20:00:00.000-04:00",
        '"1999-06-01"',
    ],
)
def test_event_time_bounds_are_instants_in_one_utc_spelling(
    spelling: str, registry: ExecutorRegistry
) -> None:
    overrides = [f"decoding.event_time_min={spelling}", "decoding.event_time_max_ahead=90m"]
    config = load_pipeline(BASE, overrides=overrides, env={}, registry=registry)
    # Every spelling of one instant is the same configuration (and the same hash).
    assert config.decoding.event_time_min == "1999-06-01T00:00:00Z"
    assert config.decoding.event_time_max_ahead == timedelta(minutes=90)
    reference = load_pipeline(
        BASE,
        overrides=[
            "decoding.event_time_min=1999-06-01T00:00:00Z",
            "decoding.event_time_max_ahead=90m",
        ],
        env={},
        registry=registry,
    )
    assert config.config_hash() == reference.config_hash()


def test_event_time_bounds_default_and_can_be_switched_off(registry: ExecutorRegistry) -> None:
    default = load_pipeline(BASE, env={}, registry=registry).decoding
    assert (default.event_time_min, default.event_time_max_ahead) == (
        "2000-01-01T00:00:00Z",
        timedelta(days=1),
    )
    overrides = ["decoding.event_time_min=null", "decoding.event_time_max_ahead=null"]
    open_ended = load_pipeline(BASE, overrides=overrides, env={}, registry=registry).decoding
    assert (open_ended.event_time_min, open_ended.event_time_max_ahead) == (None, None)


def test_a_bad_event_time_bound_names_what_was_found_and_allowed(
    registry: ExecutorRegistry,
) -> None:
    with pytest.raises(ConfigError) as info:
        load_pipeline(
            BASE, overrides=["decoding.event_time_min=2000-13-01"], env={}, registry=registry
        )
    (problem,) = info.value.problems
    assert (problem.code, problem.path, problem.found) == (
        "BAD_TIMESTAMP",
        "decoding.event_time_min",
        '"2000-13-01"',
    )
    assert "ISO-8601" in (problem.allowed or "")


def test_models_are_frozen(registry: ExecutorRegistry) -> None:
    config = load_pipeline(BASE, env={}, registry=registry)
    with pytest.raises(ValidationError):
        config.sink.mode = "append"  # type: ignore[misc]


def _base_dict() -> dict[str, object]:
    import yaml

    data = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_model_validate_from_a_dict_and_validate_pipeline(registry: ExecutorRegistry) -> None:
    data = _base_dict()
    config = PipelineConfig.model_validate(data)
    assert config.source_file is None
    assert validate_pipeline(config, registry=registry) == []
    assert validate_pipeline(data, registry=registry) == []
    data["sink"] = {"path": "out", "partition_by": ["nope"]}
    data["executors"] = [{"name": "clicks", "params": {"min_ms": -1}}]
    problems = validate_pipeline(data, registry=registry)
    assert {(p.code, p.path) for p in problems} == {
        ("NOT_IN_OUTPUT", "sink.partition_by[0]"),
        ("OUT_OF_RANGE", "executors[0].params.min_ms"),
    }
    assert all(p.file is None and p.line is None for p in problems)


def test_a_sections_own_rules_are_checked_by_its_model(registry: ExecutorRegistry) -> None:
    data = _base_dict()
    sources = data["sources"]
    assert isinstance(sources, list)
    sources[0]["bootstrap_servers"] = "localhost"
    sources[0]["name"] = "archive"
    with pytest.raises(ValidationError) as info:
        PipelineConfig.model_validate(data)
    assert {(e["type"], e["loc"]) for e in info.value.errors()} == {
        ("BAD_VALUE", ("sources", 0, "bootstrap_servers")),
        ("DUPLICATE_NAME", ("sources", 1, "name")),
    }
    problems = validate_pipeline(data, registry=registry)
    assert [(p.code, p.path, p.found) for p in problems] == [
        ("BAD_VALUE", "sources[0].bootstrap_servers", "localhost"),
        ("DUPLICATE_NAME", "sources[1].name", "archive"),
    ]
    assert problems[0].message == "bootstrap server 'localhost' is not host:port (port 1-65535)"
    assert problems[1].message == "source name 'archive' is already used by sources[0]"


def test_a_model_copied_without_validation_is_still_checked(registry: ExecutorRegistry) -> None:
    config = PipelineConfig.model_validate(_base_dict())
    sink = config.sink.model_copy(update={"properties": {"Owner": "me"}})
    problems = validate_pipeline(config.model_copy(update={"sink": sink}), registry=registry)
    assert [(p.code, p.path) for p in problems] == [
        ("RESERVED_TABLE_PROPERTY", "sink.properties.Owner")
    ]


def test_a_check_quoting_braces_is_reported_as_written(registry: ExecutorRegistry) -> None:
    data = _base_dict()
    sources = data["sources"]
    assert isinstance(sources, list)
    sources[0]["starting_offsets"] = "{allowed}"
    (problem,) = validate_pipeline(data, registry=registry)
    assert problem.message == (
        "starting_offsets '{allowed}' is neither earliest, latest nor a JSON object of offsets"
    )
    assert (problem.found, problem.example) == ("{allowed}", "earliest")


def test_cross_field_rules_run_even_when_another_section_is_malformed(
    registry: ExecutorRegistry,
) -> None:
    data = _base_dict()
    data["dead_letters"] = {"path": "dead", "max_share": "lots"}
    data["executors"] = [{"name": "nope"}]
    problems = validate_pipeline(data, registry=registry)
    assert {(p.code, p.path) for p in problems} == {
        ("WRONG_TYPE", "dead_letters.max_share"),
        ("UNKNOWN_EXECUTOR", "executors[0].name"),
    }


def test_a_missing_section_of_variants_names_them_not_their_modules(
    registry: ExecutorRegistry,
) -> None:
    data = _base_dict()
    del data["sources"]
    (problem,) = validate_pipeline(data, registry=registry)
    assert (problem.code, problem.path) == ("MISSING_REQUIRED", "sources")
    assert problem.allowed == "a list of a mapping (KafkaSource | DeltaSource | FilesSource)"


def test_shared_event_type_declared_by_all_is_allowed(tmp_path: Path) -> None:
    text = _base_text().replace(
        "    params: {min_ms: 500}\n",
        "    params: {min_ms: 500}\n    shared_event_types: [pin_click]\n"
        "  - name: closeups\n    shared_event_types: [pin_click]\n",
    )
    config = load_pipeline(_write(tmp_path, text), env={}, registry=make_registry())
    assert [e.name for e in config.executors] == ["clicks", "closeups", "searches"]


def _other_pipeline_text(*replacements: tuple[str, str]) -> str:
    """The base pipeline as pipeline ``other`` with its own dead letters, then ``replacements``."""
    text = _base_text().replace("name: test", "name: other").replace("data/dead", "data/dead2")
    for old, new in replacements:
        text = text.replace(old, new)
    return text


def _check_two(
    tmp_path: Path, second_text: str, registry: ExecutorRegistry
) -> tuple[Path, Path, dict[str, list[Problem]]]:
    """Check the base pipeline (``a.yaml``) and ``second_text`` (``b.yaml``) together."""
    first = _write(tmp_path, _base_text(), "a.yaml")
    second = _write(tmp_path, second_text, "b.yaml")
    return first, second, check_pipeline_files([first, second], env={}, registry=registry)


def test_two_pipelines_sharing_a_checkpoint_are_reported(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    second_text = _other_pipeline_text(("data/out", "data/out2"))
    first, second, results = _check_two(tmp_path, second_text, registry)
    assert results[str(first)] == []
    (problem,) = results[str(second)]
    assert (problem.code, problem.path, problem.file) == (
        "SHARED_CHECKPOINT",
        "runtime.stream.checkpoint",
        str(second),
    )
    assert (
        problem.line == second_text.splitlines().index("    checkpoint: data/_checkpoints/test") + 1
    )


def test_a_file_with_problems_of_its_own_is_still_compared_with_the_others(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    # Another pipeline with a fault of its own in the sink section, writing the same sink.
    second_text = _other_pipeline_text(
        ("data/_checkpoints/test", "data/_checkpoints/other"),
        ("  partition_by: [event_date]", "  partition_by: [event_date]\n  retention_days: 0"),
    )
    first, second, results = _check_two(tmp_path, second_text, registry)
    assert results[str(first)] == []
    got = {(p.code, p.path) for p in results[str(second)]}
    assert got == {("OUT_OF_RANGE", "sink.retention_days"), ("NESTED_PATHS", "sink.path")}
    shared = next(p for p in results[str(second)] if p.code == "NESTED_PATHS")
    assert f"'test' ({first})" in shared.message


def test_config_error_carries_problems_and_formats_them() -> None:
    problem = Problem(
        "UNKNOWN_KEY", "unknown key `partition`", "p.yaml", 3, 5, "sink.partition", "partition",
        "one of: mode, partition_by", "partition_by",
    )  # fmt: skip
    assert problem.format() == (
        "p.yaml:3:5: sink.partition: unknown key `partition` [UNKNOWN_KEY]\n"
        "    found: partition; allowed: one of: mode, partition_by; example: partition_by"
    )
    error = ConfigError([problem])
    assert isinstance(error, SparkEnrichError)
    assert error.error_class == "CONFIG_INVALID"
    assert error.problems == [problem]
    assert error.message_parameters["problems"][0]["code"] == "UNKNOWN_KEY"
    json.dumps(error.message_parameters)  # JSON-ready


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_pipeline(tmp_path / "nope.yaml", env={}, registry=ExecutorRegistry())
    assert [p.code for p in info.value.problems] == ["FILE_NOT_FOUND"]


def test_a_registry_that_fails_to_load_is_a_problem(tmp_path: Path) -> None:
    class Broken(ExecutorRegistry):
        def names(self) -> list[str]:
            from spark_enrich.errors import RegistryError

            raise RegistryError("ENTRY_POINT_FAILED", "boom", {})

    problems = validate_pipeline(_base_dict(), registry=Broken())
    assert [(p.code, p.path) for p in problems] == [("REGISTRY_ERROR", "executors")]


@pytest.mark.parametrize(
    ("a", "b", "relation"),
    [
        ("/data/out", "file:///data/out/dead", "lies inside"),
        ("file:/data/out/", "/data//out", "is the same location as"),
        ("s3a://bucket/out", "s3://bucket/out/part", "lies inside"),
        ("s3://bucket/out", "s3://other/out", None),
        ("/data/out", "/data/output", None),
    ],
)
def test_one_location_in_two_spellings_is_one_location(
    a: str, b: str, relation: str | None
) -> None:
    from spark_enrich.config.locations import relation as relation_of

    assert relation_of(a, b) == relation


def test_a_name_with_a_trailing_newline_is_not_a_name(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    text = _base_text().replace("name: test", 'name: "test\\n"')
    with pytest.raises(ConfigError) as info:
        load_pipeline(_write(tmp_path, text), env={}, registry=registry)
    assert [(p.code, p.path) for p in info.value.problems] == [("BAD_NAME", "name")]


def test_an_empty_or_blank_topic_is_not_a_topic(tmp_path: Path, registry: ExecutorRegistry) -> None:
    with pytest.raises(ConfigError) as info:
        load_pipeline(BASE, overrides=['sources[0].topics=["", " "]'], env={}, registry=registry)
    got = [(p.code, p.path) for p in info.value.problems]
    assert got == [("BAD_NAME", "sources[0].topics[0]"), ("BAD_NAME", "sources[0].topics[1]")]


def test_tagged_collections_binary_values_and_alias_bombs_are_problems(
    tmp_path: Path, registry: ExecutorRegistry
) -> None:
    text = (
        _base_text()
        .replace("sink:\n", "sink: !custom\n")
        .replace('version: "1"', "version: !!binary dGVzdA==")
    )
    results = check_pipeline_files([_write(tmp_path, text)], env={}, registry=registry)
    got = {(p.code, p.path) for p in next(iter(results.values()))}
    assert got == {("UNREADABLE_VALUE", "sink"), ("UNREADABLE_VALUE", "version")}
    # Ten aliases of ten aliases, seven deep: 10**7 values if expanded.
    levels = ['x0: &x0 ["a", "a", "a", "a", "a", "a", "a", "a", "a", "a"]']
    for i in range(1, 7):
        levels.append(f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]")
    bomb = _write(tmp_path, "\n".join(levels) + "\n", "bomb.yaml")
    codes = {p.code for p in check_pipeline_files([bomb], env={}, registry=registry)[str(bomb)]}
    assert "UNREADABLE_VALUE" in codes


def test_an_override_nested_too_deeply_is_judged_as_text(registry: ExecutorRegistry) -> None:
    deep = "[" * 3000 + "]" * 3000
    with pytest.raises(ConfigError) as info:
        load_pipeline(BASE, overrides=[f"sink.mode={deep}"], env={}, registry=registry)
    assert [(p.code, p.file, p.path) for p in info.value.problems] == [
        ("NOT_ALLOWED", "--set", "sink.mode")
    ]


@pytest.mark.parametrize(
    "mapping_key", [None, "delta.columnMapping.mode", "delta.ColumnMapping.Mode"]
)
def test_a_column_name_delta_refuses_needs_column_mapping(
    tmp_path: Path, registry: ExecutorRegistry, mapping_key: str | None
) -> None:
    text = _base_text().replace(
        "    - {name: tags, type: array<string>}",
        "    - {name: tags, type: array<string>}\n    - {name: user agent, type: string}",
    )
    if mapping_key is not None:  # Delta reads its property keys in any case
        text = text.replace(
            "  partition_by: [event_date]",
            f"  partition_by: [event_date]\n  properties: {{{mapping_key}: name}}",
        )
    results = check_pipeline_files([_write(tmp_path, text)], env={}, registry=registry)
    got = [(p.code, p.path) for p in next(iter(results.values()))]
    assert got == ([("BAD_NAME", "output.columns[3].name")] if mapping_key is None else [])
