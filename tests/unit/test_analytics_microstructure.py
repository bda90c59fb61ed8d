"""Order-book measures on a hand-built book (every figure worked out by hand), and their time
series over the real BTCUSDT capture.

    bids                 asks
    100.00 × 2           100.10 × 1
     99.90 × 3           100.20 × 4
     99.50 × 5           100.80 × 2

mid 100.05, spread 0.10.
"""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import pytest

from fillstream.analytics.microstructure import (
    Book,
    book_series,
    depth,
    depth_within,
    imbalance,
    impact_bps,
    liquidity_score,
    mid,
    spread,
    spread_bps,
    walk,
)
from fillstream.connectors.feeds.binance import read_capture
from fillstream.connectors.feeds.samples import sample_file
from fillstream.schemas.models import BookUpdate, PriceLevel, Side

BIDS = [("100.00", "2"), ("99.90", "3"), ("99.50", "5")]
ASKS = [("100.10", "1"), ("100.20", "4"), ("100.80", "2")]
T0 = 1723161300_000000


def levels(pairs) -> list[PriceLevel]:
    return [PriceLevel(price=D(price), quantity=D(size)) for price, size in pairs]


def update(kind: str, bids, asks, at: int) -> BookUpdate:
    return BookUpdate(
        symbol="X/USD",
        venue="sim",
        kind=kind,
        bids=levels(bids),
        asks=levels(asks),
        timestamp=at,
    )


BOOK = Book.of(update("snapshot", BIDS, ASKS, T0))


def bps(value: str | Fraction) -> float:
    return float(Fraction(value) * 10_000)


def test_mid_and_spread():
    assert mid(BOOK) == D("100.05")
    assert spread(BOOK) == D("0.10")
    assert spread_bps(BOOK) == pytest.approx(bps(Fraction("0.10") / Fraction("100.05")))


def test_depth_within_levels_and_within_bps_of_the_mid():
    assert depth(BOOK.bids, 2) == D("5") and depth(BOOK.asks, 2) == D("5")
    assert depth(BOOK.asks, 10) == D("7")
    # 10 bps of 100.05 is 0.10005: bids from 99.94995, asks up to 100.15005
    assert depth_within(BOOK, Side.BUY, 10) == D("2")
    assert depth_within(BOOK, Side.SELL, 10) == D("1")
    # 20 bps is 0.2001: bids from 99.8499, asks up to 100.2501
    assert depth_within(BOOK, Side.BUY, 20) == D("5")
    assert depth_within(BOOK, Side.SELL, 20) == D("5")


def test_imbalance_over_n_levels():
    assert imbalance(BOOK, 1) == pytest.approx(1 / 3)  # (2 - 1) / (2 + 1)
    assert imbalance(BOOK, 2) == 0.0  # (5 - 5) / 10
    assert imbalance(BOOK, 3) == pytest.approx(3 / 17)  # (10 - 7) / 17


def test_walking_the_book():
    # buy 3: 1 @ 100.10 + 2 @ 100.20 = 300.50; P̄ − m = 0.35 / 3
    assert walk(BOOK, Side.BUY, D("3")) == D("300.50") / 3
    assert impact_bps(BOOK, Side.BUY, D("3")) == pytest.approx(
        bps(Fraction("0.35") / 3 / Fraction("100.05"))
    )
    # sell 6: 2 @ 100.00 + 3 @ 99.90 + 1 @ 99.50 = 599.20 against 6 × 100.05 = 600.30
    assert impact_bps(BOOK, Side.SELL, D("6")) == pytest.approx(
        bps(Fraction("1.10") / Fraction("600.30"))
    )
    # within the best level the impact is the half spread
    assert impact_bps(BOOK, Side.BUY, D("1")) == pytest.approx(
        bps(Fraction("0.05") / Fraction("100.05"))
    )
    assert walk(BOOK, Side.BUY, D("8")) is None  # only 7 offered
    assert impact_bps(BOOK, Side.SELL, D("11")) is None


def test_liquidity_score_is_the_thinner_sides_notional_near_the_mid():
    # 20 bps: bids 100 × 2 + 99.9 × 3 = 499.7; asks 100.1 × 1 + 100.2 × 4 = 500.9
    assert liquidity_score(BOOK, 20) == D("499.70")
    # 10 bps: bids 200.00; asks 100.10
    assert liquidity_score(BOOK, 10) == D("100.10")


def test_a_one_sided_book_has_no_mid_and_no_figures_that_need_one():
    book = Book(BOOK.bids, [])
    assert mid(book) is None and spread(book) is None and spread_bps(book) is None
    assert depth_within(book, Side.BUY, 10) is None
    assert liquidity_score(book, 10) is None
    assert impact_bps(book, Side.SELL, D("1")) is None
    assert imbalance(book, 1) == 1.0
    assert imbalance(Book([], []), 5) is None


def test_the_series_follows_the_book_through_its_diffs():
    updates = [
        update("snapshot", BIDS, ASKS, T0),
        update("diff", [], [("100.10", "0")], T0 + 100_000),  # the best ask goes
        update("diff", [("100.05", "1")], [], T0 + 200_000),  # a better bid comes
    ]
    series = book_series(updates, levels=1, within_bps=10, size=D("1"))
    assert series["timestamp"].to_list() == [T0, T0 + 100_000, T0 + 200_000]
    assert series["mid"].to_list() == [D("100.05"), D("100.10"), D("100.125")]
    assert series["spread"].to_list() == [D("0.10"), D("0.20"), D("0.15")]
    assert series["imbalance"].to_list() == pytest.approx([1 / 3, -1 / 3, -0.6])  # (1 - 4) / 5
    assert series["bid_depth"].to_list() == [D("2"), D("2"), D("1")]
    assert series["liquidity_score"][0] == D("100.10")
    sampled = book_series(updates, every_us=150_000)
    assert sampled["timestamp"].to_list() == [T0, T0 + 200_000]


def test_the_series_over_the_real_btcusdt_capture():
    """Binance spot BTC/USDT, 2024-08-08 23:54–23:59 UTC: one snapshot and 3,449 diffs; the
    price falls from about 61,837 to 61,600 and recovers to about 61,711. Sampled once a
    second: measuring every update of a 1,000-level book takes seconds."""
    path = sample_file("btcusdt_20240808.gz")
    if path is None:
        pytest.skip("the shared sample data (btcusdt_20240808.gz) is not present")
    books = [e.record for e in read_capture(path) if isinstance(e.record, BookUpdate)]
    assert len(books) == 3450
    series = book_series(books, levels=10, within_bps=10, size=D("1"), every_us=1_000_000)
    assert series.height > 300  # about 5 minutes 45 seconds of books, one row a second
    assert (series["timestamp"].diff().drop_nulls() >= 1_000_000).all()
    assert series["mid"].cast(float).is_between(61_500, 61_900).all()
    assert (series["spread"] > 0).all()  # the sequenced book never crosses
    assert series["spread"].min() == D("0.01")  # one tick, most of the time
    assert series["spread"].median() == pytest.approx(0.01)
    assert series["imbalance"].is_between(-1, 1).all()
    assert (series["buy_impact_bps"] >= series["spread_bps"] / 2 - 1e-9).all()
    assert (series["liquidity_score"] > 0).all()
