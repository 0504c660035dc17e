"""The files of a local Kafka broker in its data folder: its configuration, its cluster id,
and forgetting what an earlier broker kept there."""

from __future__ import annotations

import uuid
from pathlib import Path

_STATE = ("logs", "ports.json", "broker.json", "server.properties", "log4j2.properties")


def forget_state(folder: Path) -> None:
    """Delete what a broker kept in ``folder`` (topics, records, cluster id, ports) and only
    that: the folder may be one the user also keeps other files in."""
    import shutil

    for name in _STATE:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def cluster_id() -> str:
    """A new cluster id for ``kafka-storage format``."""
    # Kafka wants a base64url 16-byte UUID without padding, as `kafka-storage random-uuid` prints.
    # Like Kafka's own Uuid.randomUuid(), never one starting with "-": the storage tool's
    # argument parser would read it as an option (1 start in 64 failed with FORMAT_FAILED).
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def write_config(folder: Path, port: int, controller_port: int) -> Path:
    """Write the single-node KRaft broker's ``server.properties`` (listening on ``port``, its
    controller on ``controller_port``, data under ``folder/logs``) and its log4j2 settings."""
    props = folder / "server.properties"
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={folder / 'logs'}",
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "log.retention.hours=-1",
                # Keep the single-node broker light: it shares 2 cores with Spark in CI.
                "num.network.threads=2",
                "num.io.threads=2",
                "background.threads=2",
                "",
            ]
        )
    )
    (folder / "log4j2.properties").write_text(
        "\n".join(
            [
                "rootLogger.level=WARN",
                "rootLogger.appenderRef.stdout.ref=STDOUT",
                "appender.stdout.type=Console",
                "appender.stdout.name=STDOUT",
                "appender.stdout.layout.type=PatternLayout",
                "appender.stdout.layout.pattern=[%d] %p %m (%c)%n",
                "logger.kafka.name=kafka",
                "logger.kafka.level=INFO",
                "",
            ]
        )
    )
    return props
