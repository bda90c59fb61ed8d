"""`fillstream tca report`: execution quality on one self-contained HTML page.

Reads an export (`fillstream export`): `tca` is required; `fills`, `slices` and
`market.quotes` feed the per-order charts and may be missing (the charts then show less).
The page needs nothing but itself: no script, no stylesheet or font to fetch, every chart a
PNG inside the page (matplotlib's Agg renderer), so it can be mailed or archived as is.

Per-order charts are drawn for every order when there are at most `max_orders`, else for the
worst and the best by implementation shortfall, half each: the orders worth a look.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from fillstream.analytics.aggregate import (
    DIMENSIONS,
    Dimension,
    extremes,
    figure_text,
    keyed,
    summarise,
)
from fillstream.analytics.export import parquet_path, records_frame
from fillstream.schemas.topics import find

__all__ = ["ReportInputs", "render_report", "write_report"]

_FILLED = ("partial_fill", "fill")
_BUY, _SELL = "#1a7f37", "#cf222e"


@dataclass(frozen=True)
class ReportInputs:
    """The exported topics a report reads, as frames."""

    tca: pl.DataFrame
    fills: pl.DataFrame
    slices: pl.DataFrame
    quotes: pl.DataFrame

    @classmethod
    def read(cls, directory: Path) -> ReportInputs:
        """An export's files; a missing optional topic reads as empty, a missing `tca` fails."""
        if not parquet_path(directory, "tca").is_file():
            raise FileNotFoundError(
                f"no {parquet_path(directory, 'tca')}: run `fillstream export --out {directory}`"
            )
        frames = [_read(directory, topic) for topic in ("tca", "fills", "slices", "market.quotes")]
        return cls(*frames)


def _read(directory: Path, topic: str) -> pl.DataFrame:
    path = parquet_path(directory, topic)
    return pl.read_parquet(path) if path.is_file() else records_frame(find(topic).record, [])


def write_report(directory: Path, out: Path, *, max_orders: int = 12) -> Path:
    """Render the report of the export in `directory` to `out`."""
    out.write_text(render_report(ReportInputs.read(directory), max_orders=max_orders))
    return out


def render_report(inputs: ReportInputs, *, max_orders: int = 12) -> str:
    """The whole page, as HTML text."""
    tca = inputs.tca
    chosen = _chosen_orders(tca, max_orders)
    best, worst = extremes(tca, 5)
    sections = [
        _section(
            "Summary",
            "Implementation shortfall (positive = cost) and arrival slippage in bps; fill rate"
            " = filled over intended notional at the decision price; venue – = nothing filled.",
            _table(summarise(tca, None)),
            *(f"<h3>By {by}</h3>{_table(summarise(tca, by))}" for by in DIMENSIONS),
        ),
        _section(
            "Cost distributions",
            "Implementation shortfall per order, bps; an order counts for every venue that"
            " filled it, under – when nothing filled.",
            _figure(_cost_boxes(tca, "algorithm"), "Cost by algorithm"),
            _figure(_cost_boxes(tca, "venue"), "Cost by venue"),
        ),
        _section(
            "Best and worst orders",
            "By implementation shortfall, bps.",
            f"<h3>Best</h3>{_table(best.select(_ORDER_COLUMNS))}",
            f"<h3>Worst</h3>{_table(worst.select(_ORDER_COLUMNS))}",
        ),
        _section(
            "Fills against the market",
            f"{_chosen_text(len(chosen), tca.height)} Market mid from the top of book per venue;"
            " own fills as markers (▲ buy, ▼ sell), sized by quantity.",
            *(_figure(_fills_chart(inputs, order), _caption(order)) for order in chosen),
        ),
        _section(
            "Schedule against execution",
            f"{_chosen_text(len(chosen), tca.height)} Cumulative quantity sent to venues in"
            " slices against cumulative quantity filled.",
            *(_figure(_schedule_chart(inputs, order), _caption(order)) for order in chosen),
        ),
    ]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return _PAGE.format(generated=generated, orders=tca.height, sections="\n".join(sections))


_ORDER_COLUMNS = (
    "order_id",
    "strategy_id",
    "algorithm",
    "symbol",
    "side",
    "status",
    "fill_ratio",
    "total_cost_bps",
    "arrival_slippage_bps",
)


def _chosen_orders(tca: pl.DataFrame, max_orders: int) -> list[dict]:
    if tca.height <= max_orders:
        return tca.sort("completed_at").to_dicts()
    best, worst = extremes(tca, (max_orders + 1) // 2)
    seen: dict[str, dict] = {}
    for row in (*worst.to_dicts(), *best.head(max_orders // 2).to_dicts()):
        seen.setdefault(row["order_id"], row)
    return list(seen.values())


def _chosen_text(shown: int, total: int) -> str:
    if shown == total:
        return f"Every order ({total})."
    return f"{shown} of {total} orders: the worst and the best by implementation shortfall."


def _caption(order: dict) -> str:
    cost = order["total_cost_bps"]
    figure = "no cost figure" if cost is None else f"{cost:,.2f} bps"
    return (
        f"{order['order_id']}: {order['side']} {order['quantity']} {order['symbol']},"
        f" {order['algorithm'] or 'direct'}, {order['status']}, {figure}"
    )


# -- charts --------------------------------------------------------------------------------


def _new_figure(height: float = 3.2) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(9, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _time_axis(axes: Axes) -> None:
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_xlabel("UTC")


def _times(frame: pl.DataFrame, column: str) -> Sequence[datetime]:
    return frame.select(pl.from_epoch(column, time_unit="us")).to_series().to_list()


def _floats(frame: pl.DataFrame, column: str) -> list[float]:
    return frame.get_column(column).cast(pl.Float64).to_list()


def _cost_boxes(tca: pl.DataFrame, by: Dimension) -> Figure:
    groups = (
        keyed(tca, by)
        .filter(pl.col("total_cost_bps").is_not_null())
        .group_by(by)
        .agg("total_cost_bps")
        .sort(by, nulls_last=True)
        .collect()
    )
    figure, axes = _new_figure()
    if groups.height:
        labels = [figure_text(key) for key in groups.get_column(by)]
        axes.boxplot(groups.get_column("total_cost_bps").to_list(), showmeans=True)
        axes.set_xticks(range(1, len(labels) + 1), labels=labels)
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_xlabel(by)
    axes.set_ylabel("implementation shortfall, bps")
    return figure


def _order_window(order: dict) -> tuple[int, int]:
    """Arrival to completion, widened by a tenth each side (at least a second)."""
    end = order["completed_at"]
    start = end - order["duration_us"]
    margin = max((end - start) // 10, 1_000_000)
    return start - margin, end + margin


def _order_fills(inputs: ReportInputs, order: dict) -> pl.DataFrame:
    return inputs.fills.filter(
        (pl.col("order_id") == order["order_id"])
        & pl.col("exec_type").is_in(_FILLED)
        & (pl.col("last_quantity") > 0)
    ).sort("timestamp")


def _fills_chart(inputs: ReportInputs, order: dict) -> Figure:
    figure, axes = _new_figure()
    start, end = _order_window(order)
    quotes = inputs.quotes.filter(
        (pl.col("symbol") == order["symbol"])
        & pl.col("timestamp").is_between(start, end)
        & pl.col("bid_price").is_not_null()
        & pl.col("ask_price").is_not_null()
    ).sort("timestamp")
    for (venue,), market in quotes.group_by("venue", maintain_order=True):
        mid = market.with_columns(
            mid=(pl.col("bid_price").cast(pl.Float64) + pl.col("ask_price").cast(pl.Float64)) / 2
        )
        axes.step(_times(mid, "timestamp"), _floats(mid, "mid"), where="post", label=f"{venue} mid")
    fills = _order_fills(inputs, order)
    if fills.height:
        sizes = _floats(fills, "last_quantity")
        scale = 120 / max(sizes)
        for side, marker, colour in (("buy", "^", _BUY), ("sell", "v", _SELL)):
            own = fills.filter(pl.col("side") == side)
            if own.height:
                axes.scatter(
                    _times(own, "timestamp"),
                    _floats(own, "last_price"),
                    s=[20 + scale * size for size in _floats(own, "last_quantity")],
                    marker=marker,
                    color=colour,
                    edgecolors="black",
                    linewidths=0.5,
                    zorder=3,
                    label=f"own {side} fills",
                )
    if order["arrival_price"] is not None:
        arrival = float(order["arrival_price"])
        axes.axhline(arrival, color="grey", linestyle="--", linewidth=0.8, label="arrival P₀")
    _time_axis(axes)
    axes.set_ylabel("price")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best", fontsize="small")
    return figure


def _schedule_chart(inputs: ReportInputs, order: dict) -> Figure:
    """Both curves start at zero on arrival and hold their last level to completion."""
    figure, axes = _new_figure()
    slices = inputs.slices.filter(
        (pl.col("order_id") == order["order_id"]) & (pl.col("action") == "new")
    )
    fills = _order_fills(inputs, order)
    end = order["completed_at"]
    for frame, time, quantity, label in (
        (slices, "created_at", "quantity", "sent in slices"),
        (fills, "timestamp", "last_quantity", "filled"),
    ):
        steps = (
            pl.concat(
                [
                    pl.DataFrame({"t": [end - order["duration_us"]], "q": [0.0]}),
                    frame.select(
                        pl.col(time).alias("t"), pl.col(quantity).cast(pl.Float64).alias("q")
                    ),
                    pl.DataFrame({"t": [end], "q": [0.0]}),
                ]
            )
            .sort("t", maintain_order=True)
            .with_columns(pl.col("q").cum_sum())
        )
        axes.step(_times(steps, "t"), _floats(steps, "q"), where="post", label=label)
    axes.axhline(float(order["quantity"]), color="grey", linestyle="--", linewidth=0.8)
    axes.set_ylim(bottom=0)
    _time_axis(axes)
    axes.set_ylabel(f"cumulative quantity (order: {order['quantity']})")
    axes.legend(loc="lower right", fontsize="small")
    return figure


# -- HTML ----------------------------------------------------------------------------------


def _figure(figure: Figure, caption: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    data = base64.b64encode(buffer.getvalue()).decode()
    text = html.escape(caption)
    return (
        f'<figure class="plot"><img alt="{text}" src="data:image/png;base64,{data}">'
        f"<figcaption>{text}</figcaption></figure>"
    )


def _section(title: str, note: str, *parts: str) -> str:
    body = "\n".join(parts)
    return f"<section><h2>{html.escape(title)}</h2><p>{html.escape(note)}</p>\n{body}</section>"


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(figure_text(value))}</td>" for value in row) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fillstream TCA report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1f2328; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }}
th, td {{ border: 1px solid #d0d7de; padding: 0.25rem 0.5rem; text-align: right; }}
th {{ background: #f6f8fa; }}
td:first-child, th:first-child {{ text-align: left; }}
figure {{ margin: 1rem 0; }}
figure img {{ max-width: 100%; }}
figcaption {{ font-size: 0.85rem; color: #57606a; }}
</style>
</head>
<body>
<h1>Transaction cost analysis</h1>
<p>{orders} orders; generated {generated}.</p>
{sections}
</body>
</html>
"""
