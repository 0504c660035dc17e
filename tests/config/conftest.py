"""Fixtures of the configuration tests."""

from __future__ import annotations

import pytest
from support.config import make_registry

from spark_enrich.registry import ExecutorRegistry


@pytest.fixture
def registry() -> ExecutorRegistry:
    return make_registry()
