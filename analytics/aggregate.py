"""Per-order TCA aggregated the ways analysts slice it: by day, venue, algorithm or strategy.

Input is a frame of `TcaResult` rows (the `tca` topic as `fillstream export` writes it), or
the same columns computed from fills by `order_costs`. Cost signs follow docs: positive = bad.

Choices, per group:
- `avg_cost_bps`: the plain mean of the orders' implementation shortfall (`total_cost_bps`).
- `weighted_cost_bps`: the mean weighted by each order's paper notional S·P_d (its bps
  denominator), so it is the group's total shortfall over its total paper notional. P_d falls
  back to the arrival price P₀ where an order has no decision price.
- `fill_rate`: filled notional over intended notional (Σ filled·P_d / Σ S·P_d); within one
  instrument at one price it is Σ filled / Σ S, and it stays meaningful across instruments whose
  quantities are in different units.
- a day is the UTC date of `completed_at`; an order counts for every venue that filled it, and
  under a null venue when nothing filled; a null algorithm is direct execution.
- best / worst: the order with the lowest / highest `total_cost_bps` (the first on a tie).
Orders without a figure (null) are left out of that figure's mean, never counted as zero.
"""

from __future__ import annotations

from typing import Literal, get_args

import polars as pl

__all__ = [
    "DIMENSIONS",
    "Dimension",
    "extremes",
    "figure_text",
    "keyed",
    "order_costs",
    "summarise",
]

Dimension = Literal["day", "venue", "algorithm", "strategy"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)

DIRECT = "direct"

_COST = pl.col("total_cost_bps")
_PRICE = pl.coalesce("decision_price", "arrival_price").cast(pl.Float64)
_NOTIONAL = pl.col("quantity").cast(pl.Float64) * _PRICE
_FILLED_NOTIONAL = pl.col("filled_quantity").cast(pl.Float64) * _PRICE
_KEYS: dict[Dimension, pl.Expr] = {
    "day": pl.from_epoch("completed_at", time_unit="us").dt.date(),
    # exploded by `keyed`; an empty list is made null first, as polars versions differ on
    # exploding empty lists
    "venue": pl.when(pl.col("venues").list.len() > 0).then(pl.col("venues")),
    "algorithm": pl.col("algorithm").fill_null(DIRECT),
    "strategy": pl.col("strategy_id"),
}


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null where nothing is in the denominator."""
    return pl.when(denominator > 0).then(numerator / denominator)


def keyed(tca: pl.DataFrame | pl.LazyFrame, by: Dimension) -> pl.LazyFrame:
    """The rows with their group in a column named `by` (one row per venue for "venue")."""
    if by not in _KEYS:
        raise ValueError(f"cannot group by {by!r}: choose one of {', '.join(DIMENSIONS)}")
    frame = tca.lazy().with_columns(_KEYS[by].alias(by))
    return frame.explode(by) if by == "venue" else frame


def summarise(tca: pl.DataFrame | pl.LazyFrame, by: Dimension | None) -> pl.DataFrame:
    """One row per group sorted by its key (nulls last), or one row of all orders for None;
    the columns are in the module docstring."""
    frame = (tca.lazy() if by is None else keyed(tca, by)).select(
        *([] if by is None else [by]),
        "order_id",
        _COST,
        "arrival_slippage_bps",
        _NOTIONAL.alias("notional"),
        _FILLED_NOTIONAL.alias("filled_notional"),
    )
    notional = pl.col("notional")
    costed = notional.filter(_COST.is_not_null() & notional.is_not_null())
    figures = (
        pl.len().alias("orders"),
        _COST.mean().alias("avg_cost_bps"),
        _ratio((_COST * notional).sum(), costed.sum()).alias("weighted_cost_bps"),
        pl.col("arrival_slippage_bps").mean().alias("avg_arrival_slippage_bps"),
        _ratio(pl.col("filled_notional").sum(), notional.sum()).alias("fill_rate"),
        pl.col("order_id").get(_COST.arg_min()).alias("best_order"),
        _COST.min().alias("best_cost_bps"),
        pl.col("order_id").get(_COST.arg_max()).alias("worst_order"),
        _COST.max().alias("worst_cost_bps"),
    )
    if by is None:
        return frame.select(*figures).collect()
    return frame.group_by(by).agg(*figures).sort(by, nulls_last=True).collect()


def extremes(tca: pl.DataFrame, count: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The `count` lowest-cost orders (best first) and highest-cost orders (worst first)."""
    costed = tca.filter(_COST.is_not_null())
    return costed.sort(_COST).head(count), costed.sort(_COST, descending=True).head(count)


def figure_text(value: object) -> str:
    """A summary figure as a table shows it: two decimals, thousands separated, – for none."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def order_costs(fills: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Per-order TCA columns (those `summarise` reads) from one row per fill, in bulk.

    The fill rows carry their order's attributes beside each fill: `order_id`,
    `strategy_id`, `algorithm`, `venue`, `side` (buy/sell), `quantity` (the order's S),
    `decision_price` P_d, `arrival_price` P₀, `end_price` P_n, and the fill's
    `last_quantity` s_j, `last_price` p_j, `commission` and `timestamp` (µs UTC).
    With D = +1 for a buy and −1 for a sell (Perold 1988, as in docs):
    IS = D·(Σ s_j p_j − Σ s_j·P_d) + D·(S − Σ s_j)·(P_n − P_d) + fees, over S·P_d in bps;
    arrival slippage = D·(P̄ − P₀)/P₀ in bps, P̄ = Σ s_j p_j / Σ s_j. Floats throughout:
    this is the columnar view for research over millions of fills, not the exact record.
    """
    sign = pl.when(pl.col("side") == "sell").then(-1.0).otherwise(1.0)
    size, filled, traded = pl.col("quantity"), pl.col("filled_quantity"), pl.col("traded_value")
    decision, arrival = pl.col("decision_price"), pl.col("arrival_price")
    shortfall = (
        sign * (traded - filled * decision)
        + sign * (size - filled) * (pl.col("end_price") - decision)
        + pl.col("fees")
    )
    return (
        fills.lazy()
        .group_by("order_id")
        .agg(
            pl.col("strategy_id", "algorithm", "side").first(),
            pl.col("venue").unique().alias("venues"),  # sorted below, list by list: cheaper
            pl.col("quantity", "decision_price", "arrival_price", "end_price")
            .first()
            .cast(pl.Float64),
            _float("last_quantity").sum().alias("filled_quantity"),
            (_float("last_quantity") * _float("last_price")).sum().alias("traded_value"),
            _float("commission").sum().alias("fees"),
            pl.col("timestamp").max().alias("completed_at"),
        )
        .with_columns(
            pl.col("venues").list.sort(),
            (filled / size).alias("fill_ratio"),
            _ratio(traded, filled).alias("average_price"),
            (shortfall / (size * decision) * 1e4).alias("total_cost_bps"),
        )
        .with_columns(
            (sign * (pl.col("average_price") - arrival) / arrival * 1e4).alias(
                "arrival_slippage_bps"
            )
        )
        .drop("traded_value")
        .collect()
    )


def _float(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64)
