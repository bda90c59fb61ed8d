"""The venue's book view through its saved entries: the same book comes back, a level an entry.

The book is built by hand:

    bids          asks
    100.50 × 5    101    × 3   (all 3 taken by us)
     99.5  × 20   101.50 × 4.25 (1 taken by us)
     99    × 1    103    × 10

(100 × 10 was in the snapshot and left with a diff, so the sorted prices are stale.)
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal as D

from fillstream.connectors.simvenue.blotter import Blotter
from fillstream.connectors.simvenue.book import BookView
from fillstream.connectors.simvenue.matching import Listing
from fillstream.domain.instruments import Instrument
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.models import BookUpdate, PriceLevel, Quote, Side
from fillstream.streams.memory import Memory

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


VENUE = VenueConfig("sim")
BTC = Instrument("sim", "BTC/USDT", tick_size=D("0.01"), lot_size=D("0.01"))


def listing(view: BookView) -> Listing:
    """A listing holding `view`: the book is saved as part of its listing's memory."""
    held = Listing(BTC, Blotter(VENUE))
    held.book = view
    return held


def round_trip(view: BookView) -> BookView:
    puts, removed = Memory(listing(view)).changes()
    assert removed == []
    fresh = Listing(BTC, Blotter(VENUE))
    Memory(fresh).restore(puts)
    return fresh.book


def test_a_book_comes_back_with_its_levels_what_we_took_its_depth_flag_and_time():
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
    copy.clear_through(D("103.5"), T - 1)  # the book's time came back: an older print clears none
    assert copy.touch(Side.BUY) == D("101.50")
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
        view.clear_through(D("99.5"), T)
    assert copy.match(Side.BUY, D(100), None) == original.match(Side.BUY, D(100), None)
    assert copy.match(Side.BUY, D(100), None) == [(D("101.50"), D(4)), (D(103), D(10))]
    assert copy.match(Side.SELL, D(100), None) == [(D("99.5"), D(20)), (D(99), D(1))]


def test_each_level_is_an_entry_and_a_diff_writes_only_the_levels_it_changed():
    view = hand_built()
    memory = Memory(listing(view))
    puts, _ = memory.changes()
    levels = sorted(key.decode() for key in puts if b"/buy/" in key or b"/sell/" in key)
    assert levels == [
        "book.sizes/buy/100.50",
        "book.sizes/buy/99",
        "book.sizes/buy/99.5",
        "book.sizes/sell/101",
        "book.sizes/sell/101.50",
        "book.sizes/sell/103",
        "book.taken/sell/101",
        "book.taken/sell/101.50",
    ]
    view.apply(update("diff", bids=[("99.5", "21"), ("98", "2")], asks=[("101.50", "4.25")]))
    view.apply(update("diff", bids=[("99", "0")]))
    puts, removed = memory.changes()
    # 101.50 is re-stated unchanged: nothing to write, and what we took there stays taken
    assert sorted(puts) == [b"book.sizes/buy/98", b"book.sizes/buy/99.5"]
    assert removed == [b"book.sizes/buy/99"]
    assert memory.changes() == ({}, [])


def test_an_empty_book_and_a_quoted_book_come_back_without_depth():
    empty = round_trip(BookView())
    assert (empty.best(Side.BUY), empty.touch(Side.BUY), empty.has_depth) == (None, None, False)
    quoted = BookView()
    quoted.apply_quote(quote("100", "101"))
    copy = round_trip(quoted)
    assert (copy.best(Side.BUY), copy.best(Side.SELL), copy.has_depth) == (D(100), D(101), False)
    copy.apply_quote(quote("99", "100.5"))  # applies: still no depth
    assert (copy.best(Side.BUY), copy.best(Side.SELL)) == (D(99), D("100.5"))
