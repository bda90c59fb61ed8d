"""The pre-trade checks: each a small function that returns a rejection or None.

`CHECKS` runs them cheapest and most decisive first. A check that needs a price nobody knows
refuses with NO_MARKET_DATA: a limit that cannot be evaluated is not waived. A limit that is
not configured needs no price, so a market order with no notional limits and no collar passes
without market data.

Limits that bound what the account holds count the worst case: the filled position plus every
working order that could still fill on the side in question (docs/RISK.md). Each is measured
as a `Usage` (before and after the order, against its limit), which both refuses an order and
scores an approved one (`risk_score`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from fillstream.domain.instruments import Instrument
from fillstream.schemas.models import OrderType, Side, Signal
from fillstream.streams.execution.algorithms import catalog
from fillstream.streams.orders.bracket import bracket_problem
from fillstream.streams.risk.limits import Limits, RiskConfig, TradingState
from fillstream.streams.risk.market import MarketView, order_price
from fillstream.streams.risk.reasons import Rejection, RejectReason
from fillstream.streams.risk.state import DAY_US, RATE_WINDOW_US, AccountRisk, RiskState

__all__ = ["CHECKS", "Candidate", "Usage", "risk_score", "worst_size"]

_BPS = Decimal("0.0001")
_ZERO = Decimal(0)
_ONE = Decimal(1)
_SCORE = Decimal("0.0001")  # a risk score's resolution
_RATIO = Decimal("0.01")  # a leverage or a percentage in a message


@dataclass(slots=True)
class Candidate:
    """A signal under check and the facts the checks read, gathered once per signal.

    `price` is what the order is valued at (see `order_price`), `reference` the collar's
    reference price; `position` and `signed_quantity` are signed (+ buys, long); `working` the
    account's working (buys, sells) per symbol, this order not among them. `exposure` is
    computed by the first check that needs it; `usages` are the limits' usages the checks
    measured, which the risk score reads.
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
    working: dict[str, tuple[Decimal, Decimal]]
    equity: Decimal | None
    sectors: Mapping[str, str]
    market: MarketView
    exposure: Exposure | Rejection | None = None
    usages: list[Usage] = field(default_factory=list)

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
            working=account.working_quantities(),
            equity=config.equity(signal.account_id),
            sectors=config.sectors,
            market=market,
        )

    @property
    def working_buys(self) -> Decimal:
        return self.working.get(self.signal.symbol, (_ZERO, _ZERO))[0]

    @property
    def working_sells(self) -> Decimal:
        return self.working.get(self.signal.symbol, (_ZERO, _ZERO))[1]


# Read by checks for an account risk has not seen yet; never written.
_UNSEEN_ACCOUNT = AccountRisk()


def _no_market_data(order: Candidate, rule: str, symbol: str | None = None) -> Rejection:
    return RejectReason.NO_MARKET_DATA.reject(symbol=symbol or order.signal.symbol, rule=rule)


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


def bracket(order: Candidate) -> Rejection | None:
    """A bracket's legs close what the entry opens: for a buy, the take-profit sells above the
    stop-loss, and both lie either side of the entry's own price (its limit, else its stop)
    where it has one; for a sell, the reverse. The legs pass no check of their own: they only
    reduce the position the entry filled (docs/RISK.md, "Brackets")."""
    problem = bracket_problem(order.signal)
    return None if problem is None else RejectReason.INVALID_BRACKET.reject(problem=problem)


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
    for name, price in (
        ("price", signal.price),
        ("stop_price", signal.stop_price),
        ("stop_loss", signal.stop_loss),
        ("take_profit", signal.take_profit),
    ):
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


@dataclass(frozen=True, slots=True)
class Usage:
    """How much of one limit the account uses: `before` the order and `after` it (as if it
    all filled). An order that does not raise the usage always passes, so an account over a
    lowered limit can still get back under it."""

    before: Decimal
    after: Decimal
    limit: Decimal

    @property
    def breached(self) -> bool:
        return self.after > self.limit and self.after > self.before

    @property
    def share(self) -> Decimal:
        """`after` as a fraction of the limit, within 0 and 1."""
        if self.limit == 0:
            return _ONE if self.after > 0 else _ZERO
        return max(_ZERO, min(_ONE, self.after / self.limit))


def _position_usage(order: Candidate) -> Usage | None:
    """The worst case on the order's side: a buy is measured as the long the position reaches
    if every working buy and this order fill (and no sell), a sell as the short, as a size."""
    limit = order.limits.max_position
    if limit is None:
        return None
    if order.signed_quantity > 0:
        before = order.position + order.working_buys
    else:
        before = order.working_sells - order.position
    return Usage(before, before + order.signal.quantity, limit)


def _breach(
    order: Candidate, measure: Callable[[Candidate], Usage | Rejection | None]
) -> Usage | Rejection | None:
    """What `measure` finds of its limit, kept for the risk score: the usage if the order
    breaches the limit, the rejection if the limit cannot be measured, else None."""
    usage = measure(order)
    if not isinstance(usage, Usage):
        return usage
    order.usages.append(usage)
    return usage if usage.breached else None


def position_limit(order: Candidate) -> Rejection | None:
    usage = _breach(order, _position_usage)
    if not isinstance(usage, Usage):
        return usage
    buy = order.signed_quantity > 0
    return RejectReason.POSITION_LIMIT.reject(
        symbol=order.signal.symbol,
        position=order.position,
        working=order.working_buys if buy else order.working_sells,
        side="buy" if buy else "sell",
        quantity=order.signal.quantity,
        worst=usage.after if buy else -usage.after,
        limit=usage.limit,
    )


def _daily_orders_usage(order: Candidate) -> Usage | None:
    limit = order.limits.max_daily_orders
    if limit is None:
        return None
    count = Decimal(order.account.orders_on(order.now_us // DAY_US))
    return Usage(count, count + 1, Decimal(limit))


def _daily_notional_usage(order: Candidate) -> Usage | Rejection | None:
    """Today's approved notional, less what ended unfilled: what filled today and what is
    still working, at the prices the orders were approved at."""
    limit = order.limits.max_daily_notional
    if limit is None:
        return None
    if order.notional is None:
        return _no_market_data(order, "daily notional limit")
    total = order.account.notional_on(order.now_us // DAY_US)
    return Usage(total, total + order.notional, limit)


def daily_limits(order: Candidate) -> Rejection | None:
    count = _breach(order, _daily_orders_usage)
    if isinstance(count, Usage):
        return RejectReason.DAILY_ORDER_COUNT.reject(count=count.before, limit=count.limit)
    notional = _breach(order, _daily_notional_usage)
    if not isinstance(notional, Usage):
        return notional
    return RejectReason.DAILY_NOTIONAL.reject(
        notional=order.notional, total=notional.after, limit=notional.limit
    )


@dataclass(frozen=True, slots=True)
class Exposure:
    """The account's worst-case notional, before and after the order: per symbol, the larger
    of its longest and its shortest possible position (fills plus working orders of one
    side) at its reference price; `gross` sums every symbol's, `sector` those of the order's
    symbol's sector."""

    symbol_before: Decimal
    symbol_after: Decimal
    gross_before: Decimal
    gross_after: Decimal
    sector_before: Decimal
    sector_after: Decimal


def worst_size(position: Decimal, buys: Decimal, sells: Decimal) -> Decimal:
    """A symbol's largest possible position, long or short: every working buy filled and no
    sell, or the reverse (docs/RISK.md, the exposure limits)."""
    return max(abs(position + buys), abs(position - sells))


def _exposure(order: Candidate) -> Exposure | Rejection:
    """The account's `Exposure`, computed once per order. A symbol held or worked without a
    reference price cannot be valued: NO_MARKET_DATA (the first by name, so that a replay
    gives the same reason). The order's own symbol falls back on the order's price."""
    if order.exposure is not None:
        return order.exposure
    signal = order.signal
    positions = order.account.positions
    sector = order.sectors.get(signal.symbol)
    gross = in_sector = symbol_before = _ZERO
    for symbol in sorted(positions.keys() | order.working.keys() | {signal.symbol}):
        buys, sells = order.working.get(symbol, (_ZERO, _ZERO))
        size = worst_size(positions.get(symbol, _ZERO), buys, sells)
        if symbol == signal.symbol:
            mark = order.market.reference_price(symbol) or order.price
        elif size == 0:
            continue
        else:
            mark = order.market.reference_price(symbol)
        if mark is None:
            order.exposure = _no_market_data(order, "exposure limit", symbol)
            return order.exposure
        notional = size * mark
        if symbol == signal.symbol:
            symbol_before, symbol_mark = notional, mark
        gross += notional
        if sector is not None and order.sectors.get(symbol) == sector:
            in_sector += notional
    buys, sells = order.working_buys, order.working_sells
    if order.signed_quantity > 0:
        buys += signal.quantity
    else:
        sells += signal.quantity
    symbol_after = worst_size(order.position, buys, sells) * symbol_mark
    raised = symbol_after - symbol_before
    order.exposure = Exposure(
        symbol_before, symbol_after, gross, gross + raised, in_sector, in_sector + raised
    )
    return order.exposure


def _leverage_usage(order: Candidate) -> Usage | Rejection | None:
    """Gross over equity. Leverage without an equity cannot be measured, and is not waived."""
    limit, equity = order.limits.max_gross_leverage, order.equity
    if limit is None:
        return None
    if equity is None:
        return RejectReason.NO_EQUITY.reject(account_id=order.signal.account_id)
    exposure = _exposure(order)
    if isinstance(exposure, Rejection):
        return exposure
    return Usage(exposure.gross_before / equity, exposure.gross_after / equity, limit)


def gross_leverage(order: Candidate) -> Rejection | None:
    usage = _breach(order, _leverage_usage)
    if not isinstance(usage, Usage):
        return usage
    exposure = _exposure(order)
    assert isinstance(exposure, Exposure)  # measured by the usage
    return RejectReason.GROSS_LEVERAGE.reject(
        gross=exposure.gross_after,
        leverage=usage.after.quantize(_RATIO),
        equity=order.equity,
        limit=usage.limit,
    )


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return part / whole if whole > 0 else _ZERO


def _concentration_usage(order: Candidate) -> Usage | Rejection | None:
    """The order's symbol's share of the gross, once the gross reaches
    `concentration_min_gross` (a first position is all of a book)."""
    limit = order.limits.max_concentration
    if limit is None:
        return None
    exposure = _exposure(order)
    if isinstance(exposure, Rejection):
        return exposure
    if exposure.gross_after < (order.limits.concentration_min_gross or _ZERO):
        return None
    return Usage(
        _share(exposure.symbol_before, exposure.gross_before),
        _share(exposure.symbol_after, exposure.gross_after),
        limit,
    )


def concentration(order: Candidate) -> Rejection | None:
    usage = _breach(order, _concentration_usage)
    if not isinstance(usage, Usage):
        return usage
    exposure = _exposure(order)
    assert isinstance(exposure, Exposure)  # measured by the usage
    return RejectReason.CONCENTRATION.reject(
        symbol=order.signal.symbol,
        exposure=exposure.symbol_after,
        percent=(usage.after * 100).quantize(_RATIO),
        gross=exposure.gross_after,
        limit=format((usage.limit * 100).normalize(), "f"),
    )


def _sector_usage(order: Candidate) -> Usage | Rejection | None:
    """The worst-case notional of every symbol in the order's symbol's sector; a symbol in no
    sector has no sector limit."""
    limit = order.limits.max_sector_exposure
    if limit is None or order.signal.symbol not in order.sectors:
        return None
    exposure = _exposure(order)
    if isinstance(exposure, Rejection):
        return exposure
    return Usage(exposure.sector_before, exposure.sector_after, limit)


def sector_exposure(order: Candidate) -> Rejection | None:
    usage = _breach(order, _sector_usage)
    if not isinstance(usage, Usage):
        return usage
    return RejectReason.SECTOR_EXPOSURE.reject(
        sector=order.sectors[order.signal.symbol],
        exposure=usage.after,
        before=usage.before,
        limit=usage.limit,
    )


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
    bracket,
    instrument_rules,
    order_quantity_limit,
    order_notional_limit,
    price_collar,
    reduce_only,
    position_limit,
    daily_limits,
    gross_leverage,
    concentration,
    sector_exposure,
    order_rate,
)


def risk_score(order: Candidate) -> Decimal:
    """How close an order that passed every check takes the account to its nearest limit: the
    largest share of a limit used with it (0 to 1, to 4 places), of the usages the checks
    measured; 0 with no such limit set."""
    return max((usage.share for usage in order.usages), default=_ZERO).quantize(_SCORE)
