"""Brackets through the live pipeline on Kafka, against the replay harness, on the BTCUSDT
capture: the scenario of tests/unit/test_replay_brackets.py, fed in lockstep to the
processors on the real broker and its simulated venue."""

from __future__ import annotations

import itertools
from decimal import Decimal as D

import pytest

from fillstream.config import load_config
from fillstream.connectors.feeds import load
from fillstream.pipeline import feed
from fillstream.replay import run_replay
from tests.integration.live import running_pipeline
from tests.integration.test_pipeline_live import _fills
from tests.unit.test_replay_brackets import COMMANDS, SIGNALS
from tests.unit.test_replay_btcusdt import T0, capture

pytestmark = pytest.mark.integration

# Past the stop-loss's trigger (23:58:22) and the take-profit's fill (23:58:54).
END = T0 + 240 * 1_000_000


def window():
    return itertools.takewhile(lambda event: event.timestamp <= END, load(capture()))


@pytest.fixture(scope="module")
def live(kafka_bootstrap, tmp_path_factory):
    with running_pipeline(kafka_bootstrap, tmp_path_factory, "brackets") as (pipeline, watcher):
        feed(window(), SIGNALS, COMMANDS, watcher=watcher, pipeline=pipeline)
        watcher.settle(timeout=120, pipeline=pipeline)
    yield watcher.records


def test_a_brackets_legs_fill_and_cancel_live_as_in_the_replay_harness(live):
    replay = run_replay(load_config(), window(), SIGNALS, COMMANDS)
    expected = _fills(report.model_dump() for report in replay.records["fills"])
    assert sorted(_fills(live["fills"])) == sorted(expected)
    final = {state["order_id"]: state for state in live["orders.state"]}
    assert {order_id: state["status"] for order_id, state in final.items()} == {
        "o-stopped": "filled",
        "sl-stopped": "filled",  # triggered in the sell-off
        "tp-stopped": "cancelled",
        "o-profit": "filled",
        "tp-profit": "filled",  # filled on the recovery
        "sl-profit": "cancelled",
        "o-partial": "expired",  # an IOC that filled 4.26637 of 5
        "tp-partial": "cancelled",  # with the parent's cancel
        "sl-partial": "cancelled",
        "o-inverted": "rejected",
    }
    legs = [s for s in live["slices"] if s["order_id"] in ("tp-partial", "sl-partial")]
    assert {s["quantity"] for s in legs} == {D("4.26637")}  # sized to the entry's fill
