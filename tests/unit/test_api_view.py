"""The API's view of the engine: folding records, and listing orders (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fillstream.api.paging import OrderFilter, page, select_orders
from fillstream.api.view import EngineView, apply
from fillstream.schemas.models import OrderStatus, Side

T0 = 1_723_161_300_000_000


def order(order_id: str, created_at: int = T0, version: int = 1, **changes) -> dict:
    record = {
        "order_id": order_id,
        "signal_id": order_id.removeprefix("o-"),
        "strategy_id": "s-1",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "order_type": "market",
        "quantity": Decimal("1"),
        "status": "new",
        "filled_quantity": Decimal(0),
        "leaves_quantity": Decimal(1),
        "commission": Decimal(0),
        "version": version,
        "created_at": created_at,
        "updated_at": created_at,
    }
    return record | changes


def report(report_id: str, order_id: str, slice_id: str, timestamp: int, **changes) -> dict:
    record = {
        "report_id": report_id,
        "order_id": order_id,
        "signal_id": order_id.removeprefix("o-"),
        "slice_id": slice_id,
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "venue": "binance",
        "side": "buy",
        "exec_type": "ack",
        "status": "accepted",
        "quantity": Decimal(1),
        "last_quantity": Decimal(0),
        "filled_quantity": Decimal(0),
        "leaves_quantity": Decimal(1),
        "commission": Decimal(0),
        "timestamp": timestamp,
    }
    return record | changes


def test_an_orders_latest_version_wins_whatever_the_arrival_order():
    view = EngineView()
    apply(view, "orders.state", order("o-a", version=2, status="filled"))
    apply(view, "orders.state", order("o-a", version=1, status="new"))
    assert view.orders["o-a"].status is OrderStatus.FILLED


def test_executions_are_kept_by_order_and_slice_and_counted_once():
    view = EngineView()
    fill = report("r-2", "o-a", "o-a-1", T0 + 5, exec_type="fill", last_quantity=Decimal(1))
    for record in (report("r-1", "o-a", "o-a-1", T0 + 2), fill, fill):
        apply(view, "fills", record)
    apply(view, "fills", report("r-3", "o-a", "o-a-2", T0 + 9))
    assert [r.report_id for r in view.reports_of_slice("o-a-1")] == ["r-1", "r-2"]
    assert sorted(view.executions["o-a"]) == ["r-1", "r-2", "r-3"]
    assert view.reports_of_slice("o-nope-1") == []


def test_quotes_and_books_are_kept_per_symbol_and_venue():
    view = EngineView()
    quote = {
        "symbol": "IBM",
        "venue": "nyse",
        "bid_price": Decimal("186.1"),
        "bid_size": Decimal(300),
        "ask_price": Decimal("186.2"),
        "ask_size": Decimal(100),
        "timestamp": T0,
    }
    apply(view, "market.quotes", quote)
    book = {
        "symbol": "IBM",
        "venue": "arca",
        "kind": "snapshot",
        "bids": [{"price": Decimal("186.0"), "quantity": Decimal(5)}],
        "asks": [{"price": Decimal("186.3"), "quantity": Decimal(7)}],
        "timestamp": T0 + 1,
    }
    apply(view, "market.book", book)
    assert view.quotes["IBM"]["nyse"].ask_price == Decimal("186.2")
    assert list(view.books["IBM"]["nyse"].levels(Side.BUY)) == [(Decimal("186.1"), 300)]
    assert list(view.books["IBM"]["arca"].levels(Side.SELL)) == [(Decimal("186.3"), 7)]
    assert view.book_times[("IBM", "arca")] == T0 + 1


def test_an_approved_orders_risk_score_is_kept_by_its_order_id():
    view = EngineView()
    signal = {
        "signal_id": "sig-7",
        "strategy_id": "s-1",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": Decimal("9"),
        "order_type": "market",
        "created_at": T0,
    }
    # the second of three 9 BTC buys against max_position 25: 18 / 25 (docs/RISK.md)
    apply(
        view,
        "orders.approved",
        {"order_id": "o-sig-7", "signal": signal, "approved_at": T0, "risk_score": 0.72},
    )
    apply(view, "orders.approved", {"order_id": "o-sig-8", "signal": signal, "approved_at": T0})
    assert view.risk_scores == {"o-sig-7": 0.72, "o-sig-8": None}


def test_a_rejection_is_found_by_the_order_id_risk_would_have_given():
    view = EngineView()
    rejection = {
        "signal_id": "sig-9",
        "account_id": "acct-1",
        "reason_code": "MAX_ORDER_QUANTITY",
        "reason": "too big",
        "stage": "risk",
        "rejected_at": T0,
    }
    apply(view, "orders.rejected", rejection)
    assert view.rejections["o-sig-9"].reason_code == "MAX_ORDER_QUANTITY"


def test_the_latest_value_of_each_metrics_series():
    view = EngineView()
    for value in (1.0, 7.0):
        metric = {
            "processor": "risk",
            "name": "records_in_total",
            "kind": "counter",
            "value": value,
            "labels": {"topic": "signals", "worker": "h:1"},
            "timestamp": T0,
        }
        apply(view, "metrics", metric)
    (only,) = view.series.values()
    assert only.value == 7.0


def _orders():
    view = EngineView()
    rows = [
        order("o-1", T0 + 1, status="filled"),
        order("o-2", T0 + 3, account_id="acct-2"),
        order("o-3", T0 + 3, side="sell", algorithm="twap"),
        order("o-4", T0 + 2, status="cancelled", symbol="IBM"),
    ]
    for row in rows:
        apply(view, "orders.state", row)
    return view.orders.values()


def test_orders_come_newest_first_ties_by_id():
    assert [o.order_id for o in select_orders(_orders(), OrderFilter())] == [
        "o-2",
        "o-3",
        "o-4",
        "o-1",
    ]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (
            OrderFilter(statuses=frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED})),
            ["o-4", "o-1"],
        ),
        (OrderFilter(account_id="acct-2"), ["o-2"]),
        (OrderFilter(side=Side.SELL), ["o-3"]),
        (OrderFilter(algorithm="direct"), ["o-2", "o-4", "o-1"]),
        (OrderFilter(symbol="IBM"), ["o-4"]),
        (OrderFilter(created_from=T0 + 2, created_to=T0 + 3), ["o-4"]),
    ],
)
def test_every_filter_given_must_match(where, expected):
    assert [o.order_id for o in select_orders(_orders(), where)] == expected


def test_pages_say_where_the_next_one_starts():
    items = list(range(7))
    first = page(items, limit=3, offset=0)
    assert (first.items, first.total, first.next_offset) == ([0, 1, 2], 7, 3)
    last = page(items, limit=3, offset=6)
    assert (last.items, last.next_offset) == ([6], None)
    with pytest.raises(ValueError):
        page(items, limit=0, offset=0)
