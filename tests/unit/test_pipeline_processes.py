"""The pipeline's processes: a processor that stops is reported with the end of its log, which
says why; a demo run finds the earlier runs it replaces."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fillstream.config import DEFAULT_CONFIG
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


def test_a_demo_finds_the_earlier_runs_under_its_own_topic_prefix_only():
    from fillstream.demo import earlier_runs

    run, other = "demo-20261121-202327-1773.", "demo-20261121-203000-0a0b."
    names = [
        f"{run}signals",
        f"{run}changelog.desk",
        f"{other}signals",
        f"prod.{run}signals",  # a run under another prefix
        "signals",
        f"x{run}signals",
    ]
    assert earlier_runs(names, "", other) == [run]
    assert earlier_runs(names, "", "demo-20261121-210000-ffff.") == [run, other]
    assert earlier_runs(names, "prod.", "prod.demo-20261121-210000-ffff.") == [f"prod.{run}"]


@pytest.mark.parametrize("live", [False, True])
def test_the_live_feed_starts_once_and_only_when_the_config_names_feed_venues(
    tmp_path, monkeypatch, live
):
    config = tmp_path / "engine.toml"
    feed = '\n[feed.venues.binance]\nexchange = "binance"\nsymbols = ["BTC/USDT"]\n'
    config.write_text(DEFAULT_CONFIG.read_text() + (feed if live else ""))
    started: list[str] = []
    pipeline = Pipeline(config=config, log_dir=tmp_path)
    monkeypatch.setattr(pipeline, "spawn", lambda key, command: started.append(key))
    pipeline.start(workers=2)
    assert started.count("feed") == (1 if live else 0)
    assert "feed#1" not in started  # two feeds would publish every record twice
