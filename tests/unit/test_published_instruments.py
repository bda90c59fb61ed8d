"""Instrument rules a venue publishes on `venue.instruments` override the configured ones for
that venue and symbol, in risk, the router and the executor, and survive a restart."""

from __future__ import annotations

from decimal import Decimal as D

from fillstream.config import load_config
from fillstream.domain.instruments import Instrument, InstrumentBook, PublishedRules
from fillstream.schemas.models import (
    ClockTick,
    InstrumentRules,
    ParentOrder,
    ReferencePrice,
    Signal,
)
from fillstream.streams.execution.parents import Rules
from fillstream.streams.memory import Memory
from fillstream.streams.stages.executor import ExecutorStage
from fillstream.streams.stages.risk import RiskStage
from fillstream.streams.stages.router import RouterStage

T = 1723161300000000

# The shipped configuration lists binance BTC/USDT in lots of 0.00001; the venue says 0.001.
COARSE = Instrument("binance", "BTC/USDT", D("0.1"), D("0.001"), D("0.001"), D("10"))


def rules(instrument: Instrument = COARSE) -> InstrumentRules:
    return instrument.to_rules("ccxt:binance", T)


def signal(quantity: str, **terms: object) -> Signal:
    fields = {
        "signal_id": f"s-{quantity}",
        "strategy_id": "s",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": quantity,
        "order_type": "market",
        "exchange": "binance",
        "created_at": T,
    }
    return Signal.model_validate(fields | terms)


def test_the_record_round_trips_and_names_its_instrument():
    record = rules()
    assert record.instrument_id == "binance:BTC/USDT"
    assert Instrument.from_rules(InstrumentRules.model_validate(record.model_dump())) == COARSE


def test_published_rules_replace_the_configured_ones_only_for_their_venue_and_symbol():
    configured = Instrument("binance", "BTC/USDT", D("0.01"), D("0.00001"))
    other = Instrument("bybit", "BTC/USDT", D("0.01"), D("0.00001"))
    base = InstrumentBook.of([configured, other])
    published = PublishedRules()
    assert published.over(base) is base  # nothing published: the configuration itself
    published.learn(COARSE)
    merged = published.over(base)
    assert merged.get("binance", "BTC/USDT") == COARSE
    assert merged.get("bybit", "BTC/USDT") == other
    assert published.over(base) is merged  # made once per change


def test_risk_refuses_what_the_venues_own_lot_size_refuses_and_keeps_it_after_a_restart():
    config = load_config()
    stage = RiskStage(config.risk)
    price = ReferencePrice(symbol="BTC/USDT", venue="binance", last_price=D("61000"), timestamp=T)
    stage.handle("market.reference", price, T)
    odd = signal("0.0105").model_dump()  # whole lots of 0.00001, not of 0.001
    (before,) = stage.handle("signals", odd, T)
    assert before.topic == "orders.approved"

    assert stage.handle("venue.instruments", rules(), T) == []
    (after,) = stage.handle("signals", signal("0.0105", signal_id="s-2").model_dump(), T)
    assert after.topic == "orders.rejected"
    assert "lot size 0.001" in after.record.reason

    restarted = RiskStage(config.risk)
    Memory(restarted).restore(Memory(stage).changes()[0])
    (again,) = restarted.handle("signals", signal("0.0105", signal_id="s-3").model_dump(), T)
    assert again.topic == "orders.rejected"


def test_a_symbol_only_the_venue_lists_becomes_routable():
    config = load_config()
    router = RouterStage(config.venues, config.instruments)
    parent = ParentOrder(
        order_id="o-1", signal=signal("1", symbol="SOL/USDT", exchange=None), approved_at=T
    )
    (before,) = router.handle("orders.approved", parent, T)
    assert (before.topic, before.record.reason_code) == ("orders.rejected", "NO_VENUE")

    sol = Instrument("binance", "SOL/USDT", D("0.01"), D("0.01"))
    router.handle("venue.instruments", rules(sol), T)
    (after,) = router.handle("orders.approved", parent.model_copy(update={"order_id": "o-2"}), T)
    assert after.topic == "orders.routed"
    assert [(a.venue, a.quantity) for a in after.record.venue_plan] == [("binance", D("1"))]


def test_the_executor_takes_the_venues_lot_for_its_children_also_after_a_restart():
    config = load_config()
    executor = ExecutorStage(Rules(config.instruments))
    assert executor.rules.venue("binance", "BTC/USDT").lot == D("0.00001")
    executor.handle("venue.instruments", rules(), T)
    assert executor.rules.venue("binance", "BTC/USDT").lot == D("0.001")
    assert executor.rules.venue("nyse", "IBM").lot == D("1")

    restarted = ExecutorStage(Rules(config.instruments))
    Memory(restarted).restore(Memory(executor).changes()[0])
    restarted.handle("clock", ClockTick(partition=0, sequence=1, timestamp=T), T)
    assert restarted.rules.venue("binance", "BTC/USDT").lot == D("0.001")
