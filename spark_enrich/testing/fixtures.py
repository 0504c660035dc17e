"""pytest fixtures for executor authors and for spark-enrich's own suite.

Enable with ``pytest_plugins = ["spark_enrich.testing.fixtures"]`` in a ``conftest.py``.

- ``spark``: one local session for the whole test session (2 shuffle partitions, UI off, UTC).
- ``kafka_broker``: one real single-node Kafka broker for the whole test session; its teardown
  fails the run if the broker process is still alive afterwards.
- ``kafka_topic``: a fresh, uniquely named topic on that broker per test.
- ``redis_server``: one real Redis-protocol server (``redis-server`` on 127.0.0.1, see
  :mod:`spark_enrich.online.server`) for the test session; no binary fails with
  ``REDIS_SERVER_NOT_FOUND``.
- ``online_prefix``: a fresh key prefix on that server per test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from spark_enrich.online.server import LocalRedisServer
from spark_enrich.testing.kafka import LocalKafkaBroker, _pid_alive

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TEST_SPARK_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "3g",
    "spark.databricks.delta.snapshotPartitions": "1",
    # Stop streaming queries promptly in tests.
    "spark.sql.streaming.stopTimeout": "30s",
}


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """A local SparkSession with Delta Lake and the Kafka connector, shared by all tests."""
    from spark_enrich.session import get_spark

    session = get_spark("spark-enrich-tests", master="local[2]", conf=TEST_SPARK_CONF)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafkaBroker]:
    """A real Kafka broker on 127.0.0.1 for the test session."""
    broker = LocalKafkaBroker.start(tmp_path_factory.mktemp("kafka"))
    yield broker
    broker.stop()
    assert not _pid_alive(broker.pid), f"Kafka broker pid {broker.pid} outlived the test session"


@pytest.fixture
def kafka_topic(kafka_broker: LocalKafkaBroker) -> str:
    """A new topic (2 partitions) with a unique name."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    kafka_broker.create_topic(name, partitions=2)
    return name


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedisServer]:
    """A real Redis-protocol server on 127.0.0.1 for the test session."""
    server = LocalRedisServer.start(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()
    assert not server.is_running(), f"redis-server pid {server.pid} outlived the test session"


@pytest.fixture
def online_prefix() -> str:
    """A key prefix no other test uses."""
    return f"t-{uuid.uuid4().hex[:10]}:"
