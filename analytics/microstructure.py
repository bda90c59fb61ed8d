"""Order-book measures over one L2 book, and their time series over a recorded market.

A `Book` holds each side's levels as (price, size) pairs, best first: what a `BookUpdate`
snapshot carries (`Book.of`) and what the simulated venue's `BookView` keeps (`Book.view`).
Sides follow `BookView`: `Side.BUY` names the bids, `Side.SELL` the asks, and an order of side
`s` walks the opposite side. D = +1 for a buy, −1 for a sell; m is the mid. Every measure is
exact decimal arithmetic; bps and ratios come out as floats. Definitions (docs/ANALYTICS.md):

- mid m = (best bid + best ask) / 2; spread = best ask − best bid; in bps, spread / m × 10⁴.
- depth within N levels: the size summed over a side's N best levels.
- depth within x bps: the size summed over a side's levels priced within x bps of the mid
  (bids at or above m·(1 − x/10⁴), asks at or below m·(1 + x/10⁴)).
- imbalance over N levels: (B − A) / (B + A), B and A the bid and ask depths within N levels;
  from −1 (only asks) to +1 (only bids).
- price impact of walking the book for Q: take the opposite side best first until Q is filled;
  P̄ = Σ q_i p_i / Q and impact = D·(P̄ − m)/m × 10⁴ bps. It includes the half spread, so it
  is the cost of an immediate market order against the mid; None when the side holds less
  than Q (the book's depth cannot say what the rest would cost).
- liquidity score within x bps: the smaller side's notional (Σ price × size, in the quote
  currency) within x bps of the mid, i.e. the largest amount that could both be bought and
  sold against this book without any fill more than x bps from the mid. One figure in
  currency, comparable across instruments, and limited by the thinner side, which is the one
  a two-way trader runs into.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from fillstream.connectors.simvenue.book import BookView
from fillstream.schemas.models import BookUpdate, Side

__all__ = [
    "Book",
    "Level",
    "book_series",
    "depth",
    "depth_within",
    "imbalance",
    "impact_bps",
    "liquidity_score",
    "mid",
    "spread",
    "spread_bps",
    "walk",
]

Level = tuple[Decimal, Decimal]
"""(price, size)"""

_ZERO = Decimal(0)
_BPS = Decimal(10_000)


@dataclass(frozen=True)
class Book:
    """Both sides of an L2 book, best level first."""

    bids: Sequence[Level]
    asks: Sequence[Level]

    @classmethod
    def of(cls, snapshot: BookUpdate) -> Book:
        """The book a snapshot states (a diff states only changes, not a book)."""
        return cls(
            [(level.price, level.quantity) for level in snapshot.bids],
            [(level.price, level.quantity) for level in snapshot.asks],
        )

    @classmethod
    def view(cls, view: BookView) -> Book:
        """The recorded book of a `BookView`, every level."""
        return cls(list(view.levels(Side.BUY)), list(view.levels(Side.SELL)))

    def side(self, side: Side) -> Sequence[Level]:
        """The levels resting on `side` (BUY: bids, SELL: asks)."""
        return self.bids if side is Side.BUY else self.asks


def mid(book: Book) -> Decimal | None:
    if not book.bids or not book.asks:
        return None
    return (book.bids[0][0] + book.asks[0][0]) / 2


def spread(book: Book) -> Decimal | None:
    if not book.bids or not book.asks:
        return None
    return book.asks[0][0] - book.bids[0][0]


def spread_bps(book: Book) -> float | None:
    middle, width = mid(book), spread(book)
    return None if middle is None or width is None else float(width / middle * _BPS)


def depth(levels: Sequence[Level], count: int) -> Decimal:
    """The size on the `count` best levels of one side."""
    return sum((size for _, size in levels[:count]), _ZERO)


def depth_within(book: Book, side: Side, bps: Decimal | int) -> Decimal | None:
    """The size resting on `side` within `bps` of the mid; None without a mid."""
    return _within(book, side, bps, notional=False)


def imbalance(book: Book, levels: int) -> float | None:
    """(bid size − ask size) / (bid size + ask size) over the `levels` best levels a side."""
    bids, asks = depth(book.bids, levels), depth(book.asks, levels)
    total = bids + asks
    return None if total == 0 else float((bids - asks) / total)


def walk(book: Book, side: Side, quantity: Decimal) -> Decimal | None:
    """The average price an order of `side` for `quantity` gets by taking levels best first;
    None when the opposite side holds less than `quantity`."""
    remaining, value = quantity, _ZERO
    for price, size in book.side(Side.SELL if side is Side.BUY else Side.BUY):
        taken = min(size, remaining)
        value += taken * price
        remaining -= taken
        if remaining == 0:
            return value / quantity
    return None


def impact_bps(book: Book, side: Side, quantity: Decimal) -> float | None:
    """D·(P̄ − m)/m in bps for walking the book with `quantity` (positive = cost)."""
    middle, average = mid(book), walk(book, side, quantity)
    if middle is None or average is None:
        return None
    signed = average - middle if side is Side.BUY else middle - average
    return float(signed / middle * _BPS)


def liquidity_score(book: Book, bps: Decimal | int) -> Decimal | None:
    """The smaller side's notional within `bps` of the mid; None without a mid."""
    bids = _within(book, Side.BUY, bps, notional=True)
    asks = _within(book, Side.SELL, bps, notional=True)
    return None if bids is None or asks is None else min(bids, asks)


def _within(book: Book, side: Side, bps: Decimal | int, *, notional: bool) -> Decimal | None:
    middle = mid(book)
    if middle is None:
        return None
    band = middle * Decimal(bps) / _BPS
    total = _ZERO
    for price, size in book.side(side):
        if (price < middle - band) if side is Side.BUY else (price > middle + band):
            break
        total += price * size if notional else size
    return total


def book_series(
    updates: Iterable[BookUpdate],
    *,
    levels: int = 10,
    within_bps: Decimal | int = 10,
    size: Decimal = Decimal(1),
    every_us: int = 0,
) -> pl.DataFrame:
    """The measures of each (venue, symbol) book after its updates, one row per update, or at
    most one per `every_us` (the book after the first update at least that long after the
    previous row's): measuring costs far more than applying an update.

    Columns: `timestamp` (µs UTC), `venue`, `symbol`, `mid`, `spread`, `spread_bps`;
    `bid_depth` / `ask_depth` within `levels` levels and `imbalance` over them;
    `bid_depth_bps` / `ask_depth_bps` and `liquidity_score` within `within_bps` of the mid;
    `buy_impact_bps` / `sell_impact_bps` for walking `size`. Updates come in time order, each
    book's first a snapshot (as `connectors.feeds` deliver them).
    """
    views: dict[tuple[str, str], BookView] = {}
    measured: dict[tuple[str, str], int] = {}
    rows = []
    for update in updates:
        key = (update.venue, update.symbol)
        view = views.setdefault(key, BookView())
        view.apply(update)
        if key in measured and update.timestamp < measured[key] + every_us:
            continue
        measured[key] = update.timestamp
        book = Book.view(view)
        rows.append(
            {
                "timestamp": update.timestamp,
                "venue": update.venue,
                "symbol": update.symbol,
                "mid": mid(book),
                "spread": spread(book),
                "spread_bps": spread_bps(book),
                "bid_depth": depth(book.bids, levels),
                "ask_depth": depth(book.asks, levels),
                "imbalance": imbalance(book, levels),
                "bid_depth_bps": depth_within(book, Side.BUY, within_bps),
                "ask_depth_bps": depth_within(book, Side.SELL, within_bps),
                "liquidity_score": liquidity_score(book, within_bps),
                "buy_impact_bps": impact_bps(book, Side.BUY, size),
                "sell_impact_bps": impact_bps(book, Side.SELL, size),
            }
        )
    return pl.DataFrame(rows, schema_overrides=_SERIES_TYPES, infer_schema_length=None)


_SERIES_TYPES = {
    "timestamp": pl.Int64,
    "venue": pl.String,
    "symbol": pl.String,
    "spread_bps": pl.Float64,
    "imbalance": pl.Float64,
    "buy_impact_bps": pl.Float64,
    "sell_impact_bps": pl.Float64,
}
