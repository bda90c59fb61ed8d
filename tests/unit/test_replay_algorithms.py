"""Execution algorithms in the replay harness, on the real Binance BTCUSDT capture.

The capture runs from 23:54:14 to 23:59:59 UTC (2024-08-08); orders start at 23:55:00, so a
four-minute schedule ends well inside it. Binance's rules apply (engine.toml): lot 0.00001 BTC,
minimum notional 5 USDT.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fillstream.config import load_config
from fillstream.connectors.feeds import load
from fillstream.replay import run_replay
from fillstream.schemas.models import SliceAction
from tests.unit.test_replay_btcusdt import SECOND, T0, capture, signal

TWAP = signal(
    "twap-5",
    0,
    quantity="5",
    algorithm="twap",
    algorithm_parameters={"duration_seconds": "240", "interval_seconds": "10"},
)


@pytest.fixture(scope="module")
def twap():
    return run_replay(load_config(), load(capture()), [TWAP])


def test_a_twap_of_5_btc_in_10_second_slices_fills_exactly_5_btc(twap):
    [result] = twap.results()
    assert result["status"] == "filled"
    assert result["filled_quantity"] == D("5")
    assert sum((fill["quantity"] for fill in result["fills"]), D(0)) == D("5")


def test_the_twap_sends_24_slices_10_seconds_apart_in_whole_lots(twap):
    children = [s for s in twap.records["slices"] if s.action is SliceAction.NEW]
    assert len(children) == 24  # 240 s / 10 s; every market child fills in full
    # each slice goes on the first market event at or after its due time
    for number, child in enumerate(children):
        due = T0 + number * 10 * SECOND
        assert due <= child.created_at < due + 2 * SECOND, number
    # 5 / 24 = 0.208333...: cumulative amounts round down to lots, so slices differ by a lot
    assert {child.quantity for child in children} <= {D("0.20833"), D("0.20834")}
    assert sum(child.quantity for child in children) == D("5")


def test_the_twap_gets_its_arrival_and_interval_vwap_slippage(twap):
    [result] = [r for r in twap.records["tca"] if r.order_id == "o-twap-5"]
    assert result.algorithm == "twap" and result.filled_quantity == D("5")
    assert result.arrival_price is not None and result.interval_vwap is not None
    # slippage as TCA.md defines it, from the result's own prices: a buy, D = +1
    average = result.average_price
    assert result.arrival_slippage_bps == pytest.approx(
        float((average - result.arrival_price) / result.arrival_price * 10_000)
    )
    assert result.vwap_slippage_bps == pytest.approx(
        float((average - result.interval_vwap) / result.interval_vwap * 10_000)
    )
    # 5 BTC of about 167 BTC traded over the four minutes: a few percent of the volume
    assert 0.01 < result.participation_rate < 0.1
