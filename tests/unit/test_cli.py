"""The command line's answers when the input or the environment is wrong (no broker needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from fillstream.cli import app


@pytest.fixture
def no_broker(monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # nothing listens on port 1


def test_a_processor_started_without_a_broker_waits_for_one(no_broker):
    """Where the ops tools fail fast, a processor says so once and waits: a supervisor or a
    broker restart may start it while the broker is away."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fillstream", "run", "monitor"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    try:
        assert process.stderr is not None
        said = b""
        while b"Waiting for it." not in said:
            line = process.stderr.readline()
            assert line, f"the processor exited ({process.wait()}): {said.decode()}"
            said += line
        assert b"No Kafka broker answers at 127.0.0.1:1" in said
        time.sleep(1)
        assert process.poll() is None  # still waiting
    finally:
        process.kill()
        process.wait(10)


def test_an_unknown_topic_lists_the_catalog():
    result = CliRunner().invoke(app, ["tail", "signal"])
    assert result.exit_code == 2
    assert "unknown topic 'signal'; the catalog has: signals, orders.approved" in result.output


def test_without_a_broker_the_ops_tools_say_how_to_get_one(no_broker, tmp_path):
    source = tmp_path / "signals.jsonl"
    source.write_text("")
    result = CliRunner().invoke(app, ["produce", "signals", str(source)])
    assert result.exit_code == 2
    assert "No Kafka broker answers at 127.0.0.1:1" in result.output
    assert "fillstream kafka start" in result.output


def test_the_demo_refuses_an_unreadable_signals_file_before_touching_kafka(no_broker, tmp_path):
    source = tmp_path / "signals.jsonl"
    source.write_text('{"signal_id": "s-1"}\n{not json\n')
    result = CliRunner().invoke(app, ["demo", "--signals", str(source)])
    assert result.exit_code == 1
    assert "line 2 is not JSON" in result.output
    assert "No Kafka broker" not in result.output


def test_a_processors_log_keeps_its_own_info_and_other_libraries_warnings():
    script = (
        "import logging; from fillstream.cli.console import log_to_stderr; log_to_stderr();"
        " logging.getLogger('fillstream.runtime').info('ours');"
        " logging.getLogger('ccxt.base').info('theirs');"
        " logging.getLogger('ccxt.base').warning('their warning')"
    )
    env = {k: v for k, v in os.environ.items() if k != "FILLSTREAM_LOG_LEVEL"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert "INFO fillstream.runtime: ours" in run.stderr
    assert "theirs" not in run.stderr and "WARNING ccxt.base: their warning" in run.stderr
    quiet = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env | {"FILLSTREAM_LOG_LEVEL": "WARNING"},
    )
    assert "ours" not in quiet.stderr


def test_version_is_answered_without_a_command():
    from fillstream import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.output.strip()) == (0, f"fillstream {__version__}")
