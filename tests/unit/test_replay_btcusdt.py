"""The replay harness on the real Binance BTCUSDT capture (2024-08-08 23:54–23:59 UTC).

Over the capture the price falls from about 61,837 to 61,583 and recovers to about 61,711, so
a resting buy at 61,700 and a sell stop at 61,650 both trigger; a sell at 62,500 never can.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D
from pathlib import Path

import pytest

from fillstream.config import load_config
from fillstream.connectors.feeds import load
from fillstream.connectors.feeds.samples import sample_file
from fillstream.replay import run_replay
from fillstream.schemas.models import Command, Side
from fillstream.streams.stages.risk import RiskStage

T0 = 1723161300_000000  # 23:55:00 UTC
SECOND = 1_000_000


def capture() -> Path:
    path = sample_file("btcusdt_20240808.gz")
    if path is None:
        pytest.skip("the shared sample data (btcusdt_20240808.gz) is not present")
    return path


def signal(signal_id: str, at: int, **fields) -> dict:
    base = {
        "signal_id": signal_id,
        "strategy_id": "replay-test",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": "0.01",
        "order_type": "market",
        "created_at": T0 + at * SECOND,
    }
    return base | fields


SIGNALS = [
    signal("market", 0, quantity="0.05", time_in_force="IOC"),
    signal("resting-buy", 10, quantity="0.02", order_type="limit", price="61700"),
    signal("stop-sell", 10, side="sell", order_type="stop", stop_price="61650"),
    signal("ioc", 20, quantity="0.03", order_type="limit", price="61900", time_in_force="IOC"),
    signal("fok", 20, quantity="9", order_type="limit", price="61830", time_in_force="FOK"),
    signal("far-sell", 30, side="sell", quantity="0.02", order_type="limit", price="62500"),
    signal("amended-sell", 30, side="sell", quantity="0.03", order_type="limit", price="62400"),
    signal("no-price", 40, order_type="limit"),
    signal("too-big", 40, quantity="20"),
    signal("unlisted", 40, symbol="ETH/USDT"),
]
COMMANDS = [
    # Taken: less, and further from the market. Then refused: a sell limit moved toward it.
    Command(
        command_id="m-1",
        kind="modify",
        order_id="o-amended-sell",
        symbol="BTC/USDT",
        quantity="0.02",
        price="62450",
        created_at=T0 + 45 * SECOND,
    ),
    Command(
        command_id="m-2",
        kind="modify",
        order_id="o-amended-sell",
        symbol="BTC/USDT",
        price="62000",
        created_at=T0 + 50 * SECOND,
    ),
    *(
        Command(
            command_id=f"c-{order_id}",
            kind="cancel",
            order_id=order_id,
            symbol="BTC/USDT",
            created_at=T0 + 60 * SECOND,
        )
        for order_id in ("o-far-sell", "o-amended-sell")
    ),
]


@pytest.fixture(scope="module")
def replay():
    return run_replay(load_config(), load(capture()), SIGNALS, COMMANDS)


@pytest.fixture(scope="module")
def results(replay):
    return {result["signal_id"]: result for result in replay.results()}


def test_every_order_type_reaches_its_final_state(results):
    assert {sid: r["status"] for sid, r in results.items()} == {
        "market": "filled",
        "resting-buy": "filled",
        "stop-sell": "filled",
        "ioc": "filled",
        "fok": "expired",  # the venue could not fill all 9 at once
        "far-sell": "cancelled",
        "amended-sell": "cancelled",
        "no-price": "rejected",
        "too-big": "rejected",
        "unlisted": "rejected",
    }
    assert results["fok"]["filled_quantity"] == 0 and results["fok"]["fills"] == []


def test_fills_sum_exactly_to_each_orders_filled_quantity(results):
    for result in results.values():
        assert sum((f["quantity"] for f in result["fills"]), D(0)) == result["filled_quantity"]
        if result["fills"]:
            notional = sum(f["quantity"] * f["price"] for f in result["fills"])
            assert notional / result["filled_quantity"] == result["average_price"]


def test_resting_and_stop_orders_fill_at_prices_their_rules_allow(results):
    assert all(f["price"] <= D("61700") for f in results["resting-buy"]["fills"])
    assert all(f["price"] <= D("61900") for f in results["ioc"]["fills"])
    # the stop triggers once a trade prints at or below 61,650, then sells at the bid
    stop_fill = results["stop-sell"]["fills"][0]
    assert stop_fill["price"] <= D("61650.01")
    assert stop_fill["timestamp"] > T0 + 10 * SECOND


def test_rejections_carry_reason_codes_and_nothing_else_moves(replay, results):
    assert results["no-price"]["reason_code"] == "INVALID_SIGNAL"
    assert results["too-big"]["reason_code"] == "MAX_ORDER_QUANTITY"
    assert results["unlisted"]["reason_code"] == "UNKNOWN_INSTRUMENT"
    refused = {"o-no-price", "o-too-big", "o-unlisted"}
    assert not [s for s in replay.records["slices"] if s.order_id in refused]
    assert not [p for p in replay.records["orders.approved"] if p.order_id in refused]


def test_risk_positions_equal_the_sum_of_fills(replay, results):
    expected: dict[str, D] = defaultdict(D)
    for report in replay.records["fills"]:
        signed = report.last_quantity if report.side is Side.BUY else -report.last_quantity
        expected[report.symbol] += signed
    risk = next(stage for stage in replay.pipeline.stages if isinstance(stage, RiskStage))
    assert risk.state.account("acct-1").positions["BTC/USDT"] == expected["BTC/USDT"]
    # 0.05 + 0.02 + 0.03 bought, 0.01 sold
    assert expected["BTC/USDT"] == D("0.09")


def test_a_cancel_stops_an_open_order(replay, results):
    far = results["far-sell"]
    assert far["fills"] == [] and far["status"] == "cancelled"
    cancels = [s for s in replay.records["slices"] if s.order_id == "o-far-sell"]
    assert [s.action.value for s in cancels] == ["new", "cancel"]


def test_a_modify_amends_the_resting_order_and_a_riskier_one_is_refused(replay, results):
    sent = [s for s in replay.records["slices"] if s.order_id == "o-amended-sell"]
    assert [(s.action.value, s.quantity, s.price) for s in sent] == [
        ("new", D("0.03"), D("62400")),
        ("replace", D("0.02"), D("62450")),
        ("cancel", D("0.02"), D("62450")),
    ]
    venue = [r for r in replay.records["fills"] if r.order_id == "o-amended-sell"]
    assert [(r.exec_type.value, r.status.value, r.quantity, r.leaves_quantity) for r in venue] == [
        ("ack", "accepted", D("0.03"), D("0.03")),
        ("replace", "accepted", D("0.02"), D("0.02")),
        ("cancel", "cancelled", D("0.02"), D("0")),
    ]
    states = [s for s in replay.records["orders.state"] if s.order_id == "o-amended-sell"]
    assert [(s.status.value, s.quantity, s.price) for s in states] == [
        ("new", D("0.03"), D("62400")),
        ("accepted", D("0.03"), D("62400")),
        ("accepted", D("0.02"), D("62450")),  # the venue's report of the replace
        ("accepted", D("0.02"), D("62450")),
        ("accepted", D("0.02"), D("62450")),  # the refused modify: its reason, nothing else
        ("cancel_pending", D("0.02"), D("62450")),
        ("cancelled", D("0.02"), D("62450")),
    ]
    assert states[4].reason.startswith("modify refused: a modify may not move a sell limit")
    assert states[-1].reason is None
    assert results["amended-sell"]["fills"] == []


# At 23:58:22 the price breaks down: an 8 BTC market sell walks the bids from 61,687.71 to
# 61,670.49, 2.79 bps below the arrival mid 61,687.715. Collared at 1 bps, the sell is a limit
# IOC at 61,687.715 × 0.9999 = 61,681.5462285, up onto the tick: 61,681.55.
SELL_OFF = 202  # seconds after T0


def _eight_btc_sell(bps: str) -> dict:
    [result] = run_replay(
        load_config(),
        load(capture()),
        [
            signal(
                f"sell-off-{bps}",
                SELL_OFF,
                side="sell",
                quantity="8",
                algorithm_parameters={"max_slippage_bps": bps},
            )
        ],
    ).results()
    return result


def _span_bps(result: dict, arrival: D) -> D:
    worst = min(fill["price"] for fill in result["fills"])
    return (arrival - worst) / arrival * 10_000


def test_the_sell_off_walks_an_8_btc_market_sell_2_8_bps_but_a_1_bps_collar_stops_it():
    arrival = D("61687.715")
    wide = _eight_btc_sell("5000")  # a collar the book never reaches: as if unpriced
    assert (wide["status"], wide["filled_quantity"]) == ("filled", D("8"))
    assert round(_span_bps(wide, arrival), 2) == D("2.79")
    collared = _eight_btc_sell("1")
    assert collared["status"] == "cancelled"
    assert collared["filled_quantity"] == D("4.15724")
    assert min(fill["price"] for fill in collared["fills"]) == D("61681.83")
    assert _span_bps(collared, arrival) < 1
    assert collared["reason"] == (
        "execution ended: last slice cancelled (SLIPPAGE_COLLAR: the remaining 3.84276000 "
        "would trade beyond 61681.55, the slippage collar from the reference price "
        "61687.71500000)"
    )
