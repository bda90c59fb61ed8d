"""The simulated venue against scenarios worked out by hand.

Unless a test says otherwise, the venue `sim` lists BTC/USDT (tick 0.5, lot 0.1, minimum
quantity 0.5, minimum notional 60), charges a maker fee of 1 bp and a taker fee of 10 bps, and
starts from this book at T:

    bids          asks
    100 × 5       101 × 3
     99 × 10      102 × 4
     98 × 20      103 × 10

Orders are created at T + 10 µs and reach the engine 1,000 µs later, at ARRIVAL. Every report
a test sees is checked to validate as an `ExecutionReport`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, time
from decimal import Decimal as D
from decimal import localcontext
from typing import Any

import pytest

from fillstream.connectors.simvenue import (
    MarketEvent,
    OpenOrder,
    SessionRule,
    SimulatedVenue,
    VenueReason,
)
from fillstream.connectors.simvenue.blotter import quote_currency
from fillstream.connectors.simvenue.exact import EXACT
from fillstream.domain.instruments import Instrument
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.models import (
    BookUpdate,
    ExecutionReport,
    PriceLevel,
    Quote,
    Slice,
    SliceAction,
    Trade,
)

T = 1_723_204_800_000_000  # 2024-08-09 12:00 UTC
MIDNIGHT = T + 12 * 3_600_000_000  # the end of that UTC day
LATENCY = 1_000
CREATED = T + 10
ARRIVAL = CREATED + LATENCY
VENUE = VenueConfig("sim", maker_fee=D("0.0001"), taker_fee=D("0.001"), latency_us=LATENCY)
BTC = Instrument(
    "sim",
    "BTC/USDT",
    tick_size=D("0.5"),
    lot_size=D("0.1"),
    min_quantity=D("0.5"),
    min_notional=D("60"),
)

Levels = Sequence[tuple[str, str]]


def book(kind: str, at: int, bids: Levels = (), asks: Levels = ()) -> BookUpdate:
    return BookUpdate(
        symbol="BTC/USDT",
        venue="sim",
        kind=kind,
        bids=[PriceLevel(price=D(price), quantity=D(size)) for price, size in bids],
        asks=[PriceLevel(price=D(price), quantity=D(size)) for price, size in asks],
        timestamp=at,
    )


BOOK = book(
    "snapshot",
    T,
    bids=[("100", "5"), ("99", "10"), ("98", "20")],
    asks=[("101", "3"), ("102", "4"), ("103", "10")],
)


def trade(price: str, quantity: str, aggressor: str | None, at: int) -> Trade:
    return Trade(
        symbol="BTC/USDT",
        venue="sim",
        trade_id=f"t-{at}",
        price=D(price),
        quantity=D(quantity),
        aggressor_side=aggressor,
        timestamp=at,
    )


def new(slice_id: str, side: str, quantity: str, **terms: Any) -> Slice:
    """A new slice: a limit order unless `terms` say otherwise; strings become decimals."""
    return Slice.model_validate(
        {
            "slice_id": slice_id,
            "order_id": "o-1",
            "signal_id": "sig-1",
            "account_id": "acct-1",
            "symbol": "BTC/USDT",
            "venue": "sim",
            "action": "new",
            "sequence": 1,
            "side": side,
            "quantity": quantity,
            "order_type": "limit",
            "created_at": CREATED,
            **terms,
        }
    )


def amend(order: Slice, action: str, at: int, **terms: Any) -> Slice:
    """A cancel or replace of `order`, created at `at`."""
    return Slice.model_validate({**order.model_dump(), "action": action, "created_at": at, **terms})


def checked(reports: list[ExecutionReport]) -> list[ExecutionReport]:
    for report in reports:
        assert ExecutionReport.model_validate(report.model_dump()) == report
    return reports


def arrive(venue: SimulatedVenue, slice_: Slice) -> list[ExecutionReport]:
    """Submit `slice_` and let it reach the engine."""
    return checked(venue.submit(slice_) + venue.advance(slice_.created_at + LATENCY))


def market(venue: SimulatedVenue, event: MarketEvent) -> list[ExecutionReport]:
    return checked(venue.on_market(event))


def executions(reports: list[ExecutionReport]) -> list[tuple[str, D, D | None]]:
    return [(r.exec_type.value, r.last_quantity, r.last_price) for r in reports]


def code(report: ExecutionReport) -> str:
    assert report.reason is not None
    return report.reason.partition(":")[0]


@pytest.fixture
def venue() -> SimulatedVenue:
    venue = SimulatedVenue(VENUE, [BTC])
    venue.on_market(BOOK)
    return venue


def only_open(venue: SimulatedVenue) -> OpenOrder:
    (order,) = venue.open_orders()
    return order


# --- taking liquidity ---------------------------------------------------------------------------


def test_market_order_walks_the_book_and_pays_the_taker_fee(venue):
    reports = arrive(venue, new("s-1", "buy", "5", order_type="market"))
    common = {
        "order_id": "o-1",
        "signal_id": "sig-1",
        "slice_id": "s-1",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "venue": "sim",
        "venue_order_id": "sim-1",
        "side": "buy",
        "quantity": D(5),
        "commission_asset": "USDT",
        "timestamp": ARRIVAL,
    }
    assert reports == [
        ExecutionReport(
            **common,
            report_id="s-1:1",
            exec_type="ack",
            status="accepted",
            last_quantity=D(0),
            filled_quantity=D(0),
            leaves_quantity=D(5),
            commission=D(0),
        ),
        # 3 @ 101: commission 3 × 101 × 0.001 = 0.303
        ExecutionReport(
            **common,
            report_id="s-1:2",
            exec_type="partial_fill",
            status="partially_filled",
            last_quantity=D(3),
            last_price=D(101),
            filled_quantity=D(3),
            leaves_quantity=D(2),
            average_price=D(101),
            commission=D("0.303"),
            liquidity="taker",
        ),
        # 2 @ 102: commission 0.303 + 2 × 102 × 0.001 = 0.507; average (303 + 204) / 5 = 101.4
        ExecutionReport(
            **common,
            report_id="s-1:3",
            exec_type="fill",
            status="filled",
            last_quantity=D(2),
            last_price=D(102),
            filled_quantity=D(5),
            leaves_quantity=D(0),
            average_price=D("101.4"),
            commission=D("0.507"),
            liquidity="taker",
        ),
    ]


def test_liquidity_we_took_stays_taken_until_the_data_changes_the_level(venue):
    assert executions(arrive(venue, new("s-1", "buy", "2", order_type="market")))[1:] == [
        ("fill", D(2), D(101))
    ]
    # 101 has 1 left in our view.
    assert executions(arrive(venue, new("s-2", "buy", "2", order_type="market")))[1:] == [
        ("partial_fill", D(1), D(101)),
        ("fill", D(1), D(102)),
    ]
    # The data re-states 101 × 3 unchanged: still taken; 102 has 3 left.
    market(venue, book("diff", T + 2_000, asks=[("101", "3")]))
    later = new("s-3", "buy", "1", order_type="market", created_at=T + 2_010)
    assert executions(arrive(venue, later))[1:] == [("fill", D(1), D(102))]
    # The data changes 101 to 4: the whole level is back.
    market(venue, book("diff", T + 4_000, asks=[("101", "4")]))
    latest = new("s-4", "buy", "4", order_type="market", created_at=T + 4_010)
    assert executions(arrive(venue, latest))[1:] == [("fill", D(4), D(101))]


def test_market_order_expires_what_the_visible_book_cannot_fill(venue):
    reports = arrive(venue, new("s-1", "sell", "40", order_type="market"))
    # 5 @ 100, 10 @ 99, 20 @ 98 = 35 of 40
    assert executions(reports)[1:] == [
        ("partial_fill", D(5), D(100)),
        ("partial_fill", D(10), D(99)),
        ("partial_fill", D(20), D(98)),
        ("expire", D(0), None),
    ]
    end = reports[-1]
    assert (end.status.value, end.filled_quantity, end.leaves_quantity) == ("expired", 35, 0)
    assert code(end) == VenueReason.NO_LIQUIDITY
    # average (500 + 990 + 1960) / 35 = 3450 / 35 = 98.57142857142857142857142857 (28 digits)
    assert end.average_price == D("98.57142857142857142857142857")


def test_limit_order_takes_what_is_marketable_and_rests_the_rest(venue):
    reports = arrive(venue, new("s-1", "buy", "5", price="101.5"))
    assert executions(reports) == [("ack", D(0), None), ("partial_fill", D(3), D(101))]
    resting = only_open(venue)
    # Nobody bids 101.5 in the recorded book: first in the queue.
    assert (resting.displayed, resting.queue_ahead, resting.filled_quantity) == (2, 0, 3)


def test_ioc_expires_what_does_not_fill_at_once(venue):
    reports = arrive(venue, new("s-1", "buy", "5", price="101.5", time_in_force="IOC"))
    assert executions(reports)[1:] == [("partial_fill", D(3), D(101)), ("expire", D(0), None)]
    assert code(reports[-1]) == VenueReason.IOC_REMAINDER
    assert (reports[-1].filled_quantity, reports[-1].leaves_quantity) == (3, 0)
    assert venue.open_orders() == []


@pytest.mark.parametrize(
    ("quantity", "order_type", "expected"),
    [
        # within 102: 3 @ 101 + 4 @ 102 = 7
        ("7", "limit", [("partial_fill", D(3), D(101)), ("fill", D(4), D(102))]),
        ("8", "limit", [("expire", D(0), None)]),
        # the whole visible ask side is 17
        ("18", "market", [("expire", D(0), None)]),
    ],
)
def test_fok_fills_everything_or_nothing(venue, quantity, order_type, expected):
    order = new("s-1", "buy", quantity, order_type=order_type, price="102", time_in_force="FOK")
    reports = arrive(venue, order)
    assert executions(reports)[1:] == expected
    if expected[0][0] == "expire":
        assert code(reports[-1]) == VenueReason.FOK_NOT_FILLABLE
        # Nothing was taken: the whole book is still there for the next order.
        after = new("s-2", "buy", "7", price="102", time_in_force="FOK")
        assert executions(arrive(venue, after))[-1] == ("fill", D(4), D(102))


def test_iceberg_takes_with_its_whole_quantity(venue):
    reports = arrive(
        venue, new("s-1", "buy", "5", order_type="iceberg", price="102", display_quantity="1")
    )
    assert executions(reports)[1:] == [("partial_fill", D(3), D(101)), ("fill", D(2), D(102))]


# --- resting orders and the queue ---------------------------------------------------------------


def test_queue_position_trades_at_our_price_fill_the_queue_ahead_first(venue):
    arrive(venue, new("s-1", "buy", "4", price="100"))
    assert only_open(venue).queue_ahead == 5
    # A seller hits 3 at 100: all of it goes to the 5 ahead of us.
    assert market(venue, trade("100", "3", "sell", T + 2_000)) == []
    assert only_open(venue).queue_ahead == 2
    # A seller hits 4: 2 to the queue, 2 to us, as maker: 2 × 100 × 0.0001 = 0.02.
    (fill,) = market(venue, trade("100", "4", "sell", T + 3_000))
    assert executions([fill]) == [("partial_fill", D(2), D(100))]
    assert (fill.liquidity.value, fill.commission, fill.leaves_quantity) == ("maker", D("0.02"), 2)


def test_the_print_of_our_own_fill_does_not_trade_our_resting_order(venue):
    """On a tape that shows our fills, the print of our own sale at our bid traded here
    already: it is not another seller, who would trade the queue ahead of us and then us."""
    arrive(venue, new("s-1", "buy", "4", price="100"))
    sold = arrive(venue, new("s-2", "sell", "5", order_type="market", created_at=T + 1_000))
    assert executions(sold)[-1] == ("fill", D(5), D(100))
    own = trade("100", "5", "sell", T + 3_000).model_copy(update={"trade_id": sold[-1].report_id})
    assert market(venue, own) == []
    assert only_open(venue).queue_ahead == 5  # as it was
    # another seller of 9 at 100: 5 to the queue ahead, 4 to us
    (fill,) = market(venue, trade("100", "9", "sell", T + 4_000))
    assert executions([fill]) == [("fill", D(4), D(100))]


def test_a_buyer_at_our_bid_does_not_trade_our_level(venue):
    arrive(venue, new("s-1", "buy", "4", price="100"))
    assert market(venue, trade("100", "9", "buy", T + 2_000)) == []
    assert only_open(venue).queue_ahead == 5


def test_a_trade_through_our_price_fills_us_at_our_price(venue):
    arrive(venue, new("s-1", "buy", "4", price="100"))
    # A sale at 99.5 proves the 100 level is gone: 3 to us at 100, nobody left ahead.
    assert executions(market(venue, trade("99.5", "3", "sell", T + 2_000))) == [
        ("partial_fill", D(3), D(100))
    ]
    assert executions(market(venue, trade("100", "2", "sell", T + 3_000))) == [
        ("fill", D(1), D(100))
    ]


def test_a_shrinking_level_moves_us_up_only_as_far_as_it_must(venue):
    arrive(venue, new("s-1", "buy", "4", price="100"))
    market(venue, book("diff", T + 2_000, bids=[("100", "3")]))
    assert only_open(venue).queue_ahead == 3  # min(5, 3)
    market(venue, book("diff", T + 3_000, bids=[("100", "6")]))
    assert only_open(venue).queue_ahead == 3  # newcomers join behind us
    assert executions(market(venue, trade("100", "4", "sell", T + 4_000))) == [
        ("partial_fill", D(1), D(100))
    ]
    market(venue, book("diff", T + 5_000, bids=[("100", "0")]))
    assert only_open(venue).queue_ahead == 0  # the level is gone: we are alone at 100


def test_a_book_crossing_our_price_fills_us_as_maker_once(venue):
    arrive(venue, new("s-1", "buy", "4", price="100"))
    # Someone offers 2 at our bid: they would have traded with us.
    crossed = market(venue, book("diff", T + 2_000, bids=[("100", "0")], asks=[("100", "2")]))
    assert executions(crossed) == [("partial_fill", D(2), D(100))]
    assert crossed[0].liquidity.value == "maker"
    # The 2 at 100 are taken in our view: an unrelated update does not fill us again ...
    assert market(venue, book("diff", T + 3_000, bids=[("99", "11")])) == []
    # ... and a market buy cannot take them either.
    later = new("s-2", "buy", "1", order_type="market", created_at=T + 3_010)
    assert executions(arrive(venue, later))[1:] == [("fill", D(1), D(101))]


def test_iceberg_refills_go_to_the_back_of_the_queue(venue):
    arrive(venue, new("s-1", "buy", "5", order_type="iceberg", price="100", display_quantity="2"))
    assert (only_open(venue).displayed, only_open(venue).queue_ahead) == (2, 5)
    # 6 sold at 100: 5 to the queue, 1 to our display.
    assert executions(market(venue, trade("100", "6", "sell", T + 2_000))) == [
        ("partial_fill", D(1), D(100))
    ]
    # 3 more: 1 finishes the display; we refill 2 behind the 5 the book shows at 100, and the
    # last 2 of the trade go to them.
    assert executions(market(venue, trade("100", "3", "sell", T + 3_000))) == [
        ("partial_fill", D(1), D(100))
    ]
    assert (only_open(venue).displayed, only_open(venue).queue_ahead) == (2, 3)
    # 5 more: 3 to the queue, 2 to us; the last refill shows the remaining 1.
    assert executions(market(venue, trade("100", "5", "sell", T + 4_000))) == [
        ("partial_fill", D(2), D(100))
    ]
    assert (only_open(venue).displayed, only_open(venue).filled_quantity) == (1, 4)


def test_a_trade_without_aggressor_side_gets_one_by_the_quote_rule(venue):
    arrive(venue, new("s-1", "buy", "4", price="100"))
    # Below the mid (100.5): a sale. 5 to the queue, 1 to us.
    assert executions(market(venue, trade("100", "6", None, T + 2_000))) == [
        ("partial_fill", D(1), D(100))
    ]
    arrive(venue, new("s-2", "buy", "1", price="100.5", created_at=T + 2_010))
    # At the mid nobody can tell: no fill at our price.
    assert market(venue, trade("100.5", "1", None, T + 4_000)) == []


def test_trade_volume_is_shared_by_our_orders_in_price_time_priority(venue):
    arrive(venue, new("s-1", "buy", "2", price="100.5"))
    arrive(venue, new("s-2", "buy", "2", price="100", created_at=T + 20))
    # A sale of 4 at 100: through s-1 (fills 2 at 100.5); the other 2 reach 100, where 5 wait
    # ahead of s-2.
    reports = market(venue, trade("100", "4", "sell", T + 2_000))
    assert [(r.slice_id, r.last_quantity, r.last_price) for r in reports] == [
        ("s-1", D(2), D("100.5"))
    ]
    assert [o.queue_ahead for o in venue.open_orders()] == [3]


# --- stops ----------------------------------------------------------------------------------


def test_stop_buy_triggers_on_a_trade_at_or_above_its_stop_and_then_buys_at_market(venue):
    order = new("s-1", "buy", "2", order_type="stop", stop_price="101.5")
    assert executions(arrive(venue, order)) == [("ack", D(0), None)]
    assert only_open(venue).waiting_for_stop
    assert market(venue, trade("101", "1", "buy", T + 2_000)) == []
    # A buy printed at 101.5 proves the asks at 101 are gone: the stop buys at 102.
    assert executions(market(venue, trade("101.5", "1", "buy", T + 3_000))) == [
        ("fill", D(2), D(102))
    ]


def test_stop_sell_triggers_on_a_trade_at_or_below_its_stop(venue):
    arrive(venue, new("s-1", "sell", "2", order_type="stop", stop_price="99.5"))
    assert market(venue, trade("100", "1", "sell", T + 2_000)) == []
    # A sell printed at 99 proves the bids at 100 are gone: the stop sells at 99.
    assert executions(market(venue, trade("99", "1", "sell", T + 3_000))) == [("fill", D(2), D(99))]


def test_triggered_stop_limit_takes_within_its_limit_and_rests_the_rest(venue):
    arrive(venue, new("s-1", "buy", "5", order_type="stop_limit", stop_price="101", price="101.5"))
    assert executions(market(venue, trade("101", "1", "buy", T + 2_000))) == [
        ("partial_fill", D(3), D(101))
    ]
    resting = only_open(venue)
    assert (resting.waiting_for_stop, resting.price, resting.displayed) == (False, D("101.5"), 2)


# --- time: latency, DAY and GTD ----------------------------------------------------------------


def test_an_order_meets_the_book_as_it_is_when_it_arrives(venue):
    order = new("s-1", "buy", "3", order_type="market")
    assert venue.submit(order) == []
    # While the order is in flight, the 101 offer goes.
    assert market(venue, book("diff", T + 500, asks=[("101", "0")])) == []
    # At the instant it arrives the 102 offer goes too: market events come first.
    assert market(venue, book("diff", ARRIVAL, asks=[("102", "0")])) == []
    assert executions(checked(venue.advance(ARRIVAL)))[1:] == [("fill", D(3), D(103))]


def test_an_order_submitted_late_is_handled_at_once_at_the_venue_time(venue):
    venue.advance(T + 5_000)
    assert venue.now == T + 5_000
    reports = checked(venue.submit(new("s-1", "buy", "1", order_type="market")))
    assert [(r.exec_type.value, r.timestamp) for r in reports] == [
        ("ack", T + 5_000),
        ("fill", T + 5_000),
    ]


def test_day_order_expires_at_the_end_of_the_utc_day(venue):
    arrive(venue, new("s-1", "buy", "1", price="99.5", time_in_force="DAY"))
    assert venue.advance(MIDNIGHT - 1) == []
    # A sale through our price at the very instant of the close comes after the expiry.
    (expired,) = market(venue, trade("99", "5", "sell", MIDNIGHT))
    assert (expired.exec_type.value, expired.timestamp) == ("expire", MIDNIGHT)
    assert code(expired) == VenueReason.SESSION_CLOSED


@pytest.mark.parametrize(
    ("close", "expiry"),
    [
        (time(21), T + 9 * 3_600_000_000),  # later today
        (time(11), T + 23 * 3_600_000_000),  # already closed today: tomorrow
    ],
)
def test_session_close_is_configurable(close, expiry):
    venue = SimulatedVenue(VENUE, [BTC], session=SessionRule(close=close))
    venue.on_market(BOOK)
    arrive(venue, new("s-1", "buy", "1", price="99.5", time_in_force="DAY"))
    assert venue.advance(expiry - 1) == []
    assert executions(checked(venue.advance(expiry))) == [("expire", D(0), None)]


@pytest.mark.parametrize(
    ("close", "arrival", "expiry"),
    [
        (time(0), MIDNIGHT - 1, MIDNIGHT),
        (time(0), MIDNIGHT, MIDNIGHT + 24 * 3_600_000_000),  # at the close: the next one
        (time(21, 30, 0, 500), T, T + 9 * 3_600_000_000 + 1_800_000_000 + 500),
    ],
)
def test_a_day_order_lives_until_the_first_close_after_its_arrival(close, arrival, expiry):
    assert SessionRule(close=close).day_end(arrival) == expiry


def test_the_session_close_is_a_utc_time_of_day():
    with pytest.raises(ValueError, match="naive time of day in UTC"):
        SessionRule(close=time(16, tzinfo=UTC))


def test_gtd_order_expires_at_expire_at(venue):
    arrive(venue, new("s-1", "buy", "1", price="99.5", time_in_force="GTD", expire_at=T + 5_000))
    assert venue.advance(T + 4_999) == []
    (expired,) = checked(venue.advance(T + 5_000))
    assert code(expired) == VenueReason.EXPIRE_AT_REACHED
    assert (expired.status.value, expired.leaves_quantity, venue.open_orders()) == (
        "expired",
        0,
        [],
    )


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "reason"),
    [
        ({"price": "100.25"}, VenueReason.PRICE_OFF_TICK),
        ({"order_type": "stop", "stop_price": "101.2"}, VenueReason.PRICE_OFF_TICK),
        ({"quantity": "1.05", "price": "100"}, VenueReason.QUANTITY_OFF_LOT),
        (
            {"order_type": "iceberg", "price": "100", "display_quantity": "0.55"},
            VenueReason.QUANTITY_OFF_LOT,
        ),
        ({"quantity": "0.4", "price": "200"}, VenueReason.BELOW_MIN_QUANTITY),
        ({"quantity": "0.5", "price": "100"}, VenueReason.BELOW_MIN_NOTIONAL),  # 50 < 60
        # a market buy's notional at the touch: 0.5 × 101 = 50.5 < 60
        ({"quantity": "0.5", "order_type": "market"}, VenueReason.BELOW_MIN_NOTIONAL),
        (
            {"quantity": "0.5", "order_type": "stop", "stop_price": "101"},
            VenueReason.BELOW_MIN_NOTIONAL,
        ),
        ({"price": None}, VenueReason.MISSING_PRICE),
        ({"order_type": "stop_limit", "price": "100"}, VenueReason.MISSING_STOP_PRICE),
        ({"order_type": "iceberg", "price": "100"}, VenueReason.BAD_DISPLAY_QUANTITY),
        (
            {"order_type": "iceberg", "price": "100", "display_quantity": "2"},
            VenueReason.BAD_DISPLAY_QUANTITY,
        ),
        ({"price": "100", "time_in_force": "GTD"}, VenueReason.MISSING_EXPIRE_AT),
        (
            {"price": "100", "time_in_force": "GTD", "expire_at": ARRIVAL},
            VenueReason.ALREADY_EXPIRED,
        ),
        ({"price": "101", "post_only": True}, VenueReason.POST_ONLY_WOULD_CROSS),
        (
            {"price": "100", "post_only": True, "time_in_force": "IOC"},
            VenueReason.POST_ONLY_CANNOT_REST,
        ),
        ({"order_type": "market", "post_only": True}, VenueReason.POST_ONLY_CANNOT_REST),
        ({"price": "100", "symbol": "ETH/USDT"}, VenueReason.UNKNOWN_SYMBOL),
        ({"price": "100", "venue": "binance"}, VenueReason.WRONG_VENUE),
    ],
)
def test_the_venue_refuses_orders_that_break_its_rules(venue, terms, reason):
    (report,) = arrive(venue, new("s-1", "buy", **{"quantity": "1", **terms}))
    assert (report.exec_type.value, report.status.value, code(report)) == (
        "reject",
        "rejected",
        reason,
    )
    assert (report.venue_order_id, report.leaves_quantity, report.timestamp) == (None, 0, ARRIVAL)


def test_venue_minimum_size():
    venue = SimulatedVenue(VenueConfig("sim", min_size=D(10)), [BTC])
    (report,) = arrive(venue, new("s-1", "buy", "9", price="100"))
    assert code(report) == VenueReason.BELOW_VENUE_MIN_SIZE


def test_post_only_order_that_would_not_cross_rests(venue):
    reports = arrive(venue, new("s-1", "buy", "1", price="100.5", post_only=True))
    assert executions(reports) == [("ack", D(0), None)]
    assert only_open(venue).price == D("100.5")


# --- cancel, replace, re-delivery ---------------------------------------------------------------


def test_cancel_ends_a_live_order_and_a_second_cancel_is_refused(venue):
    order = new("s-1", "buy", "1", price="99.5")
    arrive(venue, order)
    (cancelled,) = arrive(venue, amend(order, "cancel", T + 2_000))
    assert (cancelled.report_id, cancelled.exec_type.value, cancelled.status.value) == (
        "s-1:2",
        "cancel",
        "cancelled",
    )
    assert (cancelled.leaves_quantity, cancelled.reason, venue.open_orders()) == (0, None, [])
    (refused,) = arrive(venue, amend(order, "cancel", T + 4_000))
    # The order's own status, not "rejected": the order was not rejected, the cancel was.
    assert (refused.report_id, refused.exec_type.value, refused.status.value) == (
        "s-1:3",
        "reject",
        "cancelled",
    )
    assert code(refused) == VenueReason.ORDER_DONE


def test_cancel_of_an_order_the_venue_never_received_is_refused(venue):
    (refused,) = arrive(venue, amend(new("s-9", "buy", "1"), "cancel", T + 10))
    assert (refused.exec_type.value, refused.status.value, code(refused)) == (
        "reject",
        "rejected",
        VenueReason.UNKNOWN_ORDER,
    )


def test_cancel_of_a_filled_order_is_refused_with_its_totals(venue):
    order = new("s-1", "buy", "1", order_type="market")
    arrive(venue, order)
    (refused,) = arrive(venue, amend(order, "cancel", T + 2_000))
    assert (refused.status.value, refused.filled_quantity, refused.average_price) == (
        "filled",
        1,
        101,
    )


def resting_behind_two(venue: SimulatedVenue) -> Slice:
    """A buy of 4 at 100 with 2 left ahead of it, after a sale of 3 at 100."""
    order = new("s-1", "buy", "4", price="100")
    arrive(venue, order)
    market(venue, trade("100", "3", "sell", T + 1_500))
    assert only_open(venue).queue_ahead == 2
    return order


def test_replace_to_a_smaller_quantity_keeps_the_queue_position(venue):
    order = resting_behind_two(venue)
    (replaced,) = arrive(venue, amend(order, "replace", T + 2_000, quantity="3"))
    assert (replaced.exec_type.value, replaced.status.value, replaced.quantity) == (
        "replace",
        "accepted",  # still live at the venue, nothing filled: not an end
        3,
    )
    assert (only_open(venue).queue_ahead, only_open(venue).displayed) == (2, 3)


@pytest.mark.parametrize(
    ("terms", "price", "queue_ahead"),
    [
        ({"quantity": "6"}, D(100), 5),  # larger: behind the 5 shown at 100
        ({"price": "99"}, D(99), 10),  # new price: behind the 10 shown at 99
    ],
)
def test_replace_to_a_new_price_or_larger_quantity_loses_priority(venue, terms, price, queue_ahead):
    order = resting_behind_two(venue)
    assert executions(arrive(venue, amend(order, "replace", T + 2_000, **terms))) == [
        ("replace", D(0), None)
    ]
    assert (only_open(venue).price, only_open(venue).queue_ahead) == (price, queue_ahead)


def test_replace_to_a_crossing_price_takes_liquidity(venue):
    order = resting_behind_two(venue)
    reports = arrive(venue, amend(order, "replace", T + 2_000, price="101"))
    assert executions(reports) == [("replace", D(0), None), ("partial_fill", D(3), D(101))]
    assert reports[-1].liquidity.value == "taker"
    assert (only_open(venue).price, only_open(venue).displayed) == (D(101), 1)


@pytest.mark.parametrize(
    ("terms", "reason"),
    [
        ({"quantity": "2"}, VenueReason.REPLACE_BELOW_FILLED),
        ({"price": "100.25"}, VenueReason.PRICE_OFF_TICK),
    ],
)
def test_a_refused_replace_leaves_the_order_unchanged(venue, terms, reason):
    order = resting_behind_two(venue)
    market(venue, trade("100", "4", "sell", T + 1_800))  # fills 2
    (refused,) = arrive(venue, amend(order, "replace", T + 2_000, **terms))
    assert (refused.exec_type.value, refused.status.value, code(refused)) == (
        "reject",
        "partially_filled",
        reason,
    )
    assert (refused.quantity, refused.leaves_quantity) == (4, 2)
    assert (only_open(venue).quantity, only_open(venue).price) == (4, 100)


def test_replace_of_a_waiting_stop_moves_its_trigger(venue):
    order = new("s-1", "buy", "2", order_type="stop", stop_price="101.5")
    arrive(venue, order)
    arrive(venue, amend(order, "replace", T + 2_000, stop_price="102"))
    assert market(venue, trade("101.5", "1", "buy", T + 4_000)) == []
    # The prints at 101.5 and 102 took the asks at 101: the stop buys at 102.
    assert executions(market(venue, trade("102", "1", "buy", T + 5_000))) == [
        ("fill", D(2), D(102))
    ]


def test_a_re_delivered_slice_is_ignored(venue):
    order = new("s-1", "buy", "1", price="99.5")
    assert executions(arrive(venue, order)) == [("ack", D(0), None)]
    assert arrive(venue, order) == []
    cancel = amend(order, "cancel", T + 2_000)
    assert executions(arrive(venue, cancel)) == [("cancel", D(0), None)]
    assert arrive(venue, cancel) == []


# --- market data sources ------------------------------------------------------------------------


def quote(bid: str, bid_size: str, ask: str, ask_size: str, at: int) -> Quote:
    return Quote(
        symbol="BTC/USDT",
        venue="sim",
        bid_price=D(bid),
        bid_size=D(bid_size),
        ask_price=D(ask),
        ask_size=D(ask_size),
        timestamp=at,
    )


def test_quotes_give_the_top_of_book_until_depth_arrives():
    venue = SimulatedVenue(VENUE, [BTC])
    market(venue, quote("100", "5", "101", "3", T))
    reports = arrive(venue, new("s-1", "buy", "4", order_type="market"))
    assert executions(reports)[1:] == [("partial_fill", D(3), D(101)), ("expire", D(0), None)]
    # Depth arrives; 101 × 3 is re-stated unchanged, so what we took there stays taken.
    market(venue, BOOK)
    market(venue, quote("100", "5", "100.5", "50", T + 3_000))  # ignored: we have depth now
    later = new("s-2", "buy", "4", order_type="market", created_at=T + 3_010)
    assert executions(arrive(venue, later))[1:] == [("fill", D(4), D(102))]


def test_events_of_another_market_do_not_shape_the_book():
    venue = SimulatedVenue(VENUE, [BTC], market_venue="binance")
    market(venue, BOOK)  # venue "sim": ignored
    market(venue, BOOK.model_copy(update={"venue": "binance"}))
    reports = arrive(venue, new("s-1", "buy", "1", order_type="market"))
    assert executions(reports)[1:] == [("fill", D(1), D(101))]


def test_instruments_of_another_venue_are_refused():
    with pytest.raises(ValueError, match="listed on binance"):
        SimulatedVenue(VENUE, [Instrument("binance", "BTC/USDT", D("0.01"), D("0.001"))])


# --- arithmetic and ids ---------------------------------------------------------------------------


def test_long_decimals_stay_exact():
    eth = Instrument("sim", "ETH/USDT", tick_size=D("1e-12"), lot_size=D("1e-18"))
    venue = SimulatedVenue(VENUE, [eth])
    ask = PriceLevel(price=D("61250.123456789012"), quantity=D(1))
    venue.on_market(BOOK.model_copy(update={"symbol": "ETH/USDT", "bids": [], "asks": [ask]}))
    quantity = D("0.123456789012345678")
    order = new("s-1", "buy", str(quantity), order_type="market", symbol="ETH/USDT")
    fill = arrive(venue, order)[-1]
    with localcontext(EXACT):
        commission = quantity * ask.price * VENUE.taker_fee
    assert fill.commission == commission == D("7.561743568584925973660232056090136")
    assert len(commission.as_tuple().digits) > 28  # the default context would have rounded


@pytest.mark.parametrize(
    ("symbol", "currency"),
    [("BTC/USDT", "USDT"), ("BTC/USDT:USDT", "USDT"), ("ETH/BTC", "BTC"), ("IBM", "USD")],
)
def test_commission_is_in_the_quote_currency(symbol, currency):
    assert quote_currency(symbol) == currency


def test_ids_are_deterministic_per_slice_and_per_venue(venue):
    first = arrive(venue, new("s-1", "buy", "1", price="99.5"))
    second = arrive(venue, new("s-2", "buy", "1", price="99.5", created_at=T + 20))
    assert [(r.report_id, r.venue_order_id) for r in first + second] == [
        ("s-1:1", "sim-1"),
        ("s-2:1", "sim-2"),
    ]


def scripted_session() -> list[ExecutionReport]:
    """A morning of mixed orders and market data, the same every time."""
    venue = SimulatedVenue(VENUE, [BTC])
    inputs: list[MarketEvent | Slice | int] = [
        BOOK,
        new("s-1", "buy", "4", price="100"),
        new("s-2", "sell", "6", order_type="market", created_at=T + 20),
        new("s-3", "buy", "5", order_type="iceberg", price="99.5", display_quantity="1"),
        new("s-4", "sell", "2", order_type="stop", stop_price="99", created_at=T + 30),
        T + 2_000,
        trade("100", "7", "sell", T + 2_500),
        book("diff", T + 3_000, bids=[("99.5", "2"), ("100", "0")], asks=[("99.5", "3")]),
        trade("99", "4", None, T + 4_000),
        amend(new("s-3", "buy", "5"), SliceAction.CANCEL, T + 4_100),
        MIDNIGHT,
    ]
    reports: list[ExecutionReport] = []
    for item in inputs:
        if isinstance(item, int):
            reports += venue.advance(item)
        elif isinstance(item, Slice):
            reports += venue.submit(item)
        else:
            reports += venue.on_market(item)
    return checked(reports)


def test_the_same_inputs_give_the_same_reports():
    first = scripted_session()
    assert len(first) > 8
    assert scripted_session() == first
