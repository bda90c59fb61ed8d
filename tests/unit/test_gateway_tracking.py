"""Order tracking over ccxt snapshots and trade lists, worked out by hand.

The slice buys 1 BTC at 100 on binance; the venue calls the order "42".
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fillstream.connectors.gateway.tracking import OrderTracker, TrackingError, trade_id_of
from fillstream.schemas.models import ExecType, ExecutionReport, OrderStatus, Slice

T_MS = 1_723_204_800_000
NOW = T_MS * 1000 + 999
SLICE = Slice(
    slice_id="o-sig-1-0",
    order_id="o-sig-1",
    signal_id="sig-1",
    account_id="acct",
    symbol="BTC/USDT",
    venue="binance",
    action="new",
    sequence=0,
    side="buy",
    quantity=D("1"),
    order_type="limit",
    price=D("100"),
    created_at=T_MS * 1000,
)


def _trade(id_: str, amount: float, price: float, fee: float, at: int, **extra: Any) -> dict:
    return {
        "id": id_,
        "order": "42",
        "symbol": "BTC/USDT",
        "amount": amount,
        "price": price,
        "fee": {"cost": fee, "currency": "USDT"},
        "takerOrMaker": "taker",
        "timestamp": T_MS + at,
    } | extra


def _order(status: str, filled: float, trades: list[dict] | None = None) -> dict:
    return {
        "id": "42",
        "clientOrderId": "o-sig-1-0",
        "status": status,
        "filled": filled,
        "amount": 1.0,
        "timestamp": T_MS,
        "lastUpdateTimestamp": T_MS + 50,
        "trades": trades or [],
    }


def _facts(reports: list[ExecutionReport]) -> list[tuple]:
    return [
        (
            r.report_id,
            r.exec_type,
            r.status,
            r.last_quantity,
            r.filled_quantity,
            r.leaves_quantity,
            r.average_price,
            r.commission,
        )
        for r in reports
    ]


T1 = _trade("t1", 0.3, 100.0, 0.03, 1)
T2 = _trade("t2", 0.2, 99.5, 0.0199, 20)
T3 = _trade("t3", 0.1, 99.0, 0.0099, 40, takerOrMaker="maker")
OTHER = _trade("t9", 0.5, 99.0, 0.05, 30, order="43")
ETH_42 = _trade("t8", 0.5, 9.0, 0.05, 30, symbol="ETH/USDT")  # ETH's own order 42

ACK = ("o-sig-1-0#ack", ExecType.ACK, OrderStatus.ACCEPTED, D(0), D(0), D(1), None, D(0))
FILL1 = (
    "o-sig-1-0#trade:t1",
    ExecType.PARTIAL_FILL,
    OrderStatus.PARTIALLY_FILLED,
    D("0.3"),
    D("0.3"),
    D("0.7"),
    D("100"),
    D("0.03"),
)
FILL2 = (
    "o-sig-1-0#trade:t2",
    ExecType.PARTIAL_FILL,
    OrderStatus.PARTIALLY_FILLED,
    D("0.2"),
    D("0.5"),
    D("0.5"),
    D("99.8"),
    D("0.0499"),
)
AVERAGE3 = D("99.66666666666666666666666667")  # 59.8 / 0.6 to 28 digits
FILL3 = (
    "o-sig-1-0#trade:t3",
    ExecType.PARTIAL_FILL,
    OrderStatus.PARTIALLY_FILLED,
    D("0.1"),
    D("0.6"),
    D("0.4"),
    AVERAGE3,
    D("0.0598"),
)


def test_each_trade_is_reported_once_and_the_cancel_waits_for_all_of_them() -> None:
    tracker = OrderTracker(SLICE, "binance")
    assert _facts(tracker.on_order(_order("open", 0.3, [T1]), NOW)) == [ACK, FILL1]
    assert tracker.on_order(_order("open", 0.3), NOW) == []  # nothing new
    assert _facts(tracker.on_trades([T1, OTHER, ETH_42, T2], NOW)) == [FILL2]
    assert tracker.on_order(_order("canceled", 0.6), NOW) == []  # t3 is still unseen
    assert tracker.missing_quantity == D("0.1")
    reports = tracker.on_trades([T1, T2, T3], NOW)
    end = ("o-sig-1-0#end", ExecType.CANCEL, OrderStatus.CANCELLED, D(0), D("0.6"), D(0))
    assert _facts(reports) == [FILL3, (*end, AVERAGE3, D("0.0598"))]
    assert [r.timestamp for r in reports] == [(T_MS + 40) * 1000, (T_MS + 50) * 1000]
    assert reports[0].liquidity == "maker" and reports[0].last_price == D("99")
    assert tracker.final and tracker.trade_ids == {"t1", "t2", "t3"}
    assert (
        tracker.on_trades([T3], NOW) == [] and tracker.on_order(_order("canceled", 0.6), NOW) == []
    )


def test_a_full_fill_ends_with_the_fill_itself() -> None:
    tracker = OrderTracker(SLICE, "binance")
    last = _trade("t4", 0.7, 101.0, 0.0707, 5)
    reports = tracker.on_order(_order("closed", 1.0, [T1, last]), NOW)
    assert [(r.exec_type, r.status, r.leaves_quantity) for r in reports] == [
        (ExecType.ACK, OrderStatus.ACCEPTED, D(1)),
        (ExecType.PARTIAL_FILL, OrderStatus.PARTIALLY_FILLED, D("0.7")),
        (ExecType.FILL, OrderStatus.FILLED, D(0)),
    ]
    assert reports[-1].average_price == D("100.7") and reports[-1].commission == D("0.1007")
    assert tracker.final


def test_a_trade_without_a_time_takes_its_orders_last_update_not_the_gateways_clock() -> None:
    # Binance's create answer lists its fills without times; they happened by the order's
    # transaction, which is the venue's time (a recording's, against the emulator)
    tracker = OrderTracker(SLICE, "binance")
    untimed = _trade("t9", 1.0, 100.0, 0.1, 0, timestamp=None)
    reports = tracker.on_order(_order("closed", 1.0, [untimed]), NOW)
    assert [r.timestamp for r in reports] == [T_MS * 1000, (T_MS + 50) * 1000]
    assert NOW != (T_MS + 50) * 1000


def test_a_closed_order_short_of_its_quantity_expires_with_a_reason() -> None:
    tracker = OrderTracker(SLICE, "binance")
    reports = tracker.on_order(_order("closed", 0.3, [T1]), NOW)
    assert reports[-1].exec_type is ExecType.EXPIRE and reports[-1].status is OrderStatus.EXPIRED
    assert (
        reports[-1].reason == "CLOSED_UNFILLED: the venue closed the order with 0.7 of 1 unfilled"
    )


def test_an_order_the_gateway_cancelled_at_its_expiry_ends_as_expired() -> None:
    tracker = OrderTracker(SLICE, "binance")
    tracker.expiring = "EXPIRE_AT_REACHED: a GTD order expires at its expire_at"
    ack, end = tracker.on_order(_order("canceled", 0), NOW)
    assert ack.exec_type is ExecType.ACK
    assert (end.exec_type, end.status, end.leaves_quantity, end.reason) == (
        ExecType.EXPIRE,
        OrderStatus.EXPIRED,
        D(0),
        tracker.expiring,
    )


def test_a_rejected_order_is_one_reject() -> None:
    reports = OrderTracker(SLICE, "binance").on_order(_order("rejected", 0), NOW)
    assert [(r.exec_type, r.status, r.reason) for r in reports] == [
        (
            ExecType.REJECT,
            OrderStatus.REJECTED,
            "VENUE_REJECTED: the venue reports the order rejected",
        )
    ]


def test_trades_wait_for_the_venue_order_id_and_ack_first() -> None:
    tracker = OrderTracker(SLICE, "binance")
    assert tracker.on_trades([T1], NOW) == []
    tracker.venue_order_id = "42"
    assert [r.exec_type for r in tracker.on_trades([T1], NOW)] == [
        ExecType.ACK,
        ExecType.PARTIAL_FILL,
    ]


def test_a_restarted_tracker_publishes_only_what_is_new() -> None:
    first = OrderTracker(SLICE, "binance")
    published = first.on_order(_order("open", 0.3, [T1]), NOW) + first.on_trades([T2], NOW)
    resumed = OrderTracker.resume(SLICE, "binance", published)
    assert resumed.venue_order_id == "42" and resumed.filled == D("0.5")
    assert _facts(resumed.on_trades([T1, T2, T3], NOW)) == [FILL3]


def test_contradictions_are_errors() -> None:
    tracker = OrderTracker(SLICE, "binance")
    with pytest.raises(TrackingError, match="not slice"):
        tracker.on_order(_order("open", 0) | {"clientOrderId": "o-sig-9-0"}, NOW)
    with pytest.raises(TrackingError, match=r"would fill 1\.3"):
        tracker.on_order(_order("open", 1.3, [T1, _trade("t5", 1.0, 100.0, 0.1, 2)]), NOW)


def test_report_ids_give_back_the_trade_id() -> None:
    assert trade_id_of("o-sig-1-0#trade:123") == "123"
    assert trade_id_of("o-sig-1-0#ack") is None


@given(
    st.lists(st.integers(1, 5), min_size=1, max_size=8).filter(lambda lots: sum(lots) <= 10),
    st.randoms(use_true_random=False),
)
def test_any_delivery_order_with_repeats_reports_each_trade_once(lots: list[int], rng: Any) -> None:
    """Trades in lots of 0.1 arrive in random batches, repeated and shuffled."""
    trades = [_trade(f"t{n}", n_lots / 10, 100.0, 0.0, n) for n, n_lots in enumerate(lots)]
    deliveries = [rng.sample(trades, rng.randint(1, len(trades))) for _ in range(6)] + [trades]
    tracker = OrderTracker(SLICE, "binance")
    tracker.venue_order_id = "42"
    reports = [r for batch in deliveries for r in tracker.on_trades(batch, NOW)]
    fills = [r for r in reports if r.exec_type in {ExecType.PARTIAL_FILL, ExecType.FILL}]
    assert sorted(trade_id_of(r.report_id) for r in fills) == sorted(t["id"] for t in trades)
    assert [r.filled_quantity for r in fills] == sorted(r.filled_quantity for r in fills)
    assert fills[-1].filled_quantity == sum(D(n) / 10 for n in lots)
    assert sum(r.last_quantity for r in fills) == fills[-1].filled_quantity
