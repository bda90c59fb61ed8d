"""Slippage control: market orders and market children go as limits IOC at their collar.

Every figure below is worked by hand. Binance's BTC/USDT rules apply (engine.toml): tick 0.01,
lot 0.00001. The book at T: bids 60,000.00 × 0.6, 59,995.00 × 1 and 59,990.00 × 10; asks
60,001.00 × 5. The mid is 60,000.50, so a 1 bps sell collar is 60,000.50 × 0.9999 =
59,994.49995, rounded up onto the tick (away from crossing further): 59,994.50. The 59,990
level lies beyond it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from fillstream.config import load_config
from fillstream.connectors.feeds.events import MarketEvent
from fillstream.domain.instruments import Instrument
from fillstream.replay import run_replay
from fillstream.schemas.models import (
    BookUpdate,
    OrderType,
    ParentOrder,
    PriceLevel,
    Quote,
    Side,
    Signal,
    SliceAction,
    TimeInForce,
)
from fillstream.streams.execution.collar import (
    DEFAULT_MAX_SLIPPAGE_BPS,
    collar_price,
    max_slippage_bps,
)
from fillstream.streams.risk.limits import RiskConfig
from fillstream.streams.risk.market import reference_of
from fillstream.streams.stages.risk import RiskStage

T = 1723161300_000000
SECOND = 1_000_000
TICK = Instrument(venue="binance", symbol="BTC/USDT", tick_size=D("0.01"), lot_size=D("0.00001"))


def test_the_collar_is_reference_times_one_plus_or_minus_bps_rounded_towards_the_reference():
    reference = D("61687.715")
    # buy: 61,687.715 × 1.0001 = 61,693.8837715, down onto the tick
    assert collar_price(Side.BUY, reference, D(1), TICK) == D("61693.88")
    # sell: 61,687.715 × 0.9999 = 61,681.5462285, up onto the tick
    assert collar_price(Side.SELL, reference, D(1), TICK) == D("61681.55")
    # without an instrument nothing is rounded
    assert collar_price(Side.SELL, D("100"), D("25"), None) == D("99.75")
    assert collar_price(Side.BUY, D("100"), D("25"), None) == D("100.25")


def _parent(parameters: dict[str, str], configured: D | None) -> ParentOrder:
    signal = Signal(
        signal_id="s",
        strategy_id="st",
        account_id="acct-1",
        symbol="BTC/USDT",
        side="sell",
        quantity=D(1),
        order_type="market",
        algorithm_parameters=parameters,
        created_at=T,
    )
    return ParentOrder(order_id="o-s", signal=signal, max_slippage_bps=configured, approved_at=T)


def test_the_signals_parameter_wins_over_the_risk_config_which_wins_over_the_default():
    assert max_slippage_bps(_parent({"max_slippage_bps": "3"}, D(7))) == D(3)
    assert max_slippage_bps(_parent({}, D(7))) == D(7)
    assert max_slippage_bps(_parent({}, None)) == DEFAULT_MAX_SLIPPAGE_BPS == D(50)


def test_risk_carries_the_accounts_and_symbols_collar_on_the_approved_order():
    instruments = load_config().instruments
    config = RiskConfig.from_dict(
        {
            "defaults": {"max_slippage_bps": "20"},
            "accounts": {"acct-1": {"symbols": {"BTC/USDT": {"max_slippage_bps": "4"}}}},
        },
        instruments,
    )
    risk = RiskStage(config)
    risk.handle("market.reference", reference_of(BOOK[1].record), T)
    approved = {}
    for account in ("acct-1", "acct-2"):
        raw = _parent({}, None).signal.model_dump(mode="json") | {
            "signal_id": account,
            "account_id": account,
        }
        [emit] = risk.handle("signals", raw, T)
        approved[account] = emit.record.max_slippage_bps
    assert approved == {"acct-1": D(4), "acct-2": D(20)}


def _market(at: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> list:
    levels = {
        side: [PriceLevel(price=D(p), quantity=D(q)) for p, q in book]
        for side, book in (("bids", bids), ("asks", asks))
    }
    book = BookUpdate(symbol="BTC/USDT", venue="binance", kind="snapshot", timestamp=at, **levels)
    quote = Quote(
        symbol="BTC/USDT",
        venue="binance",
        bid_price=D(bids[0][0]),
        bid_size=D(bids[0][1]),
        ask_price=D(asks[0][0]),
        ask_size=D(asks[0][1]),
        timestamp=at,
    )
    return [MarketEvent.of(book), MarketEvent.of(quote)]


BOOK = _market(T, [("60000", "0.6"), ("59995", "1"), ("59990", "10")], [("60001", "5")])
LATER = [T + n * SECOND for n in range(1, 30)]


def _signal(**fields: object) -> dict:
    return {
        "signal_id": "collar",
        "strategy_id": "st",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "exchange": "binance",
        "side": "sell",
        "quantity": "3",
        "order_type": "market",
        "algorithm_parameters": {"max_slippage_bps": "1"},
        "created_at": T,
    } | fields


def _run(signal: dict, market: list):
    return run_replay(load_config(), market, [signal])


def test_a_direct_market_sell_fills_inside_its_collar_then_is_cancelled_with_the_reason():
    # the same book every second after, so the venue's clock moves on
    market = BOOK + [
        e for at in LATER[:2] for e in _market(at, [("59990", "10")], [("60001", "5")])
    ]
    replay = _run(_signal(), market)
    [child] = replay.records["slices"]
    assert (child.order_type, child.time_in_force) == (OrderType.LIMIT, TimeInForce.IOC)
    assert (child.price, child.collar_reference) == (D("59994.50"), D("60000.5"))
    [result] = replay.results()
    # 0.6 at 60,000 and 1 at 59,995 are inside; 1.4 would trade at 59,990, beyond
    assert [(f["quantity"], f["price"]) for f in result["fills"]] == [
        (D("0.6"), D("60000")),
        (D("1"), D("59995")),
    ]
    assert (result["status"], result["filled_quantity"]) == ("cancelled", D("1.6"))
    end = replay.records["fills"][-1]
    assert (end.exec_type.value, end.status.value, end.leaves_quantity) == (
        "cancel",
        "cancelled",
        D(0),
    )
    assert end.reason == (
        "SLIPPAGE_COLLAR: the remaining 1.4 would trade beyond 59994.50, the slippage collar "
        "from the reference price 60000.5"
    )
    final = replay.records["orders.state"][-1]
    assert final.status.value == "cancelled" and "SLIPPAGE_COLLAR" in final.reason


def test_a_collared_algorithm_child_is_cut_at_its_collar_and_the_parent_keeps_its_schedule():
    # A twap of 2 in two slices 10 s apart, on a book without the 59,995 level. The first
    # child (1) takes 0.6 at 60,000 and is cut at its collar 59,994.50. Until the next quote
    # shows the bid gone, the desk still sees 60,000 and tries again: cut too, nothing filled.
    # From 1 s the mid is 59,995.50 and a child's collar 59,995.5 × 0.9999 = 59,989.50045,
    # up to 59,989.51: the 0.4 behind schedule fills at 59,990, then at 10 s the second 1.
    book = _market(T, [("60000", "0.6"), ("59990", "10")], [("60001", "5")])
    after = [e for at in LATER for e in _market(at, [("59990", "10")], [("60001", "5")])]
    parameters = {"max_slippage_bps": "1", "duration_seconds": "20", "slices": "2"}
    replay = _run(
        _signal(quantity="2", algorithm="twap", algorithm_parameters=parameters), book + after
    )
    children = {s.slice_id: s for s in replay.records["slices"] if s.action is SliceAction.NEW}
    ends = {
        r.slice_id: r for r in replay.records["fills"] if r.status.value in {"cancelled", "filled"}
    }
    cut = [slice_id for slice_id, end in ends.items() if end.status.value == "cancelled"]
    assert cut == ["o-collar-1", "o-collar-2", "o-collar-3"]
    assert ends["o-collar-1"].reason == (
        "SLIPPAGE_COLLAR: the remaining 0.40000 would trade beyond 59994.50, the slippage "
        "collar from the reference price 60000.5"
    )
    assert all(ends[slice_id].reason.startswith("SLIPPAGE_COLLAR:") for slice_id in cut)
    assert [(c.quantity, c.price, c.collar_reference) for c in children.values()][3:] == [
        (D("0.4"), D("59989.51"), D("59995.5")),
        (D("1"), D("59989.51"), D("59995.5")),
    ]
    assert children["o-collar-5"].created_at == T + 10 * SECOND  # the schedule's second slice
    [result] = replay.results()
    assert (result["status"], result["filled_quantity"]) == ("filled", D("2"))
    assert [(f["quantity"], f["price"]) for f in result["fills"]] == [
        (D("0.6"), D("60000")),
        (D("0.4"), D("59990")),
        (D("1"), D("59990")),
    ]


@pytest.mark.parametrize("time_in_force", ["GTC", "DAY"])
def test_a_stop_goes_as_a_stop_limit_collared_from_its_stop_price(time_in_force):
    replay = _run(_signal(order_type="stop", stop_price="59995", time_in_force=time_in_force), BOOK)
    [child] = replay.records["slices"]
    # 59,995 × 0.9999 = 59,989.0005, up onto the tick
    assert (child.order_type, child.price, child.stop_price, child.collar_reference) == (
        OrderType.STOP_LIMIT,
        D("59989.01"),
        D("59995"),
        D("59995"),
    )
    # a DAY stop keeps its day to wait in; any other waits as IOC, to end once triggered
    assert child.time_in_force is (TimeInForce.DAY if time_in_force == "DAY" else TimeInForce.IOC)


def test_without_a_parameter_the_desk_default_applies():
    config = load_config()
    assert config.risk.limits_for("acct-1", "BTC/USDT").max_slippage_bps is None
    replay = run_replay(replace(config), BOOK, [_signal(algorithm_parameters={})])
    [child] = replay.records["slices"]
    # 60,000.5 × (1 - 50/10,000) = 59,700.4975, up onto the tick
    assert child.price == D("59700.50")
