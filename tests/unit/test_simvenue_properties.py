"""Properties of the simulated venue over random order flow and market data.

For every slice, across all its reports: the cumulative fields are the exact sums of the
executions (filled quantity, commission at the maker or taker fee, average price), leaves is
what remains while the order lives and 0 once it is final, nothing fills after that, every
report validates, report ids are unique, and the same inputs give the same reports.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Context, localcontext
from decimal import Decimal as D
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fillstream.connectors.simvenue import MarketEvent, SimulatedVenue
from fillstream.connectors.simvenue.exact import EXACT
from fillstream.connectors.simvenue.session import DAY_US
from fillstream.schemas.models import (
    BookUpdate,
    ExecType,
    ExecutionReport,
    Liquidity,
    OrderStatus,
    PriceLevel,
    Quote,
    Slice,
    Trade,
)
from tests.unit.test_simvenue import BOOK, BTC, VENUE, T, amend, new, quote

GRID = [D(98) + D("0.5") * step for step in range(11)]  # 98, 98.5, ..., 103
prices = st.sampled_from([*GRID, D("100.25")])  # one price off the tick grid
quantities = st.integers(1, 60).map(lambda tenths: D(tenths).scaleb(-1))
sizes = st.integers(0, 10).map(D)
levels = st.dictionaries(st.sampled_from(GRID), sizes, max_size=5)
# Mostly a few hundred µs apart (orders arrive 1,000 µs after they are sent); now and then half a
# day, so that DAY orders expire.
delays = st.integers(0, 99).map(lambda n: DAY_US // 2 if n == 0 else 40 * n)
orders = st.fixed_dictionaries(
    {
        "side": st.sampled_from(["buy", "sell"]),
        "quantity": quantities,
        "order_type": st.sampled_from(
            ["limit", "limit", "market", "stop", "stop_limit", "iceberg"]
        ),
        "price": prices,
        "stop_price": prices,
        "display_quantity": quantities,
        "time_in_force": st.sampled_from(["GTC", "GTC", "IOC", "FOK", "DAY", "GTD"]),
        "post_only": st.sampled_from([False] * 7 + [True]),
        "expire_at": st.integers(-1_000, 20_000),  # after the slice's created_at
    }
)
STEPS = {
    "new": st.tuples(st.just("new"), orders),
    "trade": st.tuples(
        st.just("trade"), st.sampled_from(GRID), quantities, st.sampled_from(["buy", "sell", None])
    ),
    "book": st.tuples(st.just("book"), st.sampled_from(["snapshot", "diff"]), levels, levels),
    "quote": st.tuples(
        st.just("quote"), st.sampled_from(GRID), sizes, st.sampled_from(GRID), sizes
    ),
    "cancel": st.tuples(st.just("cancel"), st.integers(0, 50)),
    "replace": st.tuples(st.just("replace"), st.integers(0, 50), quantities, prices),
    "resend": st.tuples(st.just("resend"), st.integers(0, 50)),
    "advance": st.tuples(st.just("advance")),
}
KINDS = ["new"] * 4 + ["trade"] * 3 + ["book"] * 2 + list(STEPS)
steps = st.tuples(delays, st.sampled_from(KINDS).flatmap(STEPS.__getitem__))

TOP_OF_BOOK = quote("100", "5", "101", "3", T)
AVERAGE = Context(prec=28, rounding=ROUND_HALF_EVEN)
FEES = {Liquidity.MAKER: VENUE.maker_fee, Liquidity.TAKER: VENUE.taker_fee}
EXECUTIONS = frozenset({ExecType.FILL, ExecType.PARTIAL_FILL})
FINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED}
)


def market_event(step: tuple[Any, ...], at: int) -> MarketEvent:
    common = {"symbol": "BTC/USDT", "venue": "sim", "timestamp": at}
    match step:
        case ("book", kind, bids, asks):
            return BookUpdate(
                kind=kind,
                bids=[PriceLevel(price=p, quantity=q) for p, q in bids.items()],
                asks=[PriceLevel(price=p, quantity=q) for p, q in asks.items()],
                **common,
            )
        case ("quote", bid, bid_size, ask, ask_size):
            return Quote(
                bid_price=bid, bid_size=bid_size, ask_price=ask, ask_size=ask_size, **common
            )
        case ("trade", price, quantity, aggressor):
            return Trade(
                trade_id=str(at), price=price, quantity=quantity, aggressor_side=aggressor, **common
            )
    raise AssertionError(step)


def run(opening: MarketEvent, flow: list[tuple[int, tuple[Any, ...]]]) -> list[ExecutionReport]:
    """Feed the flow to a fresh venue in time order, then let two days pass."""
    venue = SimulatedVenue(VENUE, [BTC])
    sent: list[Slice] = []
    reports = venue.on_market(opening)
    now = T
    for delay, step in flow:
        now += delay
        match step:
            case ("new", terms):
                terms = {**terms, "expire_at": now + terms["expire_at"]}
                sent.append(new(f"s-{len(sent)}", created_at=now, **terms))
                reports += venue.submit(sent[-1])
            case ("cancel", index) if sent:
                reports += venue.submit(amend(sent[index % len(sent)], "cancel", now))
            case ("replace", index, quantity, price) if sent:
                target = sent[index % len(sent)]
                reports += venue.submit(
                    amend(target, "replace", now, quantity=quantity, price=price)
                )
            case ("resend", index) if sent:
                reports += venue.submit(sent[index % len(sent)])  # a re-delivery
            case ("advance",):
                reports += venue.advance(now)
            case ("book" | "quote" | "trade", *_):
                reports += venue.on_market(market_event(step, now))
    return reports + venue.advance(now + 2 * DAY_US)


def assert_consistent(reports: list[ExecutionReport]) -> None:
    assert len({report.report_id for report in reports}) == len(reports)
    per_slice: dict[str, list[ExecutionReport]] = defaultdict(list)
    for report in reports:
        assert ExecutionReport.model_validate(report.model_dump()) == report
        per_slice[report.slice_id].append(report)
    with localcontext(EXACT):
        for history in per_slice.values():
            filled = notional = commission = D(0)
            final = False
            for report in history:
                if report.exec_type in EXECUTIONS:
                    assert not final and report.last_quantity > 0
                    assert report.last_price is not None and report.liquidity is not None
                    value = report.last_quantity * report.last_price
                    filled += report.last_quantity
                    notional += value
                    commission += value * FEES[report.liquidity]
                else:
                    assert (report.last_quantity, report.last_price) == (0, None)
                final = final or report.status in FINAL
                assert report.filled_quantity == filled <= report.quantity
                assert report.leaves_quantity == (0 if final else report.quantity - filled)
                assert report.commission == commission
                expected_average = AVERAGE.divide(notional, filled) if filled else None
                assert report.average_price == expected_average
            assert sum(report.exec_type is ExecType.ACK for report in history) <= 1


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([BOOK, TOP_OF_BOOK]), st.lists(steps, min_size=5, max_size=60))
def test_reports_stay_exactly_consistent_and_deterministic(opening, flow):
    reports = run(opening, flow)
    assert_consistent(reports)
    assert run(opening, flow) == reports
