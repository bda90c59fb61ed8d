"""Synthetic feed: deterministic, on the instrument's grid, a sane book, trades at the touch."""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import replace
from decimal import Decimal

import pytest

from fillstream.connectors.feeds import MarketEvent
from fillstream.connectors.feeds.synthetic import BTC_USDT, SyntheticParams, synthetic_events
from fillstream.domain.instruments import Instrument
from fillstream.schemas.models import BookUpdate, BookUpdateKind, Quote, Side, Trade

MINUTE = SyntheticParams()  # the defaults: one minute of BTC/USDT


@pytest.fixture(scope="module")
def minute() -> list[MarketEvent]:
    return list(synthetic_events(MINUTE, seed=7))


def test_a_seed_replays_the_same_market(minute):
    assert list(synthetic_events(MINUTE, seed=7)) == minute
    assert list(synthetic_events(MINUTE, seed=8)) != minute


def test_prices_on_tick_sizes_on_lots_and_never_a_crossed_book(minute):
    instrument = MINUTE.instrument
    for event in minute:
        record = event.record
        assert (record.symbol, record.venue) == ("BTC/USDT", "binance")
        if isinstance(record, Trade):
            assert instrument.is_on_tick(record.price)
            assert instrument.is_whole_lots(record.quantity) and record.quantity > 0
        elif isinstance(record, Quote):
            assert instrument.is_on_tick(record.bid_price) and instrument.is_on_tick(
                record.ask_price
            )
            assert instrument.is_whole_lots(record.bid_size) and record.bid_size > 0
            assert instrument.is_whole_lots(record.ask_size) and record.ask_size > 0
            assert record.bid_price < record.ask_price
        elif record.kind is BookUpdateKind.SNAPSHOT:
            bids = [level.price for level in record.bids]
            asks = [level.price for level in record.asks]
            assert len(bids) == len(asks) == MINUTE.levels
            assert bids == sorted(bids, reverse=True) and len(set(bids)) == len(bids)
            assert asks == sorted(asks) and len(set(asks)) == len(asks)
            assert bids[0] < asks[0]
            levels = record.bids + record.asks
            assert all(instrument.is_on_tick(level.price) for level in levels)
            assert all(instrument.is_whole_lots(level.quantity) for level in levels)


def test_time_runs_forward_within_the_window(minute):
    stamps = [event.timestamp for event in minute]
    assert stamps == sorted(stamps)
    assert MINUTE.start == stamps[0] and stamps[-1] < MINUTE.start + MINUTE.duration_us
    snapshots = [
        e
        for e in minute
        if isinstance(e.record, BookUpdate) and e.record.kind is BookUpdateKind.SNAPSHOT
    ]
    assert len(snapshots) == MINUTE.duration_us // MINUTE.snapshot_interval_us


def _apply(book: dict[str, dict[Decimal, Decimal]], update: BookUpdate) -> None:
    """A depth stream's rule: a snapshot replaces the book, a diff sets each level (0 removes)."""
    if update.kind is BookUpdateKind.SNAPSHOT:
        book["bids"] = {level.price: level.quantity for level in update.bids}
        book["asks"] = {level.price: level.quantity for level in update.asks}
        return
    for side, levels in (("bids", update.bids), ("asks", update.asks)):
        for level in levels:
            if level.quantity == 0:
                book[side].pop(level.price, None)
            else:
                book[side][level.price] = level.quantity


def test_the_diffs_keep_a_book_built_from_them_equal_to_every_snapshot(minute):
    book: dict[str, dict[Decimal, Decimal]] = {}
    ids: list[tuple[int | None, int | None]] = []
    compared = 0
    for event in minute:
        record = event.record
        if not isinstance(record, BookUpdate):
            continue
        if record.kind is BookUpdateKind.SNAPSHOT and book:
            assert book == {
                "bids": {level.price: level.quantity for level in record.bids},
                "asks": {level.price: level.quantity for level in record.asks},
            }
            compared += 1
        if record.kind is BookUpdateKind.DIFF:  # ids follow on: no gap, no overlap
            assert record.first_update_id == ids[-1][1] + 1
            assert record.last_update_id >= record.first_update_id
        ids.append((record.first_update_id, record.last_update_id))
        _apply(book, record)
    assert compared == MINUTE.duration_us // MINUTE.snapshot_interval_us - 1


def test_every_trade_prints_at_the_touch_of_the_book_the_diffs_show(minute):
    # A venue simulated on this market clears the levels a trade printed through: a trade
    # away from the published book would empty a side of its view.
    book: dict[str, dict[Decimal, Decimal]] = {}
    for event in minute:
        record = event.record
        if isinstance(record, BookUpdate):
            _apply(book, record)
        elif isinstance(record, Trade):
            side = "asks" if record.aggressor_side is Side.BUY else "bids"
            best = min(book[side]) if side == "asks" else max(book[side])
            assert (record.price, record.quantity <= book[side][best]) == (best, True)


def test_trades_hit_the_quoted_touch_and_take_at_most_what_it_shows(minute):
    touch: Quote | None = None
    for event in minute:
        if isinstance(event.record, Quote):
            touch = event.record
        elif isinstance(event.record, Trade):
            trade = event.record
            assert touch is not None
            if trade.aggressor_side is Side.BUY:
                assert (trade.price, trade.quantity <= touch.ask_size) == (touch.ask_price, True)
            else:
                assert (trade.price, trade.quantity <= touch.bid_size) == (touch.bid_price, True)
    sides = {e.record.aggressor_side for e in minute if isinstance(e.record, Trade)}
    assert sides == {Side.BUY, Side.SELL}


def test_trade_rate_and_sizes_are_realistic(minute):
    trades = [e.record for e in minute if isinstance(e.record, Trade)]
    # Poisson with a 50 ms mean over 60 s: 1,200 expected, sd about 35
    assert 1_000 < len(trades) < 1_400
    median = statistics.median(t.quantity for t in trades)
    assert Decimal("0.001") < median < Decimal("0.004")  # lognormal median 0.002 BTC
    assert all(abs(t.price - Decimal(60_000)) < 1_000 for t in trades)


def test_volatility_matches_the_parameter():
    params = replace(
        MINUTE,
        duration_us=24 * 3600 * 1_000_000,  # a day, a trade every 30 s on average
        mean_trade_interval_us=30_000_000,
        snapshot_interval_us=24 * 3600 * 1_000_000,
        annual_volatility=0.8,
    )
    trades = [e.record for e in synthetic_events(params, seed=3) if isinstance(e.record, Trade)]
    returns = [math.log(b.price / a.price) for a, b in itertools.pairwise(trades)]
    years = (trades[-1].timestamp - trades[0].timestamp) / (365.25 * 24 * 3600 * 1e6)
    realised = math.sqrt(sum(r * r for r in returns) / years)
    assert realised == pytest.approx(0.8, rel=0.1)


def test_another_instrument_keeps_its_own_grid():
    coarse = Instrument("sim", "ETH/USD", tick_size=Decimal("0.5"), lot_size=Decimal("0.1"))
    params = replace(MINUTE, instrument=coarse, initial_price=Decimal(3000), duration_us=5_000_000)
    events = list(synthetic_events(params, seed=1))
    assert {(e.record.symbol, e.record.venue) for e in events} == {("ETH/USD", "sim")}
    trades = [e.record for e in events if isinstance(e.record, Trade)]
    assert trades and all(
        coarse.is_on_tick(t.price) and coarse.is_whole_lots(t.quantity) for t in trades
    )


def test_default_instrument_is_binance_btc_usdt():
    assert (BTC_USDT.venue, BTC_USDT.symbol) == ("binance", "BTC/USDT")
    assert (BTC_USDT.tick_size, BTC_USDT.lot_size) == (Decimal("0.01"), Decimal("0.00001"))


@pytest.mark.parametrize(
    "change",
    [{"duration_us": 0}, {"levels": 0}, {"annual_volatility": -0.1}, {"max_spread_ticks": 0}],
)
def test_nonsense_parameters_are_refused(change):
    with pytest.raises(ValueError):
        replace(MINUTE, **change)
