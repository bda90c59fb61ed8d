"""The demo with its desk killed mid-run (SIGKILL, as `kill -9` from another shell would):
the desk is started again, one line says so, and the run ends as an undisturbed one does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from fillstream.infra.broker import free_port
from fillstream.infra.demo_broker import start_local, stop_local
from tests.integration.processes import fillstream_children

pytestmark = pytest.mark.integration


def test_a_desk_killed_mid_demo_is_restarted_and_the_demo_ends_as_usual(tmp_path, monkeypatch):
    monkeypatch.setenv("FILLSTREAM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("FILLSTREAM_TOPIC_PREFIX", raising=False)
    try:
        start_local(port=free_port(), controller_port=free_port())
        demo = subprocess.Popen(
            [sys.executable, "-m", "fillstream", "demo"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(demo.stdout or ()), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while not any(line.startswith("Processors:") for line in lines):
            assert demo.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        time.sleep(4)  # into the replay: the desk holds orders and state
        desk = fillstream_children(demo.pid)["run desk"]
        os.kill(desk, signal.SIGKILL)
        assert demo.wait(110) == 0, "".join(lines)
        reader.join(10)
    finally:
        stop_local()
    output = "".join(lines)
    assert re.search(rf"desk exited \(code -9\): restarted as pid (?!{desk}\b)\d+", output)
    assert output.count("exited (code") == 1
    assert "Traceback" not in output
    assert "0 not final, 0 dead letters" in output
    assert re.search(r"TCA for (\d+) of \1\s+approved\s+orders", output)
    for reason in ("INVALID_SIGNAL", "MAX_ORDER_QUANTITY", "UNKNOWN_INSTRUMENT"):
        assert f"1 × {reason}" in output
