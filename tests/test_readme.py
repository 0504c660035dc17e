"""The README's references must stay true for an outside team that has only the README: every
relative link resolves, every ``spark-enrich`` command, subcommand, flag and choice it names
exists in the CLI (read from the Typer app, no subprocess), every configuration key path it
names exists in the models, every ``spark_enrich`` name it mentions imports, its dead-letter and
sink-metadata tables match the engine's schemas, and the two fresh-machine commands are the
Makefile targets that CI runs.

Each check is a function from README text to a list of problems, so that
:func:`test_the_checks_catch_a_broken_readme` can show each one failing on a broken README.
"""

from __future__ import annotations

import importlib
import re
import types
import typing
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Union

import pytest
import typer.main
import yaml
from pydantic import BaseModel

import spark_enrich.cli  # noqa: F401  (registers the commands on the app)
from spark_enrich.cli.app import app
from spark_enrich.columns import DEAD_LETTER_DDL, Reason
from spark_enrich.config.ddl import StructType, parse_schema
from spark_enrich.config.models import PipelineConfig
from spark_enrich.registry import ENTRY_POINT_GROUP
from spark_enrich.sink import METADATA_DDL

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Read by duck typing (commands, params, opts): Typer >= 0.29 builds its own click-like classes.
CLI: Any = typer.main.get_command(app)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.S | re.M)
# Names that look like modules but are not: the entry-point group executor packages declare.
# Names that look like modules but are not: the entry-point group, the checkpoint record file.
NOT_MODULES = {ENTRY_POINT_GROUP, "spark_enrich.json"}


def _blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def _prose(text: str) -> str:
    """The text outside fenced code blocks."""
    return FENCE.sub("", text)


def _inline_code(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", _prose(text))


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#{1,6} +(.+?) *$", _prose(markdown), flags=re.M)}


# --- links --------------------------------------------------------------------------------------


def link_problems(text: str) -> list[str]:
    """Relative links that point at no file of the repository (or at no heading)."""
    problems = []
    for target in re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", _prose(text)):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        if path:
            file = ROOT / path
            if not file.exists():
                problems.append(f"link {target!r}: {path} does not exist")
                continue
            headings = _anchors(file.read_text(encoding="utf-8")) if file.suffix == ".md" else None
        else:
            headings = _anchors(text)
        if anchor and headings is not None and anchor not in headings:
            problems.append(f"link {target!r}: no heading #{anchor}")
    return problems


# --- commands and flags -------------------------------------------------------------------------


def _lines(text: str) -> Iterator[str]:
    """Shell lines of the bash blocks (continuations joined) and the inline code spans."""
    for language, body in _blocks(text):
        if language == "bash":
            yield from body.replace("\\\n", " ").splitlines()
    yield from _inline_code(text)


def _invocation(line: str) -> list[str] | None:
    """The words after ``spark-enrich`` (or after the entry point spark-submit runs); words
    after a bare command name (`` `backfill --force` ``); ``None`` for other programs' lines."""
    # At the start of a command (after environment assignments), or spark-submit's script.
    match = re.match(r"\s*(?:\w+=\S*\s+)*spark-enrich\s+(.*)", line) or re.search(
        r'__main__\.py"\s+(.*)', line
    )
    if match:
        return match.group(1).split()
    words = line.split()
    if words and ((words[0] in CLI.commands and len(words) > 1) or words[0].startswith("-")):
        return words
    return None


def _is_group(command: Any) -> bool:
    return hasattr(command, "commands")


def _options(command: Any) -> dict[str, list[str]]:
    """``option -> its choices`` (empty: any value) of a command, ``--help`` included."""
    hints = typing.get_type_hints(command.callback, include_extras=True)
    found: dict[str, list[str]] = {"--help": []}
    for param in command.params:
        kinds = _types(hints.get(param.name))
        choices = [e.value for t in kinds if isinstance(t, type) and issubclass(t, Enum) for e in t]
        for name in (*param.opts, *param.secondary_opts):
            if name.startswith("-"):
                found[name] = choices
    return found


def _all_commands(group: Any) -> Iterator[Any]:
    for command in group.commands.values():
        if _is_group(command):
            yield from _all_commands(command)
        else:
            yield command


def _flag_problems(words: list[str], options: dict[str, list[str]], where: str) -> list[str]:
    problems = []
    for i, word in enumerate(words):
        word = word.strip("[](),;")
        if not re.fullmatch(r"--?[a-z][a-z0-9-]*(=.*)?(/--[a-z][a-z0-9-]*)*", word):
            continue
        for flag in word.split("/"):
            name, _, value = flag.partition("=")
            choices = options.get(name)
            if choices is None:
                problems.append(f"{where}: no option {name}")
                continue
            if not value and i + 1 < len(words):
                value = words[i + 1].strip("[](),;")
            if choices and value and not value.startswith("-") and value not in choices:
                problems.append(f"{where} {name}: {value!r} is not one of {choices}")
    return problems


def command_problems(text: str) -> list[str]:
    """``spark-enrich`` commands, subcommands, options and option choices the CLI lacks."""
    problems = []
    any_command: dict[str, list[str]] = {}
    for command in (CLI, *_all_commands(CLI)):  # the root's own options too (--log-level)
        any_command.update(_options(command))
    for line in _lines(text):
        words = _invocation(line)
        if not words:
            continue
        if words[0].startswith("-"):  # a flag named on its own: some command must have it
            problems += _flag_problems(words[:1], any_command, f"`{line}`")
            continue
        command = CLI
        path: list[str] = []
        while _is_group(command) and words and not words[0].startswith("-"):
            alternatives = words.pop(0).split("|")
            missing = [a for a in alternatives if a not in command.commands]
            if missing:
                problems.append(f"`{line}`: no command {' '.join([*path, *missing])}")
                break
            # `kafka start|status|stop`: every alternative exists; the first one's options count.
            path.append(alternatives[0])
            command = command.commands[alternatives[0]]
        else:
            if _is_group(command):
                problems.append(f"`{line}`: {' '.join(path) or 'spark-enrich'} needs a command")
            else:
                where = f"spark-enrich {' '.join(path)}"
                problems += _flag_problems(words, _options(command), where)
    return problems


def _shown_commands(text: str) -> set[str]:
    found = set()
    for line in _lines(text):
        words = _invocation(line)
        if words and words[0] in CLI.commands:
            found.add(words[0])
    return found


# --- configuration keys -------------------------------------------------------------------------

_SECTIONS = "|".join(PipelineConfig.model_fields)
_KEY_PATH = re.compile(rf"^((?:{_SECTIONS})(?:\[[^\]]*\]|\.[A-Za-z_]\w*)*)(?:[=: ]|$)")


def _types(annotation: Any) -> list[Any]:
    """The concrete types an annotation allows (unions and Annotated unwrapped, None left out)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _types(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _types(arg)]
    return [] if annotation is type(None) else [annotation]


def _key_exists(path: str) -> bool:
    current: list[Any] = [PipelineConfig]
    for segment in re.findall(r"\[[^\]]*\]|\.?[A-Za-z_]\w*", path):
        following: list[Any] = []
        for tp in current:
            origin = typing.get_origin(tp)
            if origin is dict or tp is dict:
                return True  # free-form keys (table properties, Kafka options, params)
            if origin is list:
                # `[0]`, `[]` or a list entry addressed by name (`sources.engagement`)
                if segment.startswith("[") or segment.lstrip(".") not in _field_names(tp):
                    following += _types(typing.get_args(tp)[0])
                continue
            if isinstance(tp, type) and issubclass(tp, BaseModel) and not segment.startswith("["):
                field = tp.model_fields.get(segment.lstrip("."))
                if field is not None:
                    following += _types(field.annotation)
        if not following:
            return False
        current = following
    return True


def _field_names(list_type: Any) -> set[str]:
    items = _types(typing.get_args(list_type)[0])
    models = [t for t in items if isinstance(t, type) and issubclass(t, BaseModel)]
    return {name for model in models for name in model.model_fields}


def _yaml_paths(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            yield child
            yield from _yaml_paths(value, child)
    elif isinstance(node, list):
        for item in node:
            yield from _yaml_paths(item, f"{path}[]")


def config_key_problems(text: str) -> list[str]:
    """Configuration key paths (`` `decoding.event_time_min` ``, ``--set sink.mode=...``, the
    keys of the YAML examples) that no model has."""
    problems = []
    for language, body in _blocks(text):
        if language == "yaml":
            document = yaml.safe_load(body)
            for path in dict.fromkeys(_yaml_paths(document)):
                if not _key_exists(path):
                    problems.append(f"yaml block: no configuration key {path}")
    for line in _lines(text):
        for part in re.split(r"--set ", line):
            match = _KEY_PATH.match(part.lstrip("\"'"))
            if match and not _key_exists(match.group(1)):
                problems.append(f"`{line}`: no configuration key {match.group(1)}")
    return problems


# --- Python names -------------------------------------------------------------------------------


def _importable(dotted: str) -> bool:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def import_problems(text: str) -> list[str]:
    """``spark_enrich.X`` names and ``from spark_enrich... import X`` that do not import."""
    names = set(re.findall(r"\bspark_enrich(?:\.[A-Za-z_]\w*)+", text)) - NOT_MODULES
    for module, imported in re.findall(r"from (spark_enrich[\w.]*) import ([\w, ]+)", text):
        names |= {f"{module}.{name.strip()}" for name in imported.split(",") if name.strip()}
    return [f"{name} does not import" for name in sorted(names) if not _importable(name)]


# --- schemas ------------------------------------------------------------------------------------


def _table_rows(text: str) -> dict[str, str]:
    """``name -> type cell`` of every Markdown table row that starts with a code name."""
    return dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", text, flags=re.M))


def _schema_problems(text: str, schema: StructType, what: str) -> list[str]:
    rows = _table_rows(text)
    problems = []
    for field in schema.fields:
        cell = rows.get(field.name)
        if cell is None:
            problems.append(f"{what}: column {field.name} is not in a table")
            continue
        expected = field.type.ddl()
        if isinstance(field.type, StructType):
            # The coordinates struct is written with its field names only.
            expected = "STRUCT<" + ", ".join(field.type.names()) + ">"
        if cell.replace("`", "") != expected:
            problems.append(f"{what}: column {field.name} is {cell!r}, not {expected}")
    return problems


def schema_problems(text: str) -> list[str]:
    """The dead-letter table, the sink's metadata columns and the reason codes as the README
    lists them, against the engine's own definitions."""
    problems = _schema_problems(text, parse_schema(DEAD_LETTER_DDL), "dead letters")
    problems += _schema_problems(text, parse_schema(METADATA_DDL), "sink metadata")
    problems += [f"reason {r.value} is not named" for r in Reason if f"`{r.value}`" not in text]
    return problems


# --- the tests ----------------------------------------------------------------------------------


def test_readme_links_resolve() -> None:
    assert link_problems(README) == []


def test_readme_shows_commands() -> None:
    assert {"validate", "schema", "run", "backfill", "replay"} <= _shown_commands(README)


def test_every_command_flag_and_choice_in_the_readme_exists() -> None:
    assert command_problems(README) == []


def test_every_configuration_key_in_the_readme_exists() -> None:
    assert config_key_problems(README) == []


def test_every_spark_enrich_name_in_the_readme_imports() -> None:
    assert import_problems(README) == []


def test_readme_dead_letter_and_metadata_columns_are_the_engines() -> None:
    assert schema_problems(README) == []


def test_readme_points_installed_users_to_the_configuration_reference() -> None:
    # docs/ is not installed with the package: the reference must also be named as a command.
    assert "(docs/configuration.md)" in README
    assert "spark-enrich schema --format markdown" in README


BROKEN = """\
# Broken

See [the reference](docs/no-such-file.md), [a section](#no-such-heading) and
[sequences](#broken).

```bash
spark-enrich validate pipelines/*.yaml --strict
spark-enrich schema --format yaml
spark-enrich kafka start|restart
spark-enrich no-such-command
```

Run `backfill --everything`, or pass `--no-such-flag`; set `--set sink.made=append` and
`decoding.event_time_minimum`.

```python
from spark_enrich import Pipeline, NoSuchThing
spark_enrich.testing.parity.assert_nothing(a, b)
```

```yaml
sink:
  sequence: {group_by: [user_id], lenght: 50}
```

| column | type |
|---|---|
| `reason` | INT |
"""


def test_the_checks_catch_a_broken_readme() -> None:
    assert link_problems(BROKEN) == [
        "link 'docs/no-such-file.md': docs/no-such-file.md does not exist",
        "link '#no-such-heading': no heading #no-such-heading",
    ]
    assert command_problems(BROKEN) == [
        "spark-enrich validate: no option --strict",
        "spark-enrich schema --format: 'yaml' is not one of ['json', 'markdown']",
        "`spark-enrich kafka start|restart`: no command kafka restart",
        "`spark-enrich no-such-command`: no command no-such-command",
        "spark-enrich backfill: no option --everything",
        "`--no-such-flag`: no option --no-such-flag",
    ]
    assert config_key_problems(BROKEN) == [
        "yaml block: no configuration key sink.sequence.lenght",
        "`--set sink.made=append`: no configuration key sink.made",
        "`decoding.event_time_minimum`: no configuration key decoding.event_time_minimum",
    ]
    assert import_problems(BROKEN) == [
        "spark_enrich.NoSuchThing does not import",
        "spark_enrich.testing.parity.assert_nothing does not import",
    ]
    problems = schema_problems(BROKEN)
    assert "dead letters: column reason is 'INT', not STRING" in problems
    assert "dead letters: column dead_letter_id is not in a table" in problems
    assert "reason decode_error is not named" in problems


@pytest.mark.parametrize("target", ["Makefile", ".ci/run"])
def test_fresh_machine_commands_are_make_demo_and_make_test(target: str) -> None:
    assert "make demo" in README and "make test" in README
    text = (ROOT / target).read_text()
    if target == "Makefile":
        assert re.search(r"^demo:", text, flags=re.M) and re.search(r"^test:", text, flags=re.M)
    else:
        assert "make test" in text
