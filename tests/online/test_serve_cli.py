"""``spark-enrich serve`` refuses to bind beyond loopback without a token."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import spark_enrich.cli  # noqa: F401
from spark_enrich.cli.app import app
from spark_enrich.cli.online_cmd import TOKEN_ENV


def test_serve_beyond_loopback_without_a_token_exits_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    result = CliRunner().invoke(app, ["serve", "pipelines/sequences.yaml", "--host", "0.0.0.0"])
    assert result.exit_code == 3
    assert "SERVE_TOKEN_REQUIRED" in result.output
