"""The simulated venue's view of a book: levels from the data, less what we took."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fillstream.connectors.simvenue.book import BookView
from fillstream.schemas.models import BookUpdate, PriceLevel, Quote, Side

T = 1_723_204_800_000_000


def update(kind: str, bids: dict[str, str], asks: dict[str, str]) -> BookUpdate:
    return BookUpdate(
        symbol="BTC/USDT",
        venue="sim",
        kind=kind,
        bids=[PriceLevel(price=D(p), quantity=D(q)) for p, q in bids.items()],
        asks=[PriceLevel(price=D(p), quantity=D(q)) for p, q in asks.items()],
        timestamp=T,
    )


def quote(bid: str | None, bid_size: str | None, ask: str, ask_size: str) -> Quote:
    return Quote(
        symbol="BTC/USDT",
        venue="sim",
        bid_price=None if bid is None else D(bid),
        bid_size=None if bid_size is None else D(bid_size),
        ask_price=D(ask),
        ask_size=D(ask_size),
        timestamp=T,
    )


@pytest.fixture
def view() -> BookView:
    view = BookView()
    view.apply(update("snapshot", {"100": "5", "99": "10"}, {"101": "3", "102": "4", "103": "1"}))
    return view


def test_a_buy_walks_the_asks_best_first_within_its_limit(view):
    assert view.match(Side.BUY, D(9), D(102)) == [(101, 3), (102, 4)]
    assert view.match(Side.BUY, D(5), None) == [(101, 3), (102, 2)]
    assert view.match(Side.SELL, D(20), None) == [(100, 5), (99, 10)]
    assert view.match(Side.SELL, D(1), D("100.5")) == []


def test_diffs_change_and_delete_levels(view):
    view.apply(update("diff", {"100": "0", "99.5": "2", "97": "0"}, {"101": "6"}))
    assert view.best(Side.BUY) == D("99.5")
    assert view.match(Side.SELL, D(20), None) == [(D("99.5"), 2), (99, 10)]
    assert view.match(Side.BUY, D(6), None) == [(101, 6)]


def test_what_we_took_stays_taken_until_the_data_changes_that_level(view):
    view.take(Side.BUY, [(D(101), D(3)), (D(102), D(1))])
    assert view.touch(Side.BUY) == 102
    assert view.best(Side.SELL) == 101  # the recorded market is unchanged
    # A snapshot re-states 101 unchanged and changes 102: 101 stays taken, 102 is whole again.
    view.apply(update("snapshot", {"100": "5"}, {"101": "3", "102": "5", "103": "1"}))
    assert view.match(Side.BUY, D(20), None) == [(102, 5), (103, 1)]
    # A level deleted and re-added is new liquidity.
    view.apply(update("diff", {}, {"101": "0"}))
    view.apply(update("diff", {}, {"101": "3"}))
    assert view.touch(Side.BUY) == 101


def test_quotes_set_the_top_of_book_only_until_depth_arrives():
    view = BookView()
    view.apply_quote(quote(None, None, "101", "3"))
    assert (view.best(Side.BUY), view.match(Side.BUY, D(5), None)) == (None, [(101, 3)])
    view.apply_quote(quote("100", "2", "100.5", "1"))
    assert view.match(Side.BUY, D(5), None) == [(D("100.5"), 1)]
    view.apply(update("snapshot", {"99": "1"}, {"102": "1"}))
    view.apply_quote(quote("100", "2", "100.5", "1"))
    assert (view.best(Side.BUY), view.best(Side.SELL)) == (99, 102)


def test_known_size_reaches_as_deep_as_the_data(view):
    assert view.known_size(Side.BUY, D(100)) == 5
    assert view.known_size(Side.BUY, D("99.5")) == 0  # inside the shown range: empty
    assert view.known_size(Side.BUY, D("100.5")) == 0  # better than the best bid: empty
    assert view.known_size(Side.BUY, D(98)) is None  # beyond the depth shown
    assert view.known_size(Side.SELL, D(104)) is None
    assert BookView().known_size(Side.BUY, D(100)) is None


def test_a_trade_clears_the_levels_it_must_have_gone_through(view):
    # A print at 99 means the bid at 100 was taken first; the asks are untouched by it.
    view.clear_through(D(99), T)
    assert view.best(Side.BUY) == D(99)
    assert view.match(Side.BUY, D(1), None) == [(101, 1)]
    # A print at 102.5 means the asks at 101 and 102 are gone too.
    view.clear_through(D("102.5"), T)
    assert view.match(Side.BUY, D(5), None) == [(103, 1)]
    # ... and the next recorded update restates the book as the data has it.
    view.apply(update("diff", {}, {"101": "2"}))
    assert view.match(Side.BUY, D(1), None) == [(101, 1)]


def test_a_trade_older_than_the_book_clears_nothing(view):
    # The book at T is newer than a print at T - 1 µs: that trade is in it already (it came
    # late, on a topic of its own), so the levels it would have gone through stay.
    view.clear_through(D("102.5"), T - 1)
    view.clear_through(D(99), T - 1)
    assert view.match(Side.BUY, D(4), None) == [(101, 3), (102, 1)]
    assert view.match(Side.SELL, D(6), None) == [(100, 5), (99, 1)]
    # A print at the book's own time, or after it, clears as before.
    view.clear_through(D("101.5"), T)
    assert view.match(Side.BUY, D(1), None) == [(102, 1)]


def test_levels_stay_best_first_as_diffs_add_and_remove_them_one_by_one(view):
    assert [p for p, _ in view.levels(Side.BUY)] == [100, 99]  # sorted once here
    view.apply(update("diff", {"99.5": "1", "98": "2", "101.5": "0"}, {"102.5": "1", "100.5": "2"}))
    view.apply(update("diff", {"100": "0", "100.25": "3", "97": "1"}, {"103": "0", "101": "0"}))
    assert [p for p, _ in view.levels(Side.BUY)] == [D("100.25"), D("99.5"), 99, 98, 97]
    assert [p for p, _ in view.levels(Side.SELL)] == [D("100.5"), 102, D("102.5")]
    view.clear_through(D("99.25"), T)  # the bids above the print go, best first
    assert [p for p, _ in view.levels(Side.BUY)] == [99, 98, 97]
    assert [p for p, _ in view.levels(Side.SELL)] == [D("100.5"), 102, D("102.5")]
