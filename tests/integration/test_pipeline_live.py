"""The live pipeline on Kafka, on the real BTCUSDT capture, against the replay harness.

The same scenario as tests/unit/test_replay_btcusdt.py (every order type, a cancel, invalid
signals), fed in lockstep to the five processors, each in its own process on the real broker.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from decimal import Decimal as D

import pytest

from fillstream.config import load_config
from fillstream.connectors.feeds import load
from fillstream.pipeline import feed
from fillstream.replay import run_replay
from tests.integration.live import running_pipeline
from tests.unit.test_replay_btcusdt import COMMANDS, SIGNALS, T0, capture

pytestmark = pytest.mark.integration

# Past the stop's trigger (23:58:22) and the cancel (23:56:00): 3.5 minutes of the capture.
END = T0 + 210 * 1_000_000


def window():
    return itertools.takewhile(lambda event: event.timestamp <= END, load(capture()))


@pytest.fixture(scope="module")
def live(kafka_bootstrap, tmp_path_factory):
    with running_pipeline(kafka_bootstrap, tmp_path_factory, "live") as (pipeline, watcher):
        feed(window(), SIGNALS, COMMANDS, watcher=watcher, pipeline=pipeline)
        watcher.settle(timeout=120, pipeline=pipeline)
    yield watcher.records


@pytest.fixture(scope="module")
def replay():
    return run_replay(load_config(), window(), SIGNALS, COMMANDS)


def _fills(reports):
    return [
        (r["order_id"], r["venue"], r["last_quantity"], r["last_price"], r["timestamp"])
        for r in reports
        if r["last_quantity"] > 0
    ]


def test_live_fills_equal_the_replay_harness(live, replay):
    expected = _fills(report.model_dump() for report in replay.records["fills"])
    assert expected, "the scenario must fill something"
    assert sorted(_fills(live["fills"])) == sorted(expected)


def test_orders_reach_final_states_through_the_broker(live):
    final = {state["order_id"]: state for state in live["orders.state"]}
    assert final["o-fok"]["filled_quantity"] == 0
    assert {order_id: state["status"] for order_id, state in final.items()} == {
        "o-market": "filled",
        "o-resting-buy": "filled",
        "o-stop-sell": "filled",
        "o-ioc": "filled",
        "o-fok": "expired",
        "o-far-sell": "cancelled",
        "o-amended-sell": "cancelled",
        "o-too-big": "rejected",
        "o-unlisted": "rejected",
    }
    amended = final["o-amended-sell"]
    assert (amended["quantity"], amended["price"]) == (D("0.02"), D("62450"))


def test_a_modify_reaches_the_venue_as_in_the_replay_harness(live, replay):
    def sent(slices):
        return [(s["action"], s["quantity"], s["price"]) for s in slices]

    expected = sent(s.model_dump() for s in replay.records["slices"])
    assert ("replace", D("0.02"), D("62450")) in expected
    assert sent(live["slices"]) == expected


def test_each_orders_fills_sum_exactly_to_its_filled_quantity(live):
    filled: dict[str, D] = defaultdict(D)
    for report in live["fills"]:
        filled[report["order_id"]] += report["last_quantity"]
    final = {state["order_id"]: state for state in live["orders.state"]}
    for order_id, state in final.items():
        assert filled[order_id] == state["filled_quantity"], order_id


def test_invalid_signals_are_rejected_with_reason_codes_and_nothing_else_moves(live):
    reasons = {r["signal_id"]: r["reason_code"] for r in live["orders.rejected"]}
    assert reasons == {
        "no-price": "INVALID_SIGNAL",
        "too-big": "MAX_ORDER_QUANTITY",
        "unlisted": "UNKNOWN_INSTRUMENT",
    }
    refused = {"o-no-price", "o-too-big", "o-unlisted"}
    assert not [s for s in live["slices"] if s["order_id"] in refused]
    assert not [p for p in live["orders.approved"] if p["order_id"] in refused]
    assert live["deadletter"] == []


def test_a_cancel_command_stops_the_open_order(live):
    actions = [s["action"] for s in live["slices"] if s["order_id"] == "o-far-sell"]
    assert actions == ["new", "cancel"]
    assert not [r for r in live["fills"] if r["order_id"] == "o-far-sell" and r["last_quantity"]]
