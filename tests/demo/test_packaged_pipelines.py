"""The demo pipelines ship inside the package, so ``spark-enrich demo run`` works from an empty
folder after ``pip install``: the packaged copies are the repository's pipelines/, and they are
used only where the default relative path does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from spark_enrich.config import load_pipeline
from spark_enrich.demo.run import PACKAGED, demo_pipeline_file

REPO = Path(__file__).parent.parent.parent


@pytest.mark.parametrize("name", ["demo.yaml", "sequences.yaml"])
def test_the_packaged_demo_pipelines_are_the_repositorys(name: str) -> None:
    assert (PACKAGED / name).read_bytes() == (REPO / "pipelines" / name).read_bytes()


def test_from_an_empty_folder_the_default_pipelines_are_the_packaged_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("demo.yaml", "sequences.yaml"):
        found = demo_pipeline_file(Path("pipelines") / name)
        assert found == PACKAGED / name
        load_pipeline(found, env={"SPARK_ENRICH_DEMO_DIR": str(tmp_path / "out")})


def test_an_existing_file_is_used_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert demo_pipeline_file("pipelines/demo.yaml") == Path("pipelines/demo.yaml")
    own = tmp_path / "mine.yaml"
    assert demo_pipeline_file(own) == own  # not a default: its own error when missing
