"""TCA aggregation over a hand-built frame; every expected figure is worked out by hand below.

Four orders (notional = quantity × decision price, else × arrival price):

| order | day   | strategy | algorithm | venues | S | filled | P_d | P₀  | notional | filled notional | cost bps | arrival bps |
|-------|-------|----------|-----------|--------|---|--------|-----|-----|----------|-----------------|----------|-------------|
| A     | 08-08 | s1       | twap      | v1, v2 | 2 | 2      | 100 |     | 200      | 200             | 10       | 4           |
| B     | 08-08 | s1       | (direct)  | v1     | 1 | 0.5    | 200 |     | 200      | 100             | -2       | 1           |
| C     | 08-09 | s2       | twap      | (none) | 2 | 0      |     | 50  | 100      | 0               | 6        |             |
| D     | 08-09 | s2       | twap      | v2     | 1 | 1      | 100 |     | 100      | 100             |          |             |
"""  # noqa: E501

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import polars as pl
import pytest
from typer.testing import CliRunner

from fillstream.analytics.aggregate import extremes, figure_text, order_costs, summarise
from fillstream.analytics.export import parquet_path, records_frame
from fillstream.cli import app
from fillstream.schemas.models import TcaResult

AUG_8 = 1723161300_000000  # 2024-08-08 23:55 UTC
AUG_9 = AUG_8 + 3_600_000_000  # 2024-08-09 00:55 UTC


def orders() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": ["A", "B", "C", "D"],
            "strategy_id": ["s1", "s1", "s2", "s2"],
            "algorithm": ["twap", None, "twap", "twap"],
            "venues": [["v1", "v2"], ["v1"], [], ["v2"]],
            "quantity": [D("2"), D("1"), D("2"), D("1")],
            "filled_quantity": [D("2"), D("0.5"), D("0"), D("1")],
            "decision_price": [D("100"), D("200"), None, D("100")],
            "arrival_price": [None, None, D("50"), None],
            "total_cost_bps": [10.0, -2.0, 6.0, None],
            "arrival_slippage_bps": [4.0, 1.0, None, None],
            "completed_at": [AUG_8, AUG_8 + 1, AUG_9, AUG_9 + 1],
        }
    )


def figures(frame: pl.DataFrame, key: str) -> dict:
    return {row.pop(key): row for row in frame.to_dicts()}


def test_by_algorithm_a_null_algorithm_is_direct_execution():
    rows = figures(summarise(orders(), "algorithm"), "algorithm")
    assert list(rows) == ["direct", "twap"]
    assert rows["direct"] == {
        "orders": 1,
        "avg_cost_bps": -2.0,
        "weighted_cost_bps": -2.0,
        "avg_arrival_slippage_bps": 1.0,
        "fill_rate": 0.5,  # 100 / 200
        "best_order": "B",
        "best_cost_bps": -2.0,
        "worst_order": "B",
        "worst_cost_bps": -2.0,
    }
    twap = rows["twap"]
    assert twap["orders"] == 3
    assert twap["avg_cost_bps"] == 8.0  # (10 + 6) / 2: D has no figure
    assert twap["weighted_cost_bps"] == pytest.approx(2600 / 300)  # (10·200 + 6·100) / 300
    assert twap["avg_arrival_slippage_bps"] == 4.0
    assert twap["fill_rate"] == 0.75  # (200 + 0 + 100) / (200 + 100 + 100)
    assert (twap["best_order"], twap["best_cost_bps"]) == ("C", 6.0)
    assert (twap["worst_order"], twap["worst_cost_bps"]) == ("A", 10.0)


def test_by_venue_an_order_counts_for_every_venue_that_filled_it():
    rows = figures(summarise(orders(), "venue"), "venue")
    assert list(rows) == ["v1", "v2", None]
    assert rows["v1"]["orders"] == 2
    assert rows["v1"]["avg_cost_bps"] == 4.0  # (10 - 2) / 2
    assert rows["v1"]["weighted_cost_bps"] == 4.0  # (2000 - 400) / 400
    assert rows["v1"]["avg_arrival_slippage_bps"] == 2.5
    assert rows["v1"]["fill_rate"] == 0.75  # (200 + 100) / 400
    assert (rows["v1"]["best_order"], rows["v1"]["worst_order"]) == ("B", "A")
    assert rows["v2"]["orders"] == 2
    assert rows["v2"]["weighted_cost_bps"] == 10.0  # D has no figure: A's alone
    assert rows["v2"]["fill_rate"] == 1.0  # (200 + 100) / (200 + 100)
    assert rows[None]["orders"] == 1 and rows[None]["fill_rate"] == 0.0


def test_by_day_in_utc_and_by_strategy():
    days = figures(summarise(orders(), "day"), "day")
    assert list(days) == [date(2024, 8, 8), date(2024, 8, 9)]
    assert days[date(2024, 8, 9)]["avg_cost_bps"] == 6.0
    assert days[date(2024, 8, 9)]["avg_arrival_slippage_bps"] is None
    assert days[date(2024, 8, 9)]["fill_rate"] == 0.5  # (0 + 100) / (100 + 100)
    strategies = figures(summarise(orders(), "strategy"), "strategy")
    assert strategies["s1"] == days[date(2024, 8, 8)]
    assert strategies["s2"] == days[date(2024, 8, 9)]


def test_all_orders_in_one_row():
    (row,) = summarise(orders(), None).to_dicts()
    assert row["orders"] == 4
    assert row["avg_cost_bps"] == pytest.approx(14 / 3)
    assert row["weighted_cost_bps"] == pytest.approx(2200 / 500)  # (2000 - 400 + 600) / 500
    assert row["avg_arrival_slippage_bps"] == 2.5
    assert row["fill_rate"] == pytest.approx(400 / 600)
    assert (row["best_order"], row["worst_order"]) == ("B", "A")


def test_an_unknown_dimension_is_refused():
    with pytest.raises(ValueError, match="choose one of day, venue, algorithm, strategy"):
        summarise(orders(), "symbol")  # type: ignore[arg-type]


def test_extremes_leave_out_orders_without_a_figure():
    best, worst = extremes(orders(), 2)
    assert best["order_id"].to_list() == ["B", "C"]
    assert worst["order_id"].to_list() == ["A", "C"]


def test_per_order_costs_from_fills():
    """Buy S=10, P_d=100, P₀=100.5, P_n=103, fills 4 @ 101 and 4 @ 102, fees 1:
    execution 812 − 8·100 = 12, opportunity (10 − 8)·(103 − 100) = 6, IS = 19 over a paper
    notional of 1,000 = 190 bps; P̄ = 101.5, arrival slippage (101.5 − 100.5)/100.5.
    Sell S=5, P_d=50=P₀, P_n=49, fills 3 @ 49.5, fees 0.25: execution −(148.5 − 150) = 1.5,
    opportunity −(5 − 3)·(49 − 50) = 2, IS = 3.75 over 250 = 150 bps; slippage 100 bps."""
    fills = pl.DataFrame(
        {
            "order_id": ["buy", "buy", "sell"],
            "strategy_id": ["s", "s", "t"],
            "algorithm": ["twap", "twap", None],
            "venue": ["b", "a", "a"],
            "side": ["buy", "buy", "sell"],
            "quantity": [10.0, 10.0, 5.0],
            "decision_price": [100.0, 100.0, 50.0],
            "arrival_price": [100.5, 100.5, 50.0],
            "end_price": [103.0, 103.0, 49.0],
            "last_quantity": [4.0, 4.0, 3.0],
            "last_price": [101.0, 102.0, 49.5],
            "commission": [0.5, 0.5, 0.25],
            "timestamp": [AUG_8, AUG_8 + 7, AUG_9],
        }
    )
    rows = {row["order_id"]: row for row in order_costs(fills).to_dicts()}
    buy, sell = rows["buy"], rows["sell"]
    assert buy["venues"] == ["a", "b"]
    assert (buy["filled_quantity"], buy["fill_ratio"], buy["average_price"]) == (8.0, 0.8, 101.5)
    assert buy["total_cost_bps"] == pytest.approx(190)
    assert buy["arrival_slippage_bps"] == pytest.approx(1 / 100.5 * 1e4)
    assert buy["completed_at"] == AUG_8 + 7
    assert sell["total_cost_bps"] == pytest.approx(150)
    assert sell["arrival_slippage_bps"] == pytest.approx(100)
    assert summarise(order_costs(fills), "algorithm")["algorithm"].to_list() == ["direct", "twap"]


def test_figures_print_with_two_decimals_and_a_dash_for_none():
    assert [figure_text(v) for v in (1234.5678, None, 3, "twap")] == ["1,234.57", "–", "3", "twap"]


def exported_tca(directory):
    record = {
        "order_id": "o-1",
        "signal_id": "s-1",
        "strategy_id": "momentum",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "venues": ["binance"],
        "status": "filled",
        "quantity": D("0.25"),
        "filled_quantity": D("0.25"),
        "fill_ratio": 1.0,
        "decision_price": D("61250.10"),
        "fees": D("15.31"),
        "total_cost_bps": 10.18,
        "duration_us": 3100,
        "completed_at": AUG_8,
    }
    frame = records_frame("TcaResult", [TcaResult.model_validate(record).model_dump()])
    frame.write_parquet(parquet_path(directory, "tca"))


def test_the_summary_command_prints_a_table_from_an_export(tmp_path):
    exported_tca(tmp_path)
    result = CliRunner().invoke(
        app, ["tca", "summary", "--by", "venue", "--data", str(tmp_path)], env={"COLUMNS": "160"}
    )
    assert result.exit_code == 0, result.output
    assert "TCA by venue" in result.output
    assert "binance" in result.output and "10.18" in result.output


def test_the_summary_command_refuses_an_unknown_dimension_and_a_missing_export(tmp_path):
    exported_tca(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["tca", "summary", "--by", "week", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "choose one of" in result.output
    result = runner.invoke(app, ["tca", "summary", "--data", str(tmp_path / "none")])
    assert result.exit_code == 2 and "fillstream export" in result.output
