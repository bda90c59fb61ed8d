"""Pre-trade risk: each rule refuses exactly when it should, with its own reason code.

The vectors are worked by hand: the reference price is the mid of 99.99 / 100.01 = 100.00, a
50 bps collar is therefore 0.50 either side, and the baseline order (buy 1 at 100.00) passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from fillstream.domain.ids import RecentIds
from fillstream.domain.instruments import Instrument, InstrumentBook
from fillstream.schemas.models import Command, Quote, Side, Signal, Trade
from fillstream.streams.risk import (
    AccountRisk,
    MarketView,
    Rejection,
    RejectReason,
    RiskConfig,
    RiskState,
    apply_command,
    apply_fill,
    approve,
    check_signal,
    order_price,
    record_rejection,
    to_record,
    validate_raw,
)
from fillstream.streams.risk.checks import CHECKS, Candidate

MIDNIGHT = 1_723_161_600_000_000  # 2024-08-09T00:00:00Z
NOW = MIDNIGHT + 12 * 3_600_000_000
SECOND = 1_000_000

LIMITS = {
    "max_order_quantity": "10",
    "max_order_notional": "500",
    "max_position": "20",
    "max_daily_orders": 3,
    "max_daily_notional": "1000",
    "price_collar_bps": "50",
    "max_orders_per_second": 2,
}
INSTRUMENTS = InstrumentBook.of(
    [
        Instrument(
            "alpha", "ABC/USD", Decimal("0.01"), Decimal("0.001"), Decimal("0.01"), Decimal(10)
        ),
        Instrument("xchg", "IBM", Decimal("0.01"), Decimal(100)),
        Instrument("ychg", "IBM", Decimal("0.01"), Decimal(1)),
    ]
)
BASE = {
    "signal_id": "sig-1",
    "strategy_id": "strat-1",
    "account_id": "acct-1",
    "symbol": "ABC/USD",
    "side": "buy",
    "quantity": "1",
    "order_type": "limit",
    "price": "100.00",
    "created_at": NOW,
}


def signal(**changes: Any) -> Signal:
    return Signal.model_validate({**BASE, **changes})


def command(kind: str, account_id: str | None = "acct-1") -> Command:
    return Command(command_id=f"cmd-{kind}", kind=kind, account_id=account_id, created_at=NOW)


def quote(symbol: str, bid: str | None, ask: str | None, at: int = NOW - SECOND) -> Quote:
    return Quote(
        symbol=symbol,
        venue="alpha",
        bid_price=None if bid is None else Decimal(bid),
        ask_price=None if ask is None else Decimal(ask),
        timestamp=at,
    )


def quoted_market() -> MarketView:
    market = MarketView()
    for symbol in ("ABC/USD", "IBM"):
        market.update(quote(symbol, "99.99", "100.01"))
    return market


@dataclass
class Desk:
    """One risk engine: config, state and market, checked and approved as the shell would."""

    risk: dict[str, Any] = field(default_factory=lambda: {"defaults": dict(LIMITS)})
    state: RiskState = field(default_factory=RiskState)
    market: MarketView = field(default_factory=quoted_market)

    @property
    def config(self) -> RiskConfig:
        return RiskConfig.from_dict(self.risk, INSTRUMENTS)

    def check(self, order: Signal, now_us: int = NOW) -> Rejection | None:
        """The rejection, or None when the order passes (whatever its risk score)."""
        outcome = check_signal(self.config, self.state, order, self.market, now_us)
        return outcome if isinstance(outcome, Rejection) else None

    def approve(self, order: Signal, now_us: int = NOW) -> None:
        approve(self.state, order, order_price(order, self.market), now_us)

    def reason(self, order: Signal, now_us: int = NOW) -> RejectReason | None:
        rejection = self.check(order, now_us)
        return None if rejection is None else rejection.reason


# -- every reason code, triggered alone --------------------------------------------------------
# Each trigger sets the desk up and returns a signal that breaks that one rule and no other.


def _duplicate(desk: Desk) -> Signal:
    desk.approve(signal(), NOW - 5 * SECOND)
    return signal()


def _daily_count(desk: Desk) -> Signal:
    for n, seconds_ago in enumerate((4, 3, 2)):  # none of them in the last second
        desk.approve(signal(signal_id=f"early-{n}"), NOW - seconds_ago * SECOND)
    return signal()  # the 4th order today; notional 300 + 100 is within 1000


def _daily_notional(desk: Desk) -> Signal:
    approve(desk.state, signal(signal_id="big"), Decimal(950), NOW - 5 * SECOND)  # 1 at 950
    return signal()  # 950 + 100 > 1000


def _rate(desk: Desk) -> Signal:
    desk.approve(signal(signal_id="a"), NOW - SECOND // 2)
    desk.approve(signal(signal_id="b"), NOW - SECOND // 10)
    return signal()


def _position(desk: Desk) -> Signal:
    apply_fill(desk.state, "acct-1", "ABC/USD", Side.BUY, Decimal("19.5"))
    return signal()  # 19.5 + 1 > 20


def _leverage(desk: Desk) -> Signal:
    desk.risk["accounts"] = {"acct-1": {"equity": "50", "max_gross_leverage": "1.5"}}
    return signal()  # gross 1 x 100.00 = 100 over equity 50 = 2 > 1.5


def _no_equity(desk: Desk) -> Signal:
    desk.risk["accounts"] = {"acct-1": {"max_gross_leverage": "2"}}
    return signal()


def _concentration(desk: Desk) -> Signal:
    desk.risk["defaults"]["max_concentration"] = "0.4"
    apply_fill(desk.state, "acct-1", "IBM", Side.BUY, Decimal(1))  # 1 x 100.00
    return signal()  # ABC/USD 100 of a gross 200 = 50% > 40%


def _sector(desk: Desk) -> Signal:
    desk.risk["sectors"] = {"tech": {"symbols": ["ABC/USD", "IBM"], "max_sector_exposure": "150"}}
    apply_fill(desk.state, "acct-1", "IBM", Side.BUY, Decimal(1))  # 1 x 100.00
    return signal()  # tech: 100 + 100 = 200 > 150


def _reducing(desk: Desk) -> Signal:
    desk.risk["accounts"] = {"acct-1": {"trading_state": "reducing"}}
    return signal()  # flat: a buy would open a position


def _halted(desk: Desk) -> Signal:
    apply_command(desk.state, command("pause"))
    return signal()


def _kill_switch(desk: Desk) -> Signal:
    apply_command(desk.state, command("kill_switch", account_id=None))
    return signal()


def _no_market_data(desk: Desk) -> Signal:
    desk.market = MarketView()
    return signal()  # the collar needs a reference price


def _changed(**changes: Any) -> Callable[[Desk], Signal]:
    return lambda desk: signal(**changes)


TRIGGERS: dict[RejectReason, Callable[[Desk], Signal]] = {
    RejectReason.DUPLICATE_SIGNAL: _duplicate,
    RejectReason.INVALID_ALGORITHM: _changed(
        algorithm="twap", algorithm_parameters={"duration_seconds": "0"}
    ),
    # a buy at 100.00 whose stop-loss 101.00 lies above its entry
    RejectReason.INVALID_BRACKET: _changed(stop_loss="101.00", take_profit="102.00"),
    RejectReason.UNKNOWN_INSTRUMENT: _changed(exchange="omega"),
    RejectReason.PRICE_OFF_TICK: _changed(price="100.005"),
    RejectReason.QUANTITY_OFF_LOT: _changed(quantity="1.0005"),
    RejectReason.BELOW_MIN_QUANTITY: _changed(quantity="0.005"),
    RejectReason.BELOW_MIN_NOTIONAL: _changed(quantity="0.05"),  # 5 < 10
    RejectReason.MAX_ORDER_QUANTITY: _changed(quantity="11", price="40.00"),  # notional 440
    RejectReason.MAX_ORDER_NOTIONAL: _changed(quantity="6"),  # 600 > 500
    RejectReason.POSITION_LIMIT: _position,
    RejectReason.DAILY_ORDER_COUNT: _daily_count,
    RejectReason.DAILY_NOTIONAL: _daily_notional,
    RejectReason.GROSS_LEVERAGE: _leverage,
    RejectReason.NO_EQUITY: _no_equity,
    RejectReason.CONCENTRATION: _concentration,
    RejectReason.SECTOR_EXPOSURE: _sector,
    RejectReason.PRICE_COLLAR: _changed(price="100.51"),
    RejectReason.ORDER_RATE: _rate,
    RejectReason.REDUCE_ONLY: _reducing,
    RejectReason.ACCOUNT_HALTED: _halted,
    RejectReason.KILL_SWITCH: _kill_switch,
    RejectReason.NO_MARKET_DATA: _no_market_data,
}


def test_every_reason_has_a_trigger():
    # INVALID_SIGNAL comes from validation, before any check: see test_validate_raw_*.
    assert set(TRIGGERS) | {RejectReason.INVALID_SIGNAL} == set(RejectReason)


def test_the_baseline_order_passes():
    assert Desk().check(signal()) is None


@pytest.mark.parametrize("reason", list(TRIGGERS))
def test_each_trigger_breaks_exactly_its_rule(reason):
    desk = Desk()
    order = TRIGGERS[reason](desk)
    candidate = Candidate.gather(desk.config, desk.state, order, desk.market, NOW)
    broken = [outcome for check in CHECKS if (outcome := check(candidate)) is not None]
    assert [rejection.reason for rejection in broken] == [reason]
    assert desk.check(order) == broken[0]
    assert "{" not in broken[0].message


def test_messages_say_what_was_wrong():
    desk = Desk()
    assert desk.check(signal(algorithm="twapp")).message.startswith(
        "unknown algorithm 'twapp'; the catalog has: direct, twap, vwap"
    )
    assert desk.check(
        signal(algorithm="pov", algorithm_parameters={"rate": "0.1"})
    ).message.startswith("pov has no parameter rate (it has: participation_rate")
    assert desk.check(signal(algorithm="iceberg")).message.startswith(
        "iceberg needs a display_quantity"
    )
    assert desk.check(signal(quantity="11")).message == (
        "quantity 11 exceeds the maximum of 10 per order"
    )
    assert desk.check(signal(price="100.005")).message == (
        "price 100.005 is not a multiple of the tick size 0.01 on alpha"
    )
    assert desk.check(signal(price="100.51")).message == (
        "price 100.51 is more than 50 bps above the reference price 100.00"
    )


# -- brackets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        # a buy at 100.00: stop-loss below it, take-profit above
        ({"stop_loss": "99.00", "take_profit": "101.00"}, None),
        ({"take_profit": "101.00"}, None),  # one leg alone
        ({"stop_loss": "99.00"}, None),
        (
            {"stop_loss": "101.00", "take_profit": "99.00"},
            "a buy's stop_loss 101.00 must be below its entry price 100.00",
        ),
        (
            {"take_profit": "100.00"},
            "a buy's entry price 100.00 must be below its take_profit 100.00",
        ),
        # a market buy has no price of its own: only the legs are ordered
        (
            {"order_type": "market", "price": None, "stop_loss": "99.00", "take_profit": "98.00"},
            "a buy's stop_loss 99.00 must be below its take_profit 98.00",
        ),
        # a sell at 100.00: the reverse
        ({"side": "sell", "stop_loss": "101.00", "take_profit": "99.00"}, None),
        (
            {"side": "sell", "stop_loss": "99.00"},
            "a sell's entry price 100.00 must be below its stop_loss 99.00",
        ),
        # a stop entry is ordered against its stop price
        (
            {"order_type": "stop", "price": None, "stop_price": "100.00", "stop_loss": "100.00"},
            "a buy's stop_loss 100.00 must be below its entry price 100.00",
        ),
    ],
)
def test_a_brackets_legs_must_close_what_its_entry_opens(changes, problem):
    refused = Desk().check(signal(**changes))
    if problem is None:
        assert refused is None
    else:
        assert refused.reason is RejectReason.INVALID_BRACKET
        assert refused.message == f"invalid bracket: {problem}"


def test_a_legs_price_off_the_tick_is_refused():
    refused = Desk().check(signal(take_profit="101.005"))
    assert refused.message == "take_profit 101.005 is not a multiple of the tick size 0.01 on alpha"


# -- price collar --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "price", "refused"),
    [
        ("buy", "100.50", False),  # 100.00 + 0.50: on the boundary
        ("buy", "100.51", True),
        ("buy", "80.00", False),  # far below is passive for a buy
        ("sell", "99.50", False),
        ("sell", "99.49", True),
        ("sell", "120.00", False),
    ],
)
def test_collar_at_the_boundary(side, price, refused):
    desk = Desk()
    desk.risk["defaults"]["max_order_notional"] = "1000"
    expected = RejectReason.PRICE_COLLAR if refused else None
    assert desk.reason(signal(side=side, price=price)) is expected


def test_collar_reference_is_the_last_trade_without_a_two_sided_quote():
    desk = Desk(market=MarketView())
    desk.market.update(quote("ABC/USD", "99.00", None))
    desk.market.update(
        Trade(
            symbol="ABC/USD",
            venue="alpha",
            trade_id="t-1",
            price=Decimal("98.00"),
            quantity=Decimal(1),
            timestamp=NOW - SECOND,
        )
    )
    assert desk.reason(signal(price="98.49")) is None  # 50 bps of 98.00 is 0.49
    assert desk.reason(signal(price="98.50")) is RejectReason.PRICE_COLLAR


def test_market_order_is_collared_by_the_touch_it_would_take():
    desk = Desk(market=MarketView())
    desk.market.update(quote("ABC/USD", "99.50", "100.50"))  # mid 100.00, ask +50 bps
    market_buy = signal(order_type="market", price=None)
    assert desk.reason(market_buy) is None
    desk.market.update(quote("ABC/USD", "99.40", "100.60", at=NOW))  # ask +60 bps
    assert desk.reason(market_buy) is RejectReason.PRICE_COLLAR


def test_stop_orders_are_not_collared():
    stop = signal(order_type="stop", price=None, stop_price="103.00")  # 300 bps above
    assert Desk().reason(stop) is None


def test_a_stop_limit_price_is_collared_around_its_stop_price():
    desk = Desk(market=MarketView())  # no market data needed: the stop price is the reference
    assert desk.reason(signal(order_type="stop_limit", stop_price="80.00", price="80.40")) is None
    refused = desk.check(signal(order_type="stop_limit", stop_price="80.00", price="80.41"))
    assert refused.message == "price 80.41 is more than 50 bps above the stop price 80.00"


# -- when no price is known ----------------------------------------------------------------------


def test_market_order_without_data_passes_when_no_limit_needs_a_price():
    desk = Desk(market=MarketView())
    desk.risk["defaults"] = {"max_order_quantity": "10"}
    desk.risk["symbols"] = {"IBM": {}}
    assert desk.reason(signal(symbol="IBM", quantity="5", order_type="market", price=None)) is None


@pytest.mark.parametrize(
    ("limits", "symbol"),
    [
        ({"max_order_notional": "500"}, "IBM"),
        ({"max_daily_notional": "500"}, "IBM"),
        ({"price_collar_bps": "50"}, "IBM"),
        ({}, "ABC/USD"),  # the venue's minimum notional
    ],
)
def test_market_order_without_data_is_refused_when_a_limit_needs_a_price(limits, symbol):
    desk = Desk(market=MarketView())
    desk.risk["defaults"] = limits
    market_buy = signal(symbol=symbol, quantity="100", order_type="market", price=None)
    assert desk.reason(market_buy) is RejectReason.NO_MARKET_DATA


def test_limit_order_values_itself_at_its_price_without_data():
    desk = Desk(market=MarketView())
    desk.risk["defaults"] = {"max_order_notional": "500"}
    assert desk.reason(signal(quantity="5")) is None  # 500
    assert desk.reason(signal(quantity="5.001")) is RejectReason.MAX_ORDER_NOTIONAL


# -- instruments ---------------------------------------------------------------------------------


def test_without_a_venue_the_quantity_must_suit_one_listing_venue():
    desk = Desk()
    desk.risk["defaults"] = {}
    assert desk.reason(signal(symbol="IBM", quantity="150")) is None  # whole lots on ychg
    assert desk.reason(signal(symbol="IBM", quantity="150", exchange="xchg")) is (
        RejectReason.QUANTITY_OFF_LOT
    )
    refused = desk.check(signal(symbol="IBM", quantity="150.5"))
    assert refused.reason is RejectReason.QUANTITY_OFF_LOT
    assert refused.message.endswith("lot size 100 on xchg")  # the first venue by name


def test_a_named_venue_must_list_the_symbol():
    refused = Desk().check(signal(exchange="omega"))
    assert refused.reason is RejectReason.UNKNOWN_INSTRUMENT
    assert refused.message == "ABC/USD is not listed on omega"
    unlisted = Desk().check(signal(symbol="XYZ/USD"))
    assert unlisted.message == "XYZ/USD is not listed on any venue"


def test_stop_price_and_display_quantity_follow_the_instrument_rules_too():
    desk = Desk()
    stop_limit = signal(order_type="stop_limit", stop_price="100.001")
    assert desk.reason(stop_limit) is RejectReason.PRICE_OFF_TICK
    iceberg = signal(order_type="iceberg", display_quantity="0.0005")
    assert desk.reason(iceberg) is RejectReason.QUANTITY_OFF_LOT


# -- positions and reduce-only -------------------------------------------------------------------


def test_positions_are_the_signed_sum_of_fills():
    state = RiskState()
    for side, quantity in (("buy", "3"), ("sell", "1"), ("sell", "5"), ("buy", "0.25")):
        apply_fill(state, "acct-1", "ABC/USD", Side(side), Decimal(quantity))
    apply_fill(state, "acct-2", "ABC/USD", Side.BUY, Decimal(7))
    assert state.accounts["acct-1"].positions == {"ABC/USD": Decimal("-2.75")}
    assert state.accounts["acct-2"].positions == {"ABC/USD": Decimal(7)}


@pytest.mark.parametrize(
    ("side", "quantity", "refused"),
    [
        ("sell", "1", False),
        ("sell", "2", False),  # closes the position
        ("sell", "3", True),  # would flip to short
        ("buy", "1", True),
    ],
)
def test_reduce_only_allows_only_orders_that_shrink_the_position(side, quantity, refused):
    desk = Desk()
    desk.risk["symbols"] = {"ABC/USD": {"reduce_only": True}}
    apply_fill(desk.state, "acct-1", "ABC/USD", Side.BUY, Decimal(2))
    expected = RejectReason.REDUCE_ONLY if refused else None
    assert desk.reason(signal(side=side, quantity=quantity)) is expected


def test_position_limit_lets_an_over_limit_position_shrink():
    desk = Desk()
    apply_fill(desk.state, "acct-1", "ABC/USD", Side.BUY, Decimal(25))  # limit lowered below it
    assert desk.reason(signal(side="sell", quantity="1")) is None
    assert desk.reason(signal(side="buy", quantity="1")) is RejectReason.POSITION_LIMIT
    apply_fill(desk.state, "acct-1", "ABC/USD", Side.SELL, Decimal(45))  # short 20
    assert desk.reason(signal(side="sell", quantity="0.5")) is RejectReason.POSITION_LIMIT


# -- daily counters and the rate window ---------------------------------------------------------


def test_day_rolls_over_at_midnight_utc():
    assert datetime.fromtimestamp(MIDNIGHT / 1e6, UTC) == datetime(2024, 8, 9, tzinfo=UTC)
    desk = Desk()
    desk.risk["defaults"]["max_daily_orders"] = 1
    desk.approve(signal(signal_id="late"), MIDNIGHT - 2 * SECOND)
    assert desk.reason(signal(), MIDNIGHT - 1) is RejectReason.DAILY_ORDER_COUNT
    assert desk.reason(signal(), MIDNIGHT) is None
    desk.approve(signal(), MIDNIGHT)
    account = desk.state.accounts["acct-1"]
    assert (account.orders_today, account.notional_today) == (1, Decimal("100.00"))
    assert desk.reason(signal(signal_id="next"), MIDNIGHT + 2 * SECOND) is (
        RejectReason.DAILY_ORDER_COUNT
    )


def test_rate_window_is_the_last_second_of_event_time():
    desk = Desk()
    desk.risk["defaults"]["max_daily_orders"] = 100
    desk.approve(signal(signal_id="a"), NOW)
    desk.approve(signal(signal_id="b"), NOW + SECOND // 2)
    assert desk.reason(signal(), NOW + SECOND - 1) is RejectReason.ORDER_RATE
    assert desk.reason(signal(), NOW + SECOND) is None  # "a" is exactly one second old: out
    desk.approve(signal(), NOW + SECOND)
    assert desk.reason(signal(signal_id="c"), NOW + SECOND + 1) is RejectReason.ORDER_RATE
    assert list(desk.state.accounts["acct-1"].recent_orders) == [NOW + SECOND // 2, NOW + SECOND]


def test_zero_limits_refuse_every_order():
    desk = Desk()
    desk.risk["defaults"].update(max_orders_per_second=0)
    assert desk.reason(signal()) is RejectReason.ORDER_RATE
    desk.risk["defaults"].update(max_daily_orders=0)
    assert desk.reason(signal()) is RejectReason.DAILY_ORDER_COUNT


# -- commands ------------------------------------------------------------------------------------


def test_pause_halts_and_resume_returns_to_the_configured_state():
    desk = Desk()
    desk.risk["accounts"] = {"acct-1": {"trading_state": "reducing"}}
    apply_command(desk.state, command("pause"))
    assert desk.reason(signal()) is RejectReason.ACCOUNT_HALTED
    apply_command(desk.state, command("resume"))
    assert desk.reason(signal()) is RejectReason.REDUCE_ONLY  # the config's state again
    assert desk.reason(signal(account_id="acct-2")) is None


def test_a_halted_account_in_the_config_stays_halted_after_resume():
    desk = Desk()
    desk.risk["accounts"] = {"acct-1": {"trading_state": "halted"}}
    apply_command(desk.state, command("resume"))
    assert desk.reason(signal()) is RejectReason.ACCOUNT_HALTED


def test_kill_switches_per_account_and_global():
    desk = Desk()
    apply_command(desk.state, command("kill_switch"))
    assert desk.check(signal()).message == "the account acct-1's kill switch is on"
    assert desk.reason(signal(account_id="acct-2")) is None
    apply_command(desk.state, command("kill_switch", account_id=None))
    assert desk.check(signal(account_id="acct-2")).message == "the global kill switch is on"
    apply_command(desk.state, command("release_kill_switch", account_id=None))
    assert desk.reason(signal(account_id="acct-2")) is None
    assert desk.reason(signal()) is RejectReason.KILL_SWITCH
    apply_command(desk.state, command("release_kill_switch"))
    assert desk.reason(signal()) is None


def test_order_commands_leave_risk_state_alone():
    state = RiskState()
    cancel = Command(
        command_id="c", kind="cancel", order_id="ord-1", symbol="ABC/USD", created_at=NOW
    )
    assert apply_command(state, cancel) is state
    assert state.accounts == {} and not state.kill_switch


# -- duplicates ----------------------------------------------------------------------------------


def test_a_rejected_signal_redelivered_stays_rejected():
    desk = Desk()
    apply_command(desk.state, command("kill_switch"))
    record_rejection(desk.state, signal())
    apply_command(desk.state, command("release_kill_switch"))
    assert desk.reason(signal()) is RejectReason.DUPLICATE_SIGNAL


def test_a_redelivered_approved_signal_is_a_duplicate_whatever_else_changed():
    desk = Desk()
    desk.approve(signal())
    apply_command(desk.state, command("kill_switch", account_id=None))
    assert desk.reason(signal()) is RejectReason.DUPLICATE_SIGNAL


def test_duplicate_memory_keeps_the_latest_ids_per_account():
    desk = Desk(state=RiskState(accounts={"acct-1": AccountRisk(signal_ids=RecentIds(2))}))
    desk.risk["defaults"] = {}
    for name in ("s1", "s2", "s3"):
        desk.approve(signal(signal_id=name))
    assert desk.reason(signal(signal_id="s1")) is None  # forgotten
    assert desk.reason(signal(signal_id="s2")) is RejectReason.DUPLICATE_SIGNAL
    assert desk.reason(signal(signal_id="s3")) is RejectReason.DUPLICATE_SIGNAL
    assert desk.reason(signal(signal_id="s3", account_id="acct-2")) is None


def test_checking_never_changes_the_state():
    desk = Desk()
    desk.check(signal())
    desk.check(signal(account_id="unseen"))
    assert desk.state.accounts == {}


# -- validation and the rejection record --------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantity": None}, "invalid signal: quantity: "),
        ({"quantity": "-1"}, "quantity: Input should be greater than 0"),
        ({"price": None}, "record: a limit order needs a price"),
        ({"side": "hold", "symbol": ""}, "symbol: String should have at least 1 character; side:"),
    ],
)
def test_validate_raw_names_the_fields(changes, message):
    raw = {key: value for key, value in {**BASE, **changes}.items() if value is not None}
    rejection = validate_raw(raw)
    assert isinstance(rejection, Rejection)
    assert rejection.reason is RejectReason.INVALID_SIGNAL
    assert message in rejection.message


def test_validate_raw_returns_the_signal():
    assert validate_raw(BASE) == signal()


def test_rejection_record_of_a_checked_signal():
    order = signal(quantity="11")
    record = to_record(Desk().check(order), order, rejected_at=NOW + 120)
    assert record.model_dump() == {
        "signal_id": "sig-1",
        "order_id": None,
        "account_id": "acct-1",
        "strategy_id": "strat-1",
        "symbol": "ABC/USD",
        "reason_code": "MAX_ORDER_QUANTITY",
        "reason": "quantity 11 exceeds the maximum of 10 per order",
        "stage": "risk",
        "signal": order.model_dump(),
        "rejected_at": NOW + 120,
    }


def test_rejection_record_of_an_invalid_signal_keeps_what_identifies_it():
    raw = {"signal_id": "sig-9", "account_id": 42, "symbol": "ABC/USD", "order_type": "limit"}
    record = to_record(validate_raw(raw), raw, rejected_at=NOW)
    assert (record.signal_id, record.account_id, record.strategy_id, record.symbol) == (
        "sig-9",
        "",
        None,
        "ABC/USD",
    )
    assert record.reason_code == "INVALID_SIGNAL" and record.signal is None
