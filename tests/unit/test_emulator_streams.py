"""The emulator's WebSocket streams in process: what each push says, on the synthetic market.

A client that starts from a REST snapshot and applies the depth diffs that follow it (by
Binance's rules) must hold the market's book; trades carry the REST tape's ids; a planned
skip leaves a gap in the update ids.
"""

from __future__ import annotations

from decimal import Decimal as D

from fillstream.connectors.emulator.streams import DEPTH, TOUCH, TRADE, SymbolStreams
from fillstream.schemas.models import Side
from tests.unit.test_emulator_exchange import PARAMS, SECOND, exchange

SYMBOL = "BTCUSDT"


def _apply(book: dict[D, D], levels: list[list[str]]) -> None:
    for price, size in levels:
        if D(size):
            book[D(price)] = D(size)
        else:
            book.pop(D(price), None)


def test_a_snapshot_and_the_diffs_after_it_are_the_market_book():
    ex = exchange()
    market = ex.market_of(SYMBOL)
    streams = SymbolStreams.start(SYMBOL, market)
    snapshot = ex.depth({"symbol": SYMBOL, "limit": "5000"})
    assert snapshot["lastUpdateId"] == streams.update_id
    bids = {D(p): D(q) for p, q in snapshot["bids"]}
    asks = {D(p): D(q) for p, q in snapshot["asks"]}
    last = snapshot["lastUpdateId"]
    kinds = set()
    for step in range(1, 6):
        ex.advance_to(PARAMS.start + step * SECOND)
        for kind, message in streams.changes(market):
            kinds.add(kind)
            if kind == DEPTH:
                assert message["U"] == last + 1 and message["u"] >= message["U"]
                last = message["u"]
                _apply(bids, message["b"])
                _apply(asks, message["a"])
        assert bids == dict(market.book.levels(Side.BUY))
        assert asks == dict(market.book.levels(Side.SELL))
    assert kinds == {DEPTH, TRADE, TOUCH}


def test_trades_follow_the_tape_ids_and_a_planned_skip_is_a_gap():
    ex = exchange()
    market = ex.market_of(SYMBOL)
    streams = SymbolStreams.start(SYMBOL, market)
    ex.advance_to(PARAMS.start + 2 * SECOND)
    trades = [m for kind, m in streams.changes(market) if kind == TRADE]
    tape = ex.agg_trades({"symbol": SYMBOL, "limit": "1000"})
    assert trades and [t["t"] for t in trades] == [t["a"] for t in tape[-len(trades) :]]
    assert [(t["p"], t["q"], t["T"]) for t in trades] == [
        (t["p"], t["q"], t["T"]) for t in tape[-len(trades) :]
    ]
    before = streams.update_id
    streams.skip += 1
    ex.advance_to(PARAMS.start + 4 * SECOND)
    (diff,) = [m for kind, m in streams.changes(market) if kind == DEPTH]
    assert diff["U"] == before + 2  # one id left out: a client must resync
