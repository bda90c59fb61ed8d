"""The venue's book view through pickle: the same book comes back, from a compact form.

The book is built by hand:

    bids          asks
    100.50 × 5    101    × 3   (all 3 taken by us)
     99.5  × 20   101.50 × 4.25 (1 taken by us)
     99    × 1    103    × 10

(100 × 10 was in the snapshot and left with a diff, so the sorted prices are stale.)
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from decimal import Decimal as D

from fillstream.connectors.simvenue.book import BookView
from fillstream.schemas.models import BookUpdate, PriceLevel, Quote, Side

T = 1_723_204_800_000_000
Levels = Sequence[tuple[str, str]]


def update(kind: str, bids: Levels = (), asks: Levels = ()) -> BookUpdate:
    return BookUpdate(
        symbol="BTC/USDT",
        venue="sim",
        kind=kind,
        bids=[PriceLevel(price=D(price), quantity=D(size)) for price, size in bids],
        asks=[PriceLevel(price=D(price), quantity=D(size)) for price, size in asks],
        timestamp=T,
    )


def quote(bid: str, ask: str) -> Quote:
    return Quote(
        symbol="BTC/USDT",
        venue="sim",
        bid_price=D(bid),
        bid_size=D(1),
        ask_price=D(ask),
        ask_size=D(1),
        timestamp=T,
    )


def hand_built() -> BookView:
    view = BookView()
    view.apply(
        update(
            "snapshot",
            bids=[("100.50", "5"), ("100", "10"), ("99.5", "20")],
            asks=[("101", "3"), ("101.50", "4.25"), ("103", "10")],
        )
    )
    view.apply(update("diff", bids=[("100", "0"), ("99", "1")]))
    taken = view.match(Side.BUY, D(4), None)
    assert taken == [(D(101), D(3)), (D("101.50"), D(1))]
    view.take(Side.BUY, taken)
    return view


def round_trip(view: BookView) -> BookView:
    return pickle.loads(pickle.dumps(view, protocol=5))


def test_a_book_comes_back_with_its_levels_what_we_took_and_its_depth_flag():
    copy = round_trip(hand_built())
    assert copy.has_depth
    # Exactly the recorded decimals, exponents and all.
    assert (str(copy.best(Side.BUY)), str(copy.best(Side.SELL))) == ("100.50", "101")
    assert (copy.touch(Side.BUY), copy.touch(Side.SELL)) == (D("101.50"), D("100.50"))
    assert copy.match(Side.BUY, D(10), None) == [(D("101.50"), D("3.25")), (D(103), D("6.75"))]
    assert copy.match(Side.SELL, D(30), D(99)) == [
        (D("100.50"), D(5)),
        (D("99.5"), D(20)),
        (D(99), D(1)),
    ]
    assert copy.size_at(Side.SELL, D(101)) == 3
    assert (copy.known_size(Side.BUY, D(100)), copy.known_size(Side.BUY, D(98))) == (0, None)
    copy.apply_quote(quote("50", "51"))  # ignored: the view has depth
    assert copy.best(Side.BUY) == D("100.50")


def test_a_restored_book_moves_as_the_original_does():
    original = hand_built()
    copy = round_trip(original)
    for view in (original, copy):
        # Re-stated unchanged, 101 stays taken; 101.50 changes size, so what we took is back.
        view.apply(update("diff", bids=[("100.5", "0"), ("99.75", "2")], asks=[("101", "3")]))
        view.apply(update("diff", asks=[("101.50", "4")]))
        view.clear_through(D("99.5"))
    assert copy.match(Side.BUY, D(100), None) == original.match(Side.BUY, D(100), None)
    assert copy.match(Side.BUY, D(100), None) == [(D("101.50"), D(4)), (D(103), D(10))]
    assert copy.match(Side.SELL, D(100), None) == [(D("99.5"), D(20)), (D(99), D(1))]


def test_the_pickled_form_holds_no_decimal_objects():
    data = pickle.dumps(hand_built(), protocol=5)
    assert b"Decimal" not in data


def test_an_empty_book_and_a_quoted_book_come_back_without_depth():
    empty = round_trip(BookView())
    assert (empty.best(Side.BUY), empty.touch(Side.BUY), empty.has_depth) == (None, None, False)
    quoted = BookView()
    quoted.apply_quote(quote("100", "101"))
    copy = round_trip(quoted)
    assert (copy.best(Side.BUY), copy.best(Side.SELL), copy.has_depth) == (D(100), D(101), False)
    copy.apply_quote(quote("99", "100.5"))  # applies: still no depth
    assert (copy.best(Side.BUY), copy.best(Side.SELL)) == (D(99), D("100.5"))
