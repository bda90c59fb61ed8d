"""Smart order routing, against plans worked out by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fillstream.domain.instruments import Instrument, InstrumentBook
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.models import Quote, Signal
from fillstream.streams.routing import NoVenue, plan_route

T = 1381152600000000

# Three lit exchanges and one dark pool quoting IBM. Taker cost of a buy, ask × (1 + fee):
#   bats 186.39 × 1.0001 = 186.408639   (best)
#   nyse 186.40 × 1.0002 = 186.437280   (dearer quote, but cheaper fees than arca)
#   arca 186.39 × 1.0003 = 186.445917
VENUES = {
    "nyse": VenueConfig("nyse", taker_fee=D("0.0002"), priority=0),
    "arca": VenueConfig("arca", taker_fee=D("0.0003"), priority=1),
    "bats": VenueConfig("bats", taker_fee=D("0.0001"), priority=2),
    "dark-1": VenueConfig("dark-1", dark=True, min_size=D("100")),
}
INSTRUMENTS = InstrumentBook.of(
    [Instrument(venue, "IBM", tick_size=D("0.01"), lot_size=D("1")) for venue in VENUES]
)
QUOTES = {
    "nyse": Quote(
        symbol="IBM",
        venue="nyse",
        bid_price=D("186.36"),
        bid_size=D("400"),
        ask_price=D("186.40"),
        ask_size=D("300"),
        timestamp=T,
    ),
    "arca": Quote(
        symbol="IBM",
        venue="arca",
        bid_price=D("186.37"),
        bid_size=D("100"),
        ask_price=D("186.39"),
        ask_size=D("200"),
        timestamp=T,
    ),
    "bats": Quote(
        symbol="IBM",
        venue="bats",
        bid_price=D("186.37"),
        bid_size=D("300"),
        ask_price=D("186.39"),
        ask_size=D("500"),
        timestamp=T,
    ),
}


def signal(**changes) -> Signal:
    fields = {
        "signal_id": "s-1",
        "strategy_id": "st",
        "account_id": "a-1",
        "symbol": "IBM",
        "side": "buy",
        "quantity": "1000",
        "order_type": "market",
        "created_at": T,
    }
    return Signal.model_validate(fields | changes)


def plan(order: Signal, venues=VENUES) -> list[tuple[str, D]]:
    return [(a.venue, a.quantity) for a in plan_route(order, venues, QUOTES, INSTRUMENTS)]


def test_an_order_larger_than_the_best_venue_sweeps_venues_by_price_and_fees():
    assert plan(signal()) == [("bats", D("500")), ("nyse", D("300")), ("arca", D("200"))]


def test_what_the_lit_books_do_not_show_goes_to_a_dark_pool_that_takes_its_size():
    assert plan(signal(quantity="1250"))[-1] == ("dark-1", D("250"))


def test_a_remainder_below_the_dark_minimum_stays_with_the_best_lit_venue():
    assert plan(signal(quantity="1050")) == [
        ("bats", D("550")),
        ("nyse", D("300")),
        ("arca", D("200")),
    ]


def test_a_limit_price_excludes_venues_quoting_through_it():
    # nyse's ask 186.40 is above the limit: only bats and arca are swept.
    order = signal(quantity="900", order_type="limit", price="186.39")
    lit_only = {name: venue for name, venue in VENUES.items() if not venue.dark}
    assert plan(order, lit_only) == [("bats", D("700")), ("arca", D("200"))]


def test_a_sell_ranks_by_bid_net_of_fees():
    # bid × (1 − fee): bats 186.37 × 0.9999 = 186.351363; arca 186.37 × 0.9997 = 186.314089;
    # nyse 186.36 × 0.9998 = 186.322728 → bats, nyse, arca.
    order = signal(side="sell", quantity="700")
    assert plan(order) == [("bats", D("300")), ("nyse", D("400"))]


def test_a_named_venue_gets_the_whole_order():
    assert plan(signal(exchange="arca")) == [("arca", D("1000"))]


def test_the_plan_carries_prices_fees_and_ranks():
    first = plan_route(signal(), VENUES, QUOTES, INSTRUMENTS)[0]
    assert (first.venue, first.expected_price, first.fee_rate, first.priority) == (
        "bats",
        D("186.39"),
        D("0.0001"),
        0,
    )


def test_an_unlisted_symbol_cannot_be_routed():
    with pytest.raises(NoVenue, match="no configured venue lists MSFT"):
        plan_route(signal(symbol="MSFT"), VENUES, QUOTES, INSTRUMENTS)
