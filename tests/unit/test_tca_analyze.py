"""`fillstream tca analyze FILE`: one order's TCA from JSON, checked against a hand calculation."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from fillstream.cli import app

T = 1_723_161_300_000_000
S = 1_000_000

# Buy 10, decided at 100.00, arrived at 100.10; 4 @ 100.20 at T+1s and 4 @ 100.30 at T+3s;
# the other 2 cancelled at T+5s when the mid is 100.50 (given as end_price); fees 0.30.
ORDER = {
    "side": "buy",
    "quantity": "10",
    "decision_price": "100.00",
    "arrival_price": "100.10",
    "end_price": "100.50",
    "fees": "0.30",
    "arrival_time": T,
    "end_time": T + 5 * S,
    "fills": [
        {"quantity": "4", "price": "100.30", "timestamp": T + 3 * S},
        {"quantity": "4", "price": "100.20", "timestamp": T + 1 * S},
    ],
    "quotes": [  # mids 100.10, 100.20, 100.40, 100.50
        {"timestamp": T, "bid": "100.00", "ask": "100.20"},
        {"timestamp": T + 2 * S, "bid": "100.10", "ask": "100.30"},
        {"timestamp": T + 4 * S, "bid": "100.30", "ask": "100.50"},
        {"timestamp": T + 9 * S, "bid": "100.40", "ask": "100.60"},
    ],
    "trades": [  # the other participants; the last one is after the order
        {"timestamp": T + 1 * S, "price": "100.20", "quantity": "6"},
        {"timestamp": T + 2 * S, "price": "100.25", "quantity": "14"},
        {"timestamp": T + 4 * S, "price": "100.40", "quantity": "4"},
        {"timestamp": T + 6 * S, "price": "101", "quantity": "100"},
    ],
    "markout_seconds": [1],
    "spread_horizon_seconds": 2,
}


def run(tmp_path, order) -> tuple[int, str]:
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order))
    result = CliRunner().invoke(app, ["tca", "analyze", str(path)])
    return result.exit_code, result.output


def test_an_order_with_market_data_is_analysed_as_by_hand(tmp_path):
    code, output = run(tmp_path, ORDER)
    assert code == 0, output
    result = json.loads(output, parse_float=Decimal)
    # Filled 8 for 4 × 100.20 + 4 × 100.30 = 802.00: average 100.25.
    assert (result["filled_quantity"], result["average_price"]) == ("8", "100.25")
    # Perold: 802.00 − 8 × 100 = 2.00; 2 × (100.50 − 100) = 1.00; + 0.30 = 3.30.
    assert (result["perold_execution_cost"], result["perold_opportunity_cost"]) == ("2.00", "1.00")
    # Expanded: 10 × 0.10 = 1.00; 802.00 − 8 × 100.10 = 1.20; 2 × (100.50 − 100.10) = 0.80.
    parts = (result["delay_cost"], result["trading_cost"], result["opportunity_cost"])
    assert parts == ("1.00", "1.20", "0.80")
    assert (result["fees"], result["total_cost"]) == ("0.30", "3.30")
    assert float(result["total_cost_bps"]) == pytest.approx(33.0)  # 3.30 / (10 × 100)
    # (100.25 − 100.10) / 100.10
    assert float(result["arrival_slippage_bps"]) == pytest.approx(0.15 / 100.10 * 1e4)
    # Interval T..T+5s: others 6 × 100.20 + 14 × 100.25 + 4 × 100.40 = 2,406.30 over 24
    # (100.2625); with the own 802.00 over 8: 3,208.30 / 32 = 100.259375; participation 8/32.
    assert (result["interval_vwap"], result["interval_vwap_excluding_own"]) == (
        "100.259375",
        "100.2625",
    )
    assert float(result["participation_rate"]) == 0.25
    assert float(result["vwap_slippage_bps"]) == pytest.approx(
        (100.25 - 100.259375) / 100.259375 * 1e4
    )
    # Mids at the fills: 100.10 (T+1s), 100.20 (T+3s): 4 × 0 + 4 × 0.10 = 0.40.
    assert result["timing_cost"] == "0.40"
    # Δ = 2 s. Fill at 100.20: later mid 100.20 → realized 0, impact 2 × 0.10 / 100.10.
    # Fill at 100.30: later mid 100.40 → realized 2 × (−0.10) / 100.20, impact 2 × 0.20 / 100.20.
    first, second = result["fills"]
    assert (first["price"], first["mid"], float(first["realized_spread_bps"])) == (
        "100.20",
        "100.10",
        0.0,
    )
    realized = (0 + 4 * -0.2 / 100.20) / 8 * 1e4
    impact = (4 * 0.2 / 100.10 + 4 * 0.4 / 100.20) / 8 * 1e4
    assert float(result["realized_spread_bps"]) == pytest.approx(realized)
    assert float(result["price_impact_bps"]) == pytest.approx(impact)
    assert float(result["effective_spread_bps"]) == pytest.approx(realized + impact)
    # Markout 1 s: fill 1 sees 100.20 → 0; fill 2 sees 100.40 → (100.40 − 100.30)/100.30.
    assert float(second["markouts_bps"]["1"]) == pytest.approx(0.1 / 100.30 * 1e4)
    assert float(result["markouts_bps"]["1"]) == pytest.approx(0.1 / 100.30 * 1e4 / 2)


def test_bad_input_names_each_field_and_what_to_do(tmp_path):
    bad = {
        **ORDER,
        "side": "hold",
        "quantity": "-1",
        "fills": [{"quantity": "4", "price": "abc"}],
        "decison_price": "100",
    }
    code, output = run(tmp_path, bad)
    assert code == 2
    assert "side: Input should be 'buy' or 'sell'" in output
    assert "quantity: Input should be greater than 0 (use a positive number)" in output
    assert 'fills.0.price: Input should be a valid decimal (write a number, e.g. "40.05")' in output
    assert "fills.0.timestamp: Field required (add it)" in output
    assert "decison_price: Extra inputs are not permitted (remove it, or check its spelling" in (
        output
    )


def test_fills_beyond_the_quantity_and_broken_json_are_refused(tmp_path):
    code, output = run(tmp_path, {**ORDER, "quantity": "5"})
    assert code == 2
    assert "the fills add up to 8, more than the order's quantity 5" in output
    path = tmp_path / "broken.json"
    path.write_text("{side: buy}")
    result = CliRunner().invoke(app, ["tca", "analyze", str(path)])
    assert (result.exit_code, "not JSON" in result.output) == (2, True)
