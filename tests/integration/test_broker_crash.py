"""The broker SIGKILLed mid-run and started again: the processors, never restarted, wait it
out and carry on; nothing is lost, nothing contradicted, and the audit passes.

A broker of the test's own (the session's is shared), on a data dir that survives the kill.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fillstream.bench import workload
from fillstream.cli import app
from fillstream.infra.broker import LocalBroker, free_port
from fillstream.infra.jars import ensure_jars
from fillstream.infra.topic_io import codec, make_producer, send
from fillstream.schemas.models import TERMINAL
from fillstream.schemas.topics import find, key_of
from tests.integration.live import running_pipeline
from tests.integration.test_crash_consistency import (
    IDS,
    _field,
    _Market,
    _signal,
    _wait_for_every_order,
)

pytestmark = pytest.mark.integration

RATE, SECONDS = 200, 12


@pytest.fixture(scope="module")
def broker():
    with tempfile.TemporaryDirectory(prefix="fillstream-crash-kafka-") as tmp:
        ports = [free_port()]
        while len(ports) < 2:
            port = free_port()
            if port not in ports:
                ports.append(port)
        local = LocalBroker(Path(tmp) / "data", ensure_jars(), ports[0], ports[1])
        local.start()
        local.wait_ready()
        try:
            yield local
        finally:
            local.stop()


def _crash_and_restart(broker: LocalBroker, down: float) -> None:
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGKILL)
    broker._process.wait(10)  # type: ignore[union-attr]
    time.sleep(down)
    broker.start()
    broker.wait_ready()


@pytest.fixture(scope="module")
def crashed(broker, tmp_path_factory):
    config = tmp_path_factory.mktemp("broker-crash") / "engine.toml"
    config.write_text(workload.engine_toml())
    with running_pipeline(
        broker.bootstrap_servers, tmp_path_factory, "brokercrash", config=config, hold_ms=0
    ) as (pipeline, watcher):
        started = {name: process.pid for name, process in pipeline.processes.items()}
        market = _Market()
        market.start()
        producer = make_producer(**{"linger.ms": 1})
        spec, encoder = find("signals"), codec(find("signals"))
        start = time.monotonic()
        crash = threading.Timer(SECONDS / 2, _crash_and_restart, args=(broker, 3.0))
        crash.start()
        for n in range(RATE * SECONDS):
            time.sleep(max(0.0, start + n / RATE - time.monotonic()))
            value = _signal(n, time.time_ns() // 1000)
            send(producer, spec, encoder.encode(value), key_of(spec, value))
            producer.poll(0)
        crash.join()
        assert producer.flush(120) == 0
        _wait_for_every_order(watcher, pipeline, RATE * SECONDS, timeout=240)
        market.stopping.set()
        market.join()
        watcher.settle(timeout=120, pipeline=pipeline)
        # The processors started before the crash are the ones running now: none exited.
        assert started == {
            name: p.pid for name, p in pipeline.processes.items() if p.poll() is None
        }
        pipeline.stop()
        yield watcher  # with the pipeline's topic prefix and broker still set, for the audit


def test_every_order_ends_and_nothing_published_is_contradicted(crashed):
    latest = {state["order_id"]: state["status"] for state in crashed.records["orders.state"]}
    assert len(latest) == RATE * SECONDS
    assert set(latest.values()) <= TERMINAL
    for topic, fields in IDS.items():
        first: dict[tuple, dict] = {}
        for record in crashed.records[topic]:
            key = tuple(_field(record, f) for f in fields)
            assert first.setdefault(key, record) == record, f"{topic} {key} contradicted"


def test_the_audit_passes_after_the_broker_crash(crashed, tmp_path):
    path = tmp_path / "audit.json"
    result = CliRunner().invoke(app, ["audit", "--json", str(path)])
    report = json.loads(path.read_text())
    assert result.exit_code == 0, result.output
    assert report["violations"] == []
