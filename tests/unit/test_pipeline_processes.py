"""A processor that stops is reported with the end of its log, which says why."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fillstream.pipeline import Pipeline


def test_a_processor_that_exited_is_reported_with_the_end_of_its_log(tmp_path):
    pipeline = Pipeline(log_dir=tmp_path)
    script = "import sys; print('starting'); print('Error: the store is unreadable'); sys.exit(3)"
    with (tmp_path / "desk.log").open("ab") as log:
        process = subprocess.Popen([sys.executable, "-c", script], stdout=log)
    process.wait(30)
    pipeline.processes["desk"] = process
    with pytest.raises(RuntimeError) as raised:
        pipeline.check_alive()
    message = str(raised.value)
    assert "processor desk exited with code 3" in message
    assert message.endswith("starting\nError: the store is unreadable")


def test_running_processors_pass_the_check(tmp_path):
    pipeline = Pipeline(log_dir=tmp_path)
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pipeline.processes["risk"] = process
        pipeline.check_alive()
    finally:
        process.kill()
        process.wait(10)
