"""The record of `fillstream up`'s supervisor: written whole and read back, a broken one is no
record, and a stale one (its supervisor dead) is cleaned up with what it left running."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fillstream.cli import app
from fillstream.supervisor import stop_supervisor
from fillstream.supervisor_record import (
    Child,
    SupervisorRecord,
    is_fillstream_process,
    read_record,
    write_record,
)


def record_of(pid: int, *children: Child) -> SupervisorRecord:
    return SupervisorRecord(
        pid=pid,
        started=1_800_000_000.0,
        bootstrap_servers="127.0.0.1:1",
        topic_prefix="t.",
        broker_started=False,
        log_dir="/tmp/logs",
        api="127.0.0.1:8000",
        ready=True,
        children=children,
    )


@pytest.fixture
def state(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FILLSTREAM_STATE_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(30)
    return process.pid


@pytest.fixture
def lookalike(tmp_path) -> Iterator[subprocess.Popen[bytes]]:
    """A process whose command line is a `fillstream` script's, as a processor's is."""
    script = tmp_path / "bin" / "fillstream"
    script.parent.mkdir()
    script.write_text("import time\ntime.sleep(60)\n")
    process = subprocess.Popen([sys.executable, str(script), "run", "desk"])
    yield process
    process.kill()
    process.wait(10)


def test_a_record_reads_back_as_written(state):
    record = record_of(4321, Child("desk", 4400, 1_800_000_001.5, restarts=2, waiting=True))
    write_record(record)
    assert read_record() == record
    assert not list(state.glob("*.tmp"))  # written aside, then renamed into place


def test_no_record_or_a_broken_one_reads_as_none(state):
    assert read_record() is None
    (state / "supervisor.json").write_text('{"pid": 12')
    assert read_record() is None
    (state / "supervisor.json").write_text('{"pid": 12, "children": []}')
    assert read_record() is None


def test_only_a_live_fillstream_process_counts(dead_pid, lookalike):
    assert not is_fillstream_process(dead_pid)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not is_fillstream_process(sleeper.pid)  # a pid reused by another program
    finally:
        sleeper.kill()
        sleeper.wait(10)
    assert is_fillstream_process(lookalike.pid)


def test_a_stale_record_is_reported_and_down_stops_what_it_left(state, dead_pid, lookalike):
    write_record(record_of(dead_pid, Child("desk", lookalike.pid, 1_800_000_001.0, 0)))
    status = CliRunner().invoke(app, ["status"])
    assert status.exit_code == 3
    assert f"(pid {dead_pid}) is not running; its processes desk still are" in status.output

    killed = stop_supervisor(read_record(), timeout=1)  # type: ignore[arg-type]
    assert killed == [f"desk (pid {lookalike.pid})"]
    assert lookalike.wait(10) == -9
    assert read_record() is None


def test_up_refuses_while_a_supervisor_runs(state, lookalike):
    write_record(record_of(lookalike.pid))
    result = CliRunner().invoke(app, ["up", "--no-api"])
    assert result.exit_code == 1
    assert f"fillstream is already up (supervisor pid {lookalike.pid})" in result.output


def test_down_with_nothing_up_says_so(state):
    result = CliRunner().invoke(app, ["down"])
    assert result.exit_code == 0
    assert "fillstream is not up: nothing to stop." in result.output


def test_up_refuses_while_a_dead_supervisors_processes_run(state, dead_pid, lookalike):
    write_record(record_of(dead_pid, Child("desk", lookalike.pid, 1_800_000_001.0, 0)))
    result = CliRunner().invoke(app, ["up", "--no-api"])
    assert result.exit_code == 1
    assert "its processes desk still are: `fillstream down` cleans up" in result.output
