"""The pre-trade checks: each a small function that returns a rejection or None.

`CHECKS` runs them cheapest and most decisive first. A check that needs a price nobody knows
refuses with NO_MARKET_DATA: a limit that cannot be evaluated is not waived. A limit that is
not configured needs no price, so a market order with no notional limits and no collar passes
without market data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from fillstream.connectors.instruments import Instrument
from fillstream.schemas.models import OrderType, Side, Signal
from fillstream.streams.execution.algorithms import catalog
from fillstream.streams.risk.limits import Limits, RiskConfig, TradingState
from fillstream.streams.risk.market import MarketView, order_price
from fillstream.streams.risk.reasons import Rejection, RejectReason
from fillstream.streams.risk.state import DAY_US, RATE_WINDOW_US, AccountRisk, RiskState

__all__ = ["CHECKS", "Candidate"]

_BPS = Decimal("0.0001")
_ZERO = Decimal(0)


@dataclass(slots=True)
class Candidate:
    """A signal under check and the facts the checks read, gathered once per signal.

    `price` is what the order is valued at (see `order_price`), `reference` the collar's
    reference price; `position` and `signed_quantity` are signed (+ buys, long).
    """

    signal: Signal
    limits: Limits
    account: AccountRisk
    trading_state: TradingState
    global_kill_switch: bool
    listings: tuple[Instrument, ...]
    price: Decimal | None
    notional: Decimal | None
    reference: Decimal | None
    position: Decimal
    signed_quantity: Decimal
    now_us: int

    @classmethod
    def gather(
        cls,
        config: RiskConfig,
        state: RiskState,
        signal: Signal,
        market: MarketView,
        now_us: int,
    ) -> Candidate:
        account = state.accounts.get(signal.account_id, _UNSEEN_ACCOUNT)
        price = order_price(signal, market)
        return cls(
            signal=signal,
            limits=config.limits_for(signal.account_id, signal.symbol),
            account=account,
            trading_state=account.trading_state or config.trading_state(signal.account_id),
            global_kill_switch=state.kill_switch,
            listings=config.listings(signal.exchange, signal.symbol),
            price=price,
            notional=None if price is None else signal.quantity * price,
            reference=market.reference_price(signal.symbol),
            position=account.positions.get(signal.symbol, _ZERO),
            signed_quantity=signal.quantity if signal.side is Side.BUY else -signal.quantity,
            now_us=now_us,
        )


# Read by checks for an account risk has not seen yet; never written.
_UNSEEN_ACCOUNT = AccountRisk()


def _no_market_data(order: Candidate, rule: str) -> Rejection:
    return RejectReason.NO_MARKET_DATA.reject(symbol=order.signal.symbol, rule=rule)


def duplicate(order: Candidate) -> Rejection | None:
    if order.signal.signal_id in order.account.signal_ids:
        return RejectReason.DUPLICATE_SIGNAL.reject(signal_id=order.signal.signal_id)
    return None


def kill_switch(order: Candidate) -> Rejection | None:
    if order.global_kill_switch:
        return RejectReason.KILL_SWITCH.reject(scope="global")
    if order.account.kill_switch:
        return RejectReason.KILL_SWITCH.reject(scope=f"account {order.signal.account_id}'s")
    return None


def account_halted(order: Candidate) -> Rejection | None:
    if order.trading_state is TradingState.HALTED:
        return RejectReason.ACCOUNT_HALTED.reject(account_id=order.signal.account_id)
    return None


def algorithm(order: Candidate) -> Rejection | None:
    """The signal's algorithm exists, runs its order type, and takes its parameters."""
    problem = catalog.problems(order.signal)
    return None if problem is None else RejectReason.INVALID_ALGORITHM.reject(problem=problem)


def instrument_rules(order: Candidate) -> Rejection | None:
    """The venue's tick, lot and minimums. Without a named venue, the order passes if some venue
    listing the symbol accepts it; else it is refused with the first venue's (by name) reason."""
    signal = order.signal
    if not order.listings:
        venue = signal.exchange or "any venue"
        return RejectReason.UNKNOWN_INSTRUMENT.reject(symbol=signal.symbol, venue=venue)
    first_refusal = None
    for instrument in order.listings:
        refusal = _venue_rules(order, instrument)
        if refusal is None:
            return None
        first_refusal = first_refusal or refusal
    return first_refusal


def _venue_rules(order: Candidate, instrument: Instrument) -> Rejection | None:
    signal, venue = order.signal, instrument.venue
    for name, price in (("price", signal.price), ("stop_price", signal.stop_price)):
        if price is not None and not instrument.is_on_tick(price):
            return RejectReason.PRICE_OFF_TICK.reject(
                field=name, price=price, tick_size=instrument.tick_size, venue=venue
            )
    for name, quantity in (
        ("quantity", signal.quantity),
        ("display_quantity", signal.display_quantity),
    ):
        if quantity is not None and not instrument.is_whole_lots(quantity):
            return RejectReason.QUANTITY_OFF_LOT.reject(
                field=name, quantity=quantity, lot_size=instrument.lot_size, venue=venue
            )
    if signal.quantity < instrument.min_quantity:
        return RejectReason.BELOW_MIN_QUANTITY.reject(
            quantity=signal.quantity, minimum=instrument.min_quantity, venue=venue
        )
    if instrument.min_notional > 0:
        if order.notional is None:
            return _no_market_data(order, f"minimum notional on {venue}")
        if order.notional < instrument.min_notional:
            return RejectReason.BELOW_MIN_NOTIONAL.reject(
                notional=order.notional, minimum=instrument.min_notional, venue=venue
            )
    return None


def order_quantity_limit(order: Candidate) -> Rejection | None:
    limit = order.limits.max_order_quantity
    if limit is not None and order.signal.quantity > limit:
        return RejectReason.MAX_ORDER_QUANTITY.reject(quantity=order.signal.quantity, limit=limit)
    return None


def order_notional_limit(order: Candidate) -> Rejection | None:
    limit = order.limits.max_order_notional
    if limit is None:
        return None
    if order.notional is None:
        return _no_market_data(order, "order notional limit")
    if order.notional > limit:
        return RejectReason.MAX_ORDER_NOTIONAL.reject(notional=order.notional, limit=limit)
    return None


def price_collar(order: Candidate) -> Rejection | None:
    """A limit price may be at most `price_collar_bps` from its reference on the aggressive side
    (above it for a buy, below it for a sell). The reference is the market's, except for a
    stop-limit: its stop price, where the market will be when it triggers. A market order is
    held to the touch it would take. Stop orders are not collared: they rest away from the
    market by design and become market orders under the executor's slippage control."""
    bps = order.limits.price_collar_bps
    signal = order.signal
    if bps is None or signal.order_type is OrderType.STOP:
        return None
    if signal.order_type is OrderType.STOP_LIMIT:
        reference, basis = signal.stop_price, "stop price"
    else:
        reference, basis = order.reference, "reference price"
    price = order.price
    if price is None or reference is None:
        return _no_market_data(order, "price collar")
    band = reference * bps * _BPS
    if order.signed_quantity > 0 and price > reference + band:
        direction = "above"
    elif order.signed_quantity < 0 and price < reference - band:
        direction = "below"
    else:
        return None
    return RejectReason.PRICE_COLLAR.reject(
        field="price" if signal.price is not None else "market price",
        price=price,
        bps=bps,
        direction=direction,
        basis=basis,
        reference=reference,
    )


def reduce_only(order: Candidate) -> Rejection | None:
    """In a reducing account, or where the limits say reduce-only, an order must shrink the
    position without flipping it: opposite side, at most the position's size."""
    signal = order.signal
    if order.trading_state is TradingState.REDUCING:
        scope = f"account {signal.account_id}"
    elif order.limits.reduce_only:
        scope = f"{signal.symbol} for account {signal.account_id}"
    else:
        return None
    position = order.position
    if position * order.signed_quantity < 0 and signal.quantity <= abs(position):
        return None
    return RejectReason.REDUCE_ONLY.reject(
        scope=scope, side=signal.side.value, quantity=signal.quantity, position=position
    )


def position_limit(order: Candidate) -> Rejection | None:
    """The position once the order has filled must stay within +/- `max_position`. Positions
    are fills only: working orders do not count. An order that shrinks the position always
    passes, so an account over a lowered limit can still get back under it."""
    limit = order.limits.max_position
    if limit is None:
        return None
    resulting = order.position + order.signed_quantity
    if abs(resulting) > limit and abs(resulting) > abs(order.position):
        return RejectReason.POSITION_LIMIT.reject(
            symbol=order.signal.symbol, position=order.position, resulting=resulting, limit=limit
        )
    return None


def daily_limits(order: Candidate) -> Rejection | None:
    limits, account, day = order.limits, order.account, order.now_us // DAY_US
    if limits.max_daily_orders is not None:
        count = account.orders_on(day)
        if count >= limits.max_daily_orders:
            return RejectReason.DAILY_ORDER_COUNT.reject(count=count, limit=limits.max_daily_orders)
    limit = limits.max_daily_notional
    if limit is None:
        return None
    if order.notional is None:
        return _no_market_data(order, "daily notional limit")
    total = account.notional_on(day) + order.notional
    if total > limit:
        return RejectReason.DAILY_NOTIONAL.reject(notional=order.notional, total=total, limit=limit)
    return None


def order_rate(order: Candidate) -> Rejection | None:
    """At most `max_orders_per_second` approvals in the second ending now (event time)."""
    limit = order.limits.max_orders_per_second
    if limit is None:
        return None
    if order.account.at_rate(order.now_us - RATE_WINDOW_US, limit):
        return RejectReason.ORDER_RATE.reject(limit=limit)
    return None


# A duplicate is refused first, whatever else has changed since the original was decided, so a
# signal is never approved once and then rejected by another rule (or twice by different ones).
CHECKS: tuple[Callable[[Candidate], Rejection | None], ...] = (
    duplicate,
    kill_switch,
    account_halted,
    algorithm,
    instrument_rules,
    order_quantity_limit,
    order_notional_limit,
    price_collar,
    reduce_only,
    position_limit,
    daily_limits,
    order_rate,
)
