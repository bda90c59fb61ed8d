"""Reconciliation of the engine's orders with the venue's, each difference listed once."""

from __future__ import annotations

from fillstream.connectors.gateway.reconcile import (
    EngineOrder,
    MissedFill,
    Reconciliation,
    reconcile,
)

BTC, ETH = "BTC/USDT", "ETH/USDT"


def _order(id_: str, client: str, symbol: str = BTC) -> dict:
    return {"id": id_, "clientOrderId": client, "symbol": symbol, "status": "open"}


def _trade(id_: str, order: str, at: int, symbol: str = BTC) -> dict:
    return {
        "id": id_,
        "order": order,
        "symbol": symbol,
        "amount": 0.1,
        "price": 100.0,
        "timestamp": at,
    }


ENGINE = [
    EngineOrder("s-1", BTC, "11", open=True),  # open at both
    EngineOrder("s-2", BTC, "12", open=True),  # gone from the venue
    EngineOrder("s-3", BTC, None, open=True),  # ack lost, open at the venue
    EngineOrder("s-4", BTC, "14", open=False),  # finished, but still open at the venue
    EngineOrder("s-5", ETH, "11", open=False),  # finished; ETH's order 11 is not BTC's
]
VENUE_OPEN = [
    _order("11", "s-1"),
    _order("13", "s-3"),
    _order("14", "s-4"),
    _order("99", "manual-1"),
    _order("11", "s-1"),  # a page repeated
]
TRADES = [
    _trade("t1", "11", 5),  # s-1, published
    _trade("t2", "11", 6),  # s-1, missed
    _trade("t3", "13", 4),  # s-3 through the venue's open order
    _trade("t1", "11", 3, symbol=ETH),  # s-5's: same ids as BTC's t1, another symbol
    _trade("t4", "98", 7),  # nobody's
    _trade("t2", "11", 6),  # repeated
]


def test_every_difference_is_listed_once() -> None:
    report = reconcile(ENGINE, VENUE_OPEN, TRADES, {("s-1", "t1")})
    assert report == Reconciliation(
        unknown_orders=(_order("14", "s-4"), _order("99", "manual-1")),
        missing_orders=("s-2",),
        missed_fills=(
            MissedFill("s-5", _trade("t1", "11", 3, symbol=ETH)),
            MissedFill("s-3", _trade("t3", "13", 4)),
            MissedFill("s-1", _trade("t2", "11", 6)),
        ),
        unattributed_trades=(_trade("t4", "98", 7),),
    )
    assert not report.clean


def test_agreement_is_clean() -> None:
    engine = [EngineOrder("s-1", BTC, "11", open=True)]
    report = reconcile(engine, [_order("11", "s-1")], [_trade("t1", "11", 1)], {("s-1", "t1")})
    assert report.clean
