"""Brackets on the BTCUSDT capture (2024-08-08 23:54–23:59 UTC), in the replay harness.

The price falls from about 61,837 to 61,583 by 23:58:35 and recovers to about 61,711: a
stop-loss at 61,650 under a buy made at 23:55 triggers in the sell-off, and a take-profit at
61,700 over a buy made at 61,600 near the bottom fills on the way back up.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D

import pytest

from fillstream.config import load_config
from fillstream.connectors.feeds import load
from fillstream.replay import run_replay
from fillstream.schemas.models import Command, Side
from fillstream.streams.stages.risk import RiskStage
from tests.unit.test_replay_btcusdt import SECOND, T0, capture, signal

SIGNALS = [
    signal("stopped", 0, quantity="0.05", stop_loss="61650", take_profit="62500"),
    signal(
        "profit",
        150,
        quantity="0.02",
        order_type="limit",
        price="61600",
        stop_loss="61000",
        take_profit="61700",
    ),
    # An IOC for 5 at 61,828.50: the ask at 23:55:20 offers 4.26637 at 61,828.26 and nothing
    # more at or below the limit, so the entry fills 4.26637 and the rest expires.
    signal(
        "partial",
        20,
        quantity="5",
        order_type="limit",
        price="61828.50",
        time_in_force="IOC",
        stop_loss="61500",
        take_profit="61900",
    ),
    signal("inverted", 30, quantity="0.05", stop_loss="61900", take_profit="61800"),
]
COMMANDS = [
    Command(
        command_id="c-partial",
        kind="cancel",
        order_id="o-partial",
        symbol="BTC/USDT",
        created_at=T0 + 60 * SECOND,
    )
]


@pytest.fixture(scope="module")
def replay():
    return run_replay(load_config(), load(capture()), SIGNALS, COMMANDS)


@pytest.fixture(scope="module")
def states(replay):
    latest = {}
    for state in replay.records["orders.state"]:
        latest[state.order_id] = state
    return {order_id: (s.status.value, s.filled_quantity) for order_id, s in latest.items()}


def _slices(replay, order_id: str) -> list[tuple]:
    return [
        (s.action.value, s.side.value, s.order_type.value, s.quantity, s.price, s.stop_price)
        for s in replay.records["slices"]
        if s.order_id == order_id
    ]


def test_the_stop_loss_triggers_in_the_sell_off_and_cancels_the_take_profit(replay, states):
    assert states["o-stopped"] == ("filled", D("0.05"))
    assert states["sl-stopped"] == ("filled", D("0.05"))
    assert states["tp-stopped"] == ("cancelled", D(0))
    # A sell stop at 61,650 goes as a stop-limit at its 50 bps collar:
    # 61,650 × (1 − 0.005) = 61,341.75.
    assert _slices(replay, "sl-stopped") == [
        ("new", "sell", "stop_limit", D("0.05"), D("61341.75"), D("61650"))
    ]
    assert _slices(replay, "tp-stopped") == [
        ("new", "sell", "limit", D("0.05"), D("62500"), None),
        ("cancel", "sell", "limit", D("0.05"), D("62500"), None),
    ]
    stop_fills = [
        r for r in replay.records["fills"] if r.order_id == "sl-stopped" and r.last_quantity
    ]
    assert sum(r.last_quantity for r in stop_fills) == D("0.05")
    assert all(D("61341.75") <= r.last_price <= D("61650") for r in stop_fills)
    assert min(r.timestamp for r in stop_fills) > T0 + 200 * SECOND  # 23:58:20, the sell-off


def test_the_take_profit_fills_on_the_recovery_and_cancels_the_stop_loss(replay, states):
    assert states["o-profit"] == ("filled", D("0.02"))
    assert states["tp-profit"] == ("filled", D("0.02"))
    assert states["sl-profit"] == ("cancelled", D(0))
    take_profit = [r for r in replay.records["fills"] if r.order_id == "tp-profit"]
    assert sum(r.last_quantity for r in take_profit) == D("0.02")
    assert {r.last_price for r in take_profit if r.last_quantity} == {D("61700")}
    # sized to the entry as it filled: the rest of the pair goes once the entry is whole
    assert _slices(replay, "sl-profit")[-1][:4] == ("cancel", "sell", "stop_limit", D("0.02"))


def test_legs_of_a_partly_filled_entry_are_sized_to_the_fill_and_cancelled_with_it(replay, states):
    assert states["o-partial"] == ("expired", D("4.26637"))
    assert _slices(replay, "tp-partial") == [
        ("new", "sell", "limit", D("4.26637"), D("61900"), None),
        ("cancel", "sell", "limit", D("4.26637"), D("61900"), None),
    ]
    # 61,500 × (1 − 0.005) = 61,192.50
    assert _slices(replay, "sl-partial") == [
        ("new", "sell", "stop_limit", D("4.26637"), D("61192.50"), D("61500")),
        ("cancel", "sell", "stop_limit", D("4.26637"), D("61192.50"), D("61500")),
    ]
    assert states["tp-partial"] == ("cancelled", D(0))
    assert states["sl-partial"] == ("cancelled", D(0))
    cancel = next(
        s
        for s in replay.records["slices"]
        if s.slice_id == "tp-partial-1" and s.action.value == "cancel"
    )
    assert cancel.created_at == T0 + 60 * SECOND  # the parent's cancel


def test_an_inverted_bracket_is_refused(replay, states):
    [rejection] = [r for r in replay.records["orders.rejected"] if r.signal_id == "inverted"]
    assert rejection.reason_code == "INVALID_BRACKET"
    assert states == {k: v for k, v in states.items() if not k.endswith("-inverted")} | {
        "o-inverted": ("rejected", D(0))
    }


def test_the_position_closes_through_the_legs(replay):
    net: dict[str, D] = defaultdict(D)
    for report in replay.records["fills"]:
        net[report.order_id] += (
            report.last_quantity if report.side is Side.BUY else -report.last_quantity
        )
    # bought 0.05 + 0.02 + 4.26637, sold 0.05 (stop-loss) + 0.02 (take-profit): 4.26637 left
    assert sum(net.values()) == D("4.26637")
    risk = next(stage for stage in replay.pipeline.stages if isinstance(stage, RiskStage))
    assert risk.state.account("acct-1").positions["BTC/USDT"] == D("4.26637")
