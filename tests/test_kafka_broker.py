"""The real local Kafka broker: events produced arrive in Delta exactly once through Spark's
Kafka source; the broker cleans up after itself; a bad environment gives a clear error."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from chispa import assert_df_equality
from confluent_kafka import Producer
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spark_enrich.errors import BrokerError, EnvironmentProblem
from spark_enrich.testing import kafka as kafka_mod
from spark_enrich.testing.kafka import LocalKafkaBroker, _pid_alive, pinned_artifacts
from spark_enrich.testing.kafka_files import cluster_id

pytestmark = pytest.mark.kafka


def test_thousand_events_arrive_in_delta_exactly_once(
    spark: SparkSession, kafka_broker: LocalKafkaBroker, kafka_topic: str, tmp_path: Path
) -> None:
    events = [
        {"event_id": f"e-{i:04d}", "user_id": f"u-{i % 37}", "n": i, "tag": "x" * (i % 5)}
        for i in range(1000)
    ]
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers, "linger.ms": 5})
    for event in events:
        producer.produce(kafka_topic, key=str(event["user_id"]), value=json.dumps(event))
    assert producer.flush(30) == 0

    schema = "event_id STRING, user_id STRING, n INT, tag STRING"
    stream = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", kafka_broker.bootstrap_servers)
        .option("subscribe", kafka_topic)
        .option("startingOffsets", "earliest")
        .load()
        .select(F.from_json(F.col("value").cast("string"), schema).alias("e"))
        .select("e.*")
    )
    out, checkpoint = tmp_path / "out", tmp_path / "checkpoint"
    query = (
        stream.writeStream.format("delta")
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .start(str(out))
    )
    query.awaitTermination(240)
    assert query.exception() is None

    arrived = spark.read.format("delta").load(str(out))
    expected = spark.createDataFrame(
        [(e["event_id"], e["user_id"], e["n"], e["tag"]) for e in events], schema
    )
    assert_df_equality(arrived, expected, ignore_row_order=True, ignore_nullable=True)


def test_stopped_broker_leaves_no_process_and_frees_its_port(tmp_path: Path) -> None:
    broker = LocalKafkaBroker.start(tmp_path / "k")
    pid, port = broker.pid, broker.state.port
    assert _pid_alive(pid)
    broker.stop()
    assert not _pid_alive(pid)
    # No child of the broker's process group survives either.
    ps = subprocess.run(["ps", "-eo", "pgid="], capture_output=True, text=True, check=True)
    assert str(pid) not in {line.strip() for line in ps.stdout.splitlines()}
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(EnvironmentProblem) as info:
            LocalKafkaBroker.start(tmp_path / "k", port=port)
    assert info.value.error_class == "PORT_IN_USE"
    assert str(port) in info.value.message


@pytest.fixture
def jar_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server standing in for a Maven mirror, serving files from a folder."""
    root = tmp_path / "repo"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def test_missing_jar_is_a_clear_download_error(
    jar_server: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = jar_server  # serves nothing: every jar is a 404
    with pytest.raises(BrokerError) as info:
        kafka_mod.ensure_broker_jars(tmp_path / "cache", repository=url)
    assert info.value.error_class == "DOWNLOAD_FAILED"
    assert url in info.value.message and "Maven Central" in info.value.message
    assert not list((tmp_path / "cache").iterdir()), "a failed download must leave nothing behind"


def test_tampered_jar_is_refused(jar_server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = jar_server
    first = pinned_artifacts()[0]
    served = root / first.url("").lstrip("/")
    served.parent.mkdir(parents=True)
    served.write_bytes(b"not the real jar")
    with pytest.raises(BrokerError) as info:
        kafka_mod.ensure_broker_jars(tmp_path / "cache", repository=url)
    assert info.value.error_class == "CHECKSUM_MISMATCH"
    assert not (tmp_path / "cache" / first.file_name).exists()


def test_cached_jars_are_not_downloaded_again(tmp_path: Path) -> None:
    kafka_mod.ensure_broker_jars()  # fills the cache (a no-op when it is already full)
    # Once cached, an unreachable repository must not matter.
    paths = kafka_mod.ensure_broker_jars(repository="http://127.0.0.1:9")
    assert len(paths) == len(pinned_artifacts()) and all(p.is_file() for p in paths)


def test_cli_starts_reports_and_stops_a_broker(tmp_path: Path) -> None:
    cli = str(Path(sys.executable).parent / "spark-enrich")
    folder = str(tmp_path / "cli-broker")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [cli, "kafka", *args, "--dir", folder], capture_output=True, text=True, timeout=180,
            check=False,
        )  # fmt: skip

    started = run("start")
    assert started.returncode == 0, started.stderr
    status = run("status", "--json")
    info = json.loads(status.stdout)
    assert status.returncode == 0 and info["running"] is True
    # How to point pipelines at it (the demo reads ${KAFKA_BOOTSTRAP:-127.0.0.1:9092}), runnable
    # as it is printed: a shell comment follows the assignment.
    export = f"export KAFKA_BOOTSTRAP={info['bootstrap_servers']}"
    assert [line for line in started.stdout.splitlines() if line.startswith(export + " ")]
    again = run("start")
    assert again.returncode == 0 and export in again.stdout
    stopped = run("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not _pid_alive(info["pid"])
    after = run("status")
    assert after.returncode == 1 and "not running" in after.stdout


def test_cluster_ids_are_kafka_uuids_the_storage_tool_accepts() -> None:
    import base64

    ids = [cluster_id() for _ in range(2000)]
    # One id in 64 used to start with "-", which kafka-storage parses as an option.
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert len(set(ids)) == len(ids)


def test_cli_restart_keeps_topics_records_and_port_unless_reset(tmp_path: Path) -> None:
    from confluent_kafka import Consumer
    from confluent_kafka.admin import AdminClient

    cli = str(Path(sys.executable).parent / "spark-enrich")
    folder = str(tmp_path / "cli-broker")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [cli, "kafka", *args, "--dir", folder], capture_output=True, text=True, timeout=180,
            check=False,
        )  # fmt: skip

    def address() -> str:
        status = run("status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        return str(json.loads(status.stdout)["bootstrap_servers"])

    def topics(bootstrap: str) -> set[str]:
        return set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).topics)

    def records(bootstrap: str, topic: str) -> list[bytes]:
        consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "check", "auto.offset.reset": "earliest"}
        )
        consumer.subscribe([topic])
        found: list[bytes] = []
        for _ in range(60):
            message = consumer.poll(1)
            if message is not None and message.error() is None:
                found.append(message.value() or b"")
            if len(found) == 5:
                break
        consumer.close()
        return found

    assert run("start").returncode == 0
    first = address()
    producer = Producer({"bootstrap.servers": first})
    for i in range(5):
        producer.produce("kept", value=f"r{i}".encode())
    assert producer.flush(30) == 0
    del producer  # no reconnect attempts while the broker is down
    assert run("stop").returncode == 0

    restarted = run("start")
    assert restarted.returncode == 0, restarted.stderr
    assert address() == first  # same port: clients configured for it find it again
    assert records(first, "kept") == [f"r{i}".encode() for i in range(5)]
    assert run("stop").returncode == 0

    port = int(first.rsplit(":", 1)[1])
    with socket.socket() as squatter:  # another program took the port meanwhile
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        refused = run("start")
    assert refused.returncode == 3
    assert f"Port {port}" in refused.stderr and "--reset" in refused.stderr

    reset = run("start", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert "kept" not in topics(address())
    assert run("stop").returncode == 0
