"""Exposure limits count working orders: position, daily notional, gross leverage, concentration
and sector exposure, each against the worst case, and the risk score of an approved order.

Every expected number is worked by hand in the comments. The market: BTC/USDT bid 59,990 /
ask 60,010 (mid 60,000; a market buy is valued at the ask, 60,010), ETH/USDT 2,999 / 3,001
(mid 3,000).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fillstream.domain.ids import order_id_for
from fillstream.domain.instruments import Instrument, InstrumentBook
from fillstream.schemas.models import (
    ExecutionReport,
    OrderState,
    ParentOrder,
    Quote,
    Side,
    Signal,
)
from fillstream.streams.memory import Memory
from fillstream.streams.risk import (
    MarketView,
    Rejection,
    RejectReason,
    RiskConfig,
    RiskState,
    WorkingOrder,
    apply_end,
    apply_fill,
    approve,
    check_signal,
    order_price,
)
from fillstream.streams.stages.risk import RiskStage

D = Decimal
T = 1_723_161_600_000_000 + 12 * 3_600_000_000  # 2024-08-09T12:00:00Z
INSTRUMENTS = InstrumentBook.of(
    [
        Instrument("binance", "BTC/USDT", D("0.01"), D("0.001")),
        Instrument("binance", "ETH/USDT", D("0.01"), D("0.001")),
    ]
)


def market() -> MarketView:
    view = MarketView()
    for symbol, bid, ask in (("BTC/USDT", "59990", "60010"), ("ETH/USDT", "2999", "3001")):
        view.update(
            Quote(symbol=symbol, venue="binance", bid_price=D(bid), ask_price=D(ask), timestamp=T)
        )
    return view


def order(signal_id: str, side: str, quantity: str, **changes: Any) -> Signal:
    fields = {
        "signal_id": signal_id,
        "strategy_id": "s-1",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": side,
        "quantity": quantity,
        "order_type": "market",
        "created_at": T,
    }
    return Signal.model_validate(fields | changes)


class Risk:
    """The pure core as the shell drives it."""

    def __init__(self, risk: dict[str, Any]) -> None:
        self.config = RiskConfig.from_dict(risk, INSTRUMENTS)
        self.state = RiskState()
        self.market = market()

    def check(self, signal: Signal) -> Rejection | Decimal:
        return check_signal(self.config, self.state, signal, self.market, T)

    def send(self, signal: Signal) -> Rejection | Decimal:
        """Check, and approve what passes."""
        outcome = self.check(signal)
        if not isinstance(outcome, Rejection):
            approve(self.state, signal, order_price(signal, self.market), T)
        return outcome

    def hold(self, symbol: str, side: Side, quantity: str) -> None:
        apply_fill(self.state, "acct-1", symbol, side, D(quantity))

    def reason(self, signal: Signal) -> RejectReason | None:
        outcome = self.check(signal)
        return outcome.reason if isinstance(outcome, Rejection) else None


# -- position: the three-orders overshoot --------------------------------------------------------


def report(signal_id: str, quantity: str, n: int) -> ExecutionReport:
    """A fill of `quantity` BTC of the order of `signal_id`, at 60,010."""
    order_id = order_id_for(signal_id)
    return ExecutionReport(
        report_id=f"{order_id}-1:{n}",
        order_id=order_id,
        signal_id=signal_id,
        slice_id=f"{order_id}-1",
        account_id="acct-1",
        symbol="BTC/USDT",
        venue="binance",
        side=Side.BUY,
        exec_type="fill",
        status="filled",
        quantity=D(quantity),
        last_quantity=D(quantity),
        last_price=D(60010),
        filled_quantity=D(quantity),
        leaves_quantity=D(0),
        commission=D(0),
        timestamp=T + n,
    )


def ended(signal_id: str, status: str, filled: str) -> OrderState:
    return OrderState(
        order_id=order_id_for(signal_id),
        signal_id=signal_id,
        strategy_id="s-1",
        account_id="acct-1",
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type="market",
        quantity=D(9),
        status=status,
        filled_quantity=D(filled),
        leaves_quantity=D(0),
        commission=D(0),
        version=3,
        created_at=T,
        updated_at=T + 10,
    )


def test_three_buys_sent_together_cannot_overshoot_the_position_limit():
    stage = RiskStage(RiskConfig.from_dict({"defaults": {"max_position": "25"}}, INSTRUMENTS))
    stage.market = market()

    def send(signal_id: str) -> Any:
        (emit,) = stage.handle("signals", order(signal_id, "buy", "9").model_dump(), T)
        return emit

    first, second, third = send("b-1"), send("b-2"), send("b-3")
    # worst long: 0 + 9 = 9 (9/25 = 0.36), 9 + 9 = 18 (0.72), 18 + 9 = 27 > 25
    assert (first.topic, second.topic) == ("orders.approved", "orders.approved")
    assert (first.record.risk_score, second.record.risk_score) == (0.36, 0.72)
    assert (third.topic, third.record.reason_code) == ("orders.rejected", "POSITION_LIMIT")
    assert third.record.reason == (
        "the position in BTC/USDT could reach 27 if this buy of 9 and the 18 already working on"
        " that side fill (filled position 0), beyond the limit of 25 either way"
    )

    stage.handle("fills.accounts", report("b-1", "9", 1), T + 1)
    # filled 9 + working 9 + 9 = 27: the fill moved 9 from working to the position
    assert send("b-4").record.reason_code == "POSITION_LIMIT"
    stage.handle("orders.ended", ended("b-1", "filled", "9"), T + 2)
    stage.handle("orders.ended", ended("b-2", "cancelled", "0"), T + 3)
    # filled 9 + working 0 + 9 = 18 <= 25 (18/25 = 0.72)
    fits = send("b-5")
    assert (fits.topic, fits.record.risk_score) == ("orders.approved", 0.72)
    assert ParentOrder.model_validate(fits.record.model_dump()) == fits.record


def test_a_partial_fill_shrinks_the_working_order_and_its_end_releases_the_rest():
    risk = Risk({"defaults": {"max_position": "25"}})
    risk.send(order("b-1", "buy", "9"))
    apply_fill(risk.state, "acct-1", "BTC/USDT", Side.BUY, D(4), order_id_for("b-1"))
    account = risk.state.accounts["acct-1"]
    assert account.working[order_id_for("b-1")].remaining == D(5)  # 9 - 4
    assert account.working_quantities() == {"BTC/USDT": (D(5), D(0))}
    # filled 4 + working 5 + 17 = 26 > 25; + 16 = 25 passes
    assert risk.reason(order("b-2", "buy", "17")) is RejectReason.POSITION_LIMIT
    assert risk.reason(order("b-2", "buy", "16")) is None
    apply_end(risk.state, "acct-1", order_id_for("b-1"), D(5))
    assert account.working == {}
    # filled 4 + 21 = 25
    assert risk.reason(order("b-2", "buy", "21")) is None


def test_buys_and_sells_are_bounded_on_their_own_sides():
    risk = Risk({"defaults": {"max_position": "25"}})
    risk.hold("BTC/USDT", Side.BUY, "10")
    risk.send(order("b-1", "buy", "10"))  # worst long 20
    # a sell counts toward the short side only: worst short = 0 working - 10 filled + 35 = 25
    assert risk.reason(order("s-1", "sell", "35")) is None
    assert risk.reason(order("s-1", "sell", "35.001")) is RejectReason.POSITION_LIMIT
    # the working buy does not make room for more buys: 10 + 10 + 6 = 26
    assert risk.reason(order("b-2", "buy", "6")) is RejectReason.POSITION_LIMIT


def test_an_order_filled_in_full_leaves_the_working_orders():
    risk = Risk({})
    risk.send(order("b-1", "buy", "2"))
    apply_fill(risk.state, "acct-1", "BTC/USDT", Side.BUY, D(2), order_id_for("b-1"))
    assert risk.state.accounts["acct-1"].working == {}
    apply_end(risk.state, "acct-1", order_id_for("b-1"), D(0))  # its end changes nothing
    assert risk.state.accounts["acct-1"].positions == {"BTC/USDT": D(2)}


# -- daily notional ------------------------------------------------------------------------------


def test_daily_notional_gives_back_what_ended_unfilled():
    risk = Risk({"defaults": {"max_daily_notional": "1000000"}})
    assert not isinstance(risk.send(order("b-1", "buy", "9")), Rejection)  # 9 x 60,010 = 540,090
    account = risk.state.accounts["acct-1"]
    assert account.notional_today == D(540090)
    # 540,090 + 540,090 = 1,080,180 > 1,000,000
    assert risk.reason(order("b-2", "buy", "9")) is RejectReason.DAILY_NOTIONAL
    apply_fill(risk.state, "acct-1", "BTC/USDT", Side.BUY, D(4), order_id_for("b-1"))
    apply_end(risk.state, "acct-1", order_id_for("b-1"), D(5))
    # the unfilled 5 x 60,010 = 300,050 comes back: 540,090 - 300,050 = 240,040
    assert account.notional_today == D(240040)
    # 240,040 + 540,090 = 780,130 <= 1,000,000; score 0.78013 -> 0.7801
    assert risk.check(order("b-2", "buy", "9")) == D("0.7801")


def test_an_end_read_before_the_last_fill_gives_back_only_what_never_filled():
    """The desk publishes an order's last fill (`fills.accounts`) and its end (`orders.ended`)
    from one report; risk may read them in either order."""
    limits = {"defaults": {"max_daily_notional": "1000000"}}
    stage = RiskStage(RiskConfig.from_dict(limits, INSTRUMENTS))
    stage.market = market()
    (approved,) = stage.handle("signals", order("b-1", "buy", "9").model_dump(), T)
    assert approved.topic == "orders.approved"
    account = stage.state.accounts["acct-1"]
    assert account.notional_today == D(540090)  # 9 x 60,010
    # it ends with 6 filled: its end comes first, then the fill of those 6
    stage.handle("orders.ended", ended("b-1", "cancelled", "6"), T + 1)
    stage.handle("fills.accounts", report("b-1", "6", 1), T + 2)
    # the 3 never filled give back 3 x 60,010 = 180,030: 540,090 - 180,030 = 360,060 = 6 x 60,010
    assert account.notional_today == D(360060)
    assert account.positions == {"BTC/USDT": D(6)}
    assert account.working == {}


def test_an_order_ending_on_a_later_day_leaves_that_days_notional_alone():
    risk = Risk({})
    risk.send(order("b-1", "buy", "1"))
    account = risk.state.accounts["acct-1"]
    account.count_order(D(100), T + 86_400_000_000)  # the next day's first order: 100
    apply_end(risk.state, "acct-1", order_id_for("b-1"), D(1))
    assert account.notional_today == D(100)


# -- gross leverage ------------------------------------------------------------------------------

BOOK = {"accounts": {"acct-1": {"equity": "100000", "max_gross_leverage": "3"}}}


def booked(risk: dict[str, Any]) -> Risk:
    """Long 2 BTC with a working sell of 1 at 61,000, short 10 ETH.

    BTC worst = max(|2 + 0|, |2 - 1|) = 2 -> 2 x 60,000 = 120,000; ETH worst = 10 -> 30,000;
    gross 150,000.
    """
    desk = Risk(risk)
    desk.hold("BTC/USDT", Side.BUY, "2")
    desk.hold("ETH/USDT", Side.SELL, "10")
    desk.send(order("s-0", "sell", "1", order_type="limit", price="61000"))
    return desk


def test_gross_leverage_counts_positions_and_working_orders_at_the_mid():
    risk = booked(BOOK)
    # buy 3: BTC worst 5 -> 300,000 + 30,000 = 330,000 / 100,000 = 3.3 > 3
    refused = risk.check(order("b-1", "buy", "3"))
    assert isinstance(refused, Rejection) and refused.reason is RejectReason.GROSS_LEVERAGE
    assert refused.message == (
        "gross exposure could reach 330000 with this order, 3.30x the account's equity of"
        " 100000, above the maximum leverage of 3x"
    )
    # buy 2.5: BTC 4.5 -> 270,000 + 30,000 = 300,000 = 3.0x: at the limit, score 1
    assert risk.check(order("b-1", "buy", "2.5")) == D(1)
    # buy 2: BTC 4 -> 240,000 + 30,000 = 270,000 = 2.7x, score 2.7 / 3 = 0.9
    assert risk.check(order("b-1", "buy", "2")) == D("0.9")


def test_an_order_that_cannot_raise_the_worst_case_passes_an_account_over_its_leverage():
    risk = booked({"accounts": {"acct-1": {"equity": "40000", "max_gross_leverage": "3"}}})
    # 150,000 / 40,000 = 3.75x already. Sell 1 BTC: worst max(|2|, |2 - 2|) = 2, unchanged
    assert risk.reason(order("s-1", "sell", "1")) is None
    # Buy 1 ETH covers part of the short: max(|-10 + 1|, |-10|) = 10, unchanged
    assert risk.reason(order("e-1", "buy", "1", symbol="ETH/USDT")) is None
    assert risk.reason(order("b-1", "buy", "0.001")) is RejectReason.GROSS_LEVERAGE


def test_leverage_without_equity_is_refused_not_waived():
    risk = Risk({"defaults": {"max_gross_leverage": "2"}})
    refused = risk.check(order("b-1", "buy", "1"))
    assert isinstance(refused, Rejection) and refused.reason is RejectReason.NO_EQUITY
    assert "set equity in [risk.accounts.acct-1]" in refused.message


def test_a_held_symbol_without_a_price_cannot_be_valued():
    risk = booked(BOOK)
    risk.market = MarketView()
    risk.market.update(
        Quote(symbol="BTC/USDT", venue="binance", bid_price=D(1), ask_price=D(2), timestamp=T)
    )
    refused = risk.check(order("b-1", "buy", "1"))
    assert isinstance(refused, Rejection) and refused.reason is RejectReason.NO_MARKET_DATA
    assert refused.message == "no market price for ETH/USDT, which the exposure limit needs"


# -- concentration -------------------------------------------------------------------------------


def test_concentration_is_the_symbols_share_of_the_gross():
    risk = booked({"defaults": {"max_concentration": "0.5"}})
    # BTC is 120,000 / 150,000 = 80% already. Buy 0.1: 2.1 x 60,000 = 126,000 of 156,000
    # = 80.769...% > 50%, and up from 80%
    refused = risk.check(order("b-1", "buy", "0.1"))
    assert isinstance(refused, Rejection) and refused.reason is RejectReason.CONCENTRATION
    assert refused.message == (
        "BTC/USDT could be 80.77% of the account's gross exposure (126000.0 of 156000.0) with"
        " this order, above the maximum of 50%"
    )
    # Sell 5 ETH: ETH 15 x 3,000 = 45,000 of 165,000 = 27.27...%, score 0.2727 / 0.5 -> 0.5455
    assert risk.check(order("e-1", "sell", "5", symbol="ETH/USDT")) == D("0.5455")
    # Sell 1 BTC leaves BTC's worst at 2: still 80%, not raised, so it passes (score 1)
    assert risk.check(order("s-1", "sell", "1")) == D(1)


def test_concentration_waits_for_the_minimum_gross():
    risk = booked({"defaults": {"max_concentration": "0.5", "concentration_min_gross": "200000"}})
    # gross after buying 0.1 BTC is 156,000 < 200,000: not checked, and not in the score
    assert risk.check(order("b-1", "buy", "0.1")) == D(0)
    # buy 1: 3 x 60,000 = 180,000 + 30,000 = 210,000 >= 200,000, 180/210 = 85.7% > 50%
    assert risk.reason(order("b-1", "buy", "1")) is RejectReason.CONCENTRATION


# -- sector exposure -----------------------------------------------------------------------------

SECTORS = {
    "sectors": {"layer1": {"symbols": ["BTC/USDT", "ETH/USDT"], "max_sector_exposure": "200000"}}
}


def test_sector_exposure_sums_the_worst_case_of_every_symbol_in_the_sector():
    risk = booked(SECTORS)
    # 150,000 now. Buy 1 BTC: 3 x 60,000 + 30,000 = 210,000 > 200,000
    refused = risk.check(order("b-1", "buy", "1"))
    assert isinstance(refused, Rejection) and refused.reason is RejectReason.SECTOR_EXPOSURE
    assert refused.message == (
        "exposure to sector layer1 could reach 210000 with this order (from 150000), above the"
        " maximum of 200000"
    )
    # Buy 0.8: 2.8 x 60,000 = 168,000 + 30,000 = 198,000, score 0.99
    assert risk.check(order("b-1", "buy", "0.8")) == D("0.99")


def test_a_symbol_outside_every_sector_has_no_sector_limit():
    risk = booked({"defaults": {"max_sector_exposure": "1"}})
    assert risk.check(order("b-1", "buy", "1")) == D(0)


def test_sector_limits_are_overridden_per_account_and_symbol():
    risk = booked(
        SECTORS
        | {
            "accounts": {"acct-1": {"symbols": {"BTC/USDT": {"max_sector_exposure": "170000"}}}},
        }
    )
    # BTC/USDT for acct-1: 170,000. Buy 0.3: 2.3 x 60,000 = 138,000 + 30,000 = 168,000 passes
    assert risk.check(order("b-1", "buy", "0.3")) == D("0.9882")  # 168/170 = 0.98823...
    assert risk.reason(order("b-1", "buy", "0.4")) is RejectReason.SECTOR_EXPOSURE  # 174,000
    # ETH/USDT keeps the sector's 200,000: sell 10 more -> BTC 120,000 + 60,000 = 180,000
    assert risk.check(order("e-1", "sell", "10", symbol="ETH/USDT")) == D("0.9")


# -- the risk score ------------------------------------------------------------------------------


def test_the_score_is_the_nearest_limit():
    risk = booked(BOOK | {"defaults": {"max_position": "10", "max_daily_orders": 4}} | SECTORS)
    # buy 1 BTC: position worst 2 + 0 + 1 = 3 / 10 = 0.3; orders today 1 + 1 = 2 / 4 = 0.5;
    # leverage (180,000 + 30,000) / 100,000 = 2.1 / 3 = 0.7; sector 210,000 > 200,000: refused
    assert risk.reason(order("b-1", "buy", "1")) is RejectReason.SECTOR_EXPOSURE
    # buy 0.5: position 2.5 / 10 = 0.25; orders 0.5; leverage (150,000 + 30,000) / 100,000
    # = 1.8 / 3 = 0.6; sector 180,000 / 200,000 = 0.9: the nearest
    assert risk.check(order("b-1", "buy", "0.5")) == D("0.9")


def test_no_limit_scores_zero():
    assert Risk({}).check(order("b-1", "buy", "1")) == D(0)


# -- saved state ---------------------------------------------------------------------------------


def test_working_orders_are_saved_one_entry_each_and_restored():
    stage = RiskStage(RiskConfig.from_dict({}, INSTRUMENTS))
    stage.market = market()
    for signal_id in ("b-1", "b-2"):
        stage.handle("signals", order(signal_id, "buy", "1").model_dump(), T)
    memory = Memory(stage)
    saved, _ = memory.changes()
    key = f"state.accounts/acct-1/working/{order_id_for('b-1')}".encode()
    assert key in saved
    fresh = RiskStage(RiskConfig.from_dict({}, INSTRUMENTS))
    Memory(fresh).restore(saved)
    assert fresh.state.accounts["acct-1"].working == {
        order_id_for(signal_id): WorkingOrder(
            "BTC/USDT", Side.BUY, D(1), D(60010), T // 86_400_000_000
        )
        for signal_id in ("b-1", "b-2")
    }
    stage.handle("orders.ended", ended("b-1", "cancelled", "0"), T + 1)
    puts, removed = memory.changes()  # and today's notional gives back its 1 x 60,010
    assert (set(puts), removed) == ({b"state.accounts/acct-1/notional_today"}, [key])


# -- properties ----------------------------------------------------------------------------------

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell", "fill", "end"]),
        st.integers(min_value=1, max_value=12),
        st.integers(min_value=0, max_value=50),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_no_sequence_of_orders_fills_and_ends_takes_the_position_past_its_limit(steps):
    """Whatever is approved and however the approved orders fill or end, the filled position
    stays within +/- 25, and the daily notional is what filled plus what works, at the
    approval price (60,010 a buy, 59,990 a sell)."""
    risk = Risk({"defaults": {"max_position": "25"}})
    account = risk.state.account("acct-1")
    filled_notional = D(0)
    for n, (action, quantity, pick) in enumerate(steps):
        if action in ("buy", "sell"):
            risk.send(order(f"x-{n}", action, str(quantity)))
            continue
        if not account.working:
            continue
        order_id = sorted(account.working)[pick % len(account.working)]
        working = account.working[order_id]
        if action == "fill":
            part = min(D(quantity), working.remaining)
            filled_notional += part * working.price
            apply_fill(risk.state, "acct-1", "BTC/USDT", working.side, part, order_id)
        else:
            apply_end(risk.state, "acct-1", order_id, working.remaining)
        assert abs(account.positions.get("BTC/USDT", D(0))) <= 25
        # the totals risk keeps as orders come, fill and end: the sums of what works
        buys = sum((w.remaining for w in account.working.values() if w.side is Side.BUY), D(0))
        sells = sum((w.remaining for w in account.working.values() if w.side is Side.SELL), D(0))
        expected = {"BTC/USDT": (buys, sells)} if buys or sells else {}
        assert account.working_quantities() == expected
    still = sum((w.remaining * w.price for w in account.working.values()), D(0))
    assert account.notional_today == filled_notional + still
