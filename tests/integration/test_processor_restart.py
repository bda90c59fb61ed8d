"""Processors killed mid-run (SIGKILL) and restarted lose nothing and contradict nothing.

The real BTCUSDT scenario of test_pipeline_live.py: every order is placed in lockstep; then the
rest of the market data goes out in bursts, and while a burst is being processed a processor is
killed and started again. The resting buy fills in the first burst, the stop in the second:
only restored state can produce those fills, exactly once, where the replay harness does.
"""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from fillstream.config import load_config
from fillstream.pipeline import Pipeline, feed
from fillstream.replay import run_replay
from tests.integration.live import running_pipeline
from tests.integration.test_pipeline_live import _fills, window
from tests.unit.test_replay_btcusdt import COMMANDS, SIGNALS, T0

pytestmark = pytest.mark.integration

SECOND = 1_000_000
# Every signal and the cancel come before the first cut; the resting buy fills at 23:57:52,
# inside the first burst, and the stop at 23:58:22, inside the second.
FIRST_CUT, SECOND_CUT = T0 + 100 * SECOND, T0 + 190 * SECOND
KILLS = (("desk",), ("desk", "risk"))


def _kill_while_busy(pipeline: Pipeline, names: tuple[str, ...]) -> None:
    time.sleep(0.3)  # the burst is being processed now
    for name in names:
        pipeline.kill(name)
    for name in names:
        pipeline.start_one(name)


@pytest.fixture(scope="module")
def replay():
    return run_replay(load_config(), window(), SIGNALS, COMMANDS)


@pytest.fixture(scope="module")
def restarted(kafka_bootstrap, tmp_path_factory):
    market = list(window())
    first = [event for event in market if event.timestamp <= FIRST_CUT]
    bursts = (
        [event for event in market if FIRST_CUT < event.timestamp <= SECOND_CUT],
        [event for event in market if event.timestamp > SECOND_CUT],
    )
    with running_pipeline(kafka_bootstrap, tmp_path_factory, "restart") as (pipeline, watcher):
        feed(first, SIGNALS, COMMANDS, watcher=watcher, pipeline=pipeline)
        for burst, names in zip(bursts, KILLS, strict=True):
            feed(burst, [])
            _kill_while_busy(pipeline, names)
            watcher.settle(timeout=180, pipeline=pipeline)
    yield watcher.records


def test_no_fill_is_lost_or_repeated(restarted, replay):
    expected = _fills(report.model_dump() for report in replay.records["fills"])
    late = [fill for fill in expected if fill[-1] > FIRST_CUT]
    assert len(late) == 2, "the resting buy and the stop fill after the first cut"
    assert sorted(_fills(restarted["fills"])) == sorted(expected)


def test_no_slice_or_venue_order_is_sent_twice(restarted):
    """A processor restarted from its last checkpoint publishes again what it had published
    since (at least once); each copy must equal the first."""
    slices = defaultdict(list)
    for child in restarted["slices"]:
        slices[child["slice_id"], child["action"], child["created_at"]].append(child)
    assert slices and all(copy == copies[0] for copies in slices.values() for copy in copies)
    reports = defaultdict(list)
    for report in restarted["fills"]:
        reports[report["report_id"]].append(report)
    assert all(copy == copies[0] for copies in reports.values() for copy in copies)
    acks = defaultdict(set)
    for report in restarted["fills"]:
        if report["exec_type"] == "ack":
            acks[report["slice_id"]].add(report["report_id"])
    assert max(len(ids) for ids in acks.values()) == 1  # one venue order per slice


def test_orders_end_as_without_the_restarts(restarted, replay):
    def final(states):
        latest = {}
        for state in states:
            latest[state["order_id"]] = (state["status"], state["filled_quantity"])
        return latest

    expected = final(state.model_dump() for state in replay.records["orders.state"])
    assert final(restarted["orders.state"]) == expected
