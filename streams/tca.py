"""Transaction cost analysis: each measure of execution quality as a function over plain values.

Notation (the engine's TCA definitions): D = +1 for a buy, −1 for a sell; S the intended
quantity; fills s_j at p_j; P̄ = Σ s_j p_j / Σ s_j; P_d the decision price, P₀ the arrival mid,
P_n the mid when the order completes or is cancelled. A **positive cost is bad** for the trader
everywhere, on either side, which is what D is for. Currency amounts stay exact decimals (they
are sums of exact products); bps and ratios are floats. A measure whose inputs are missing (no
decision price, no arrival mid, no fills, no market data) is None, never a guess.

`analyze` computes them all for one order; the TCA processor and `fillstream tca analyze` both
call it, so the live figures and an analyst's ad-hoc ones come from one place.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from fillstream.schemas.models import Side
from fillstream.settings.tables import refuse_unknown

__all__ = [
    "Analysis",
    "Execution",
    "ExpandedShortfall",
    "Fill",
    "FillQuality",
    "Horizons",
    "IntervalMarket",
    "Market",
    "PeroldShortfall",
    "Print",
    "Spreads",
    "TcaConfig",
    "analyze",
    "average_price",
    "bps",
    "direction",
    "expanded_shortfall",
    "horizon_key",
    "interval_market",
    "markout_bps",
    "mid_at",
    "participation_rate",
    "perold_shortfall",
    "slippage_bps",
    "spreads",
    "timing_cost",
]

SECOND_US = 1_000_000
_BPS = Decimal(10_000)
_ZERO = Decimal(0)


def direction(side: Side | str) -> int:
    """D: +1 for a buy, −1 for a sell, so that one formula makes a cost positive on both sides."""
    return 1 if Side(side) is Side.BUY else -1


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of the order: `quantity` (s_j) at `price` (p_j), at `timestamp` (µs)."""

    quantity: Decimal
    price: Decimal
    timestamp: int = 0


@dataclass(frozen=True, slots=True)
class Print:
    """One public trade of the market."""

    timestamp: int
    price: Decimal
    quantity: Decimal


def _filled(fills: Iterable[Fill]) -> Decimal:
    return sum((fill.quantity for fill in fills), _ZERO)


def _traded_value(fills: Iterable[Fill]) -> Decimal:
    return sum((fill.quantity * fill.price for fill in fills), _ZERO)


def average_price(fills: Sequence[Fill]) -> Decimal | None:
    """P̄ = Σ s_j p_j / Σ s_j; None without fills."""
    filled = _filled(fills)
    return _traded_value(fills) / filled if filled else None


def bps(amount: Decimal | None, notional: Decimal | None) -> float | None:
    """`amount` as basis points of `notional` (× 10⁴); None if either is unknown or zero."""
    if amount is None or not notional:
        return None
    return float(amount * _BPS / notional)


# --- implementation shortfall ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeroldShortfall:
    """Perold's implementation shortfall, in currency: the real portfolio against the paper one.

    Source: A. F. Perold (1988), "The Implementation Shortfall: Paper versus Reality", Journal
    of Portfolio Management 14(3), 4–9. Execution cost D·[Σ s_j p_j − (Σ s_j)·P_d] is what the
    traded part cost against the decision price; opportunity cost D·(S − Σ s_j)·(P_n − P_d) is
    what the untraded part missed; fees are added as they were paid.
    """

    execution: Decimal
    opportunity: Decimal | None
    fees: Decimal

    @property
    def total(self) -> Decimal | None:
        if self.opportunity is None:
            return None
        return self.execution + self.opportunity + self.fees


@dataclass(frozen=True, slots=True)
class ExpandedShortfall:
    """The same shortfall split at the arrival mid P₀, in currency.

    Sources: W. H. Wagner and M. Edwards (1993), "Best Execution", Financial Analysts Journal
    49(1), 65–71 (delay as a separate cost); R. Kissell (2006), "The Expanded Implementation
    Shortfall: Understanding Transaction Cost Components", Journal of Trading 1(3), 6–16, and
    R. Kissell (2013), The Science of Algorithmic Trading and Portfolio Management.
    Delay D·S·(P₀ − P_d) is the market's move while the order travelled to the engine; trading
    D·[Σ s_j p_j − (Σ s_j)·P₀] the cost of what traded against arrival; opportunity
    D·(S − Σ s_j)·(P_n − P₀) what the untraded part missed from arrival on. The parts add up to
    Perold's total exactly: the P₀ terms cancel.
    """

    delay: Decimal | None
    trading: Decimal | None
    opportunity: Decimal | None
    fees: Decimal

    @property
    def total(self) -> Decimal | None:
        if self.delay is None or self.trading is None or self.opportunity is None:
            return None
        return self.delay + self.trading + self.opportunity + self.fees


def _opportunity(
    d: int, unfilled: Decimal, end_price: Decimal | None, reference: Decimal | None
) -> Decimal | None:
    """D·(S − Σ s_j)·(P_n − reference): nothing missed when all filled, unknown without P_n."""
    if not unfilled:
        return _ZERO
    if end_price is None or reference is None:
        return None
    return d * unfilled * (end_price - reference)


def perold_shortfall(
    d: int,
    quantity: Decimal,
    fills: Sequence[Fill],
    decision_price: Decimal | None,
    end_price: Decimal | None,
    fees: Decimal = _ZERO,
) -> PeroldShortfall | None:
    """Perold (1988), see `PeroldShortfall`; None without a decision price."""
    if decision_price is None:
        return None
    filled = _filled(fills)
    return PeroldShortfall(
        execution=d * (_traded_value(fills) - filled * decision_price),
        opportunity=_opportunity(d, quantity - filled, end_price, decision_price),
        fees=fees,
    )


def expanded_shortfall(
    d: int,
    quantity: Decimal,
    fills: Sequence[Fill],
    decision_price: Decimal | None,
    arrival_price: Decimal | None,
    end_price: Decimal | None,
    fees: Decimal = _ZERO,
) -> ExpandedShortfall:
    """Wagner/Kissell's expansion, see `ExpandedShortfall`; each part None without its prices."""
    filled = _filled(fills)
    delay = trading = None
    if arrival_price is not None:
        trading = d * (_traded_value(fills) - filled * arrival_price)
        if decision_price is not None:
            delay = d * quantity * (arrival_price - decision_price)
    return ExpandedShortfall(
        delay=delay,
        trading=trading,
        opportunity=_opportunity(d, quantity - filled, end_price, arrival_price),
        fees=fees,
    )


# --- benchmarks ---------------------------------------------------------------------------------


def slippage_bps(d: int, price: Decimal | None, benchmark: Decimal | None) -> float | None:
    """D·(price − benchmark)/benchmark in bps: the average price against a benchmark price.

    Against P₀ it is arrival slippage (Kissell 2013, "arrival cost"); against the
    interval VWAP it is VWAP slippage (S. A. Berkowitz, D. E. Logue and E. A. Noser (1988),
    "The Total Cost of Transactions on the NYSE", Journal of Finance 43(1), 97–112, who
    introduced the VWAP benchmark).
    """
    if price is None or benchmark is None:
        return None
    return bps(d * (price - benchmark), benchmark)


@dataclass(frozen=True, slots=True)
class IntervalMarket:
    """The market's prints from the order's arrival to its last fill or cancel.

    `vwap` and `volume` count every print of the interval, the order's own fills included:
    that is the market the order traded in, and the volume its participation is a share of.
    `vwap_excluding_own` is the same VWAP without the order's fills (None if they were all the
    volume), the benchmark unbiased by the order itself.
    """

    vwap: Decimal
    vwap_excluding_own: Decimal | None
    volume: Decimal


def interval_market(
    trades: Sequence[Print],
    start_us: int,
    end_us: int,
    fills: Sequence[Fill],
    *,
    trades_include_fills: bool,
) -> IntervalMarket | None:
    """The interval's VWAP and volume; None when the market printed nothing in it.

    `trades_include_fills` says whether `trades` already holds the order's own executions
    (a real venue's public tape) or not (a simulated venue replaying the market as the other
    participants): the own fills are then taken out, or added in, accordingly.
    """
    first = bisect_left(trades, start_us, key=_print_time)
    prints = trades[first : bisect_right(trades, end_us, key=_print_time)]
    if not prints:
        return None
    value = sum((t.price * t.quantity for t in prints), _ZERO)
    volume = sum((t.quantity for t in prints), _ZERO)
    own_value, own_volume = _traded_value(fills), _filled(fills)
    if trades_include_fills:
        others_value, others_volume = value - own_value, volume - own_volume
    else:
        others_value, others_volume = value, volume
        value, volume = value + own_value, volume + own_volume
    return IntervalMarket(
        vwap=value / volume,
        vwap_excluding_own=others_value / others_volume if others_volume > 0 else None,
        volume=volume,
    )


def participation_rate(fills: Sequence[Fill], market: IntervalMarket | None) -> float | None:
    """Own filled quantity ÷ market volume over the same interval, own fills included (the
    participation rate of a POV algorithm; Kissell 2013)."""
    if market is None or not market.volume:
        return None
    return float(_filled(fills) / market.volume)


# --- microstructure -----------------------------------------------------------------------------


def mid_at(mids: Sequence[tuple[int, Decimal]], at_us: int) -> Decimal | None:
    """The mid prevailing at `at_us`: the latest one stamped at or before it (`mids` in time
    order); None before the first."""
    index = bisect_right(mids, at_us, key=_mid_time)
    return mids[index - 1][1] if index else None


def timing_cost(
    d: int, fills: Sequence[Fill], mids: Sequence[Decimal | None], arrival_price: Decimal | None
) -> Decimal | None:
    """D·Σ s_i·(m_i − P₀), currency: how far the mid had drifted from arrival at each fill.

    It is the part of the trading cost the market's own move explains; the rest,
    D·Σ s_i·(p_i − m_i), is what the fills paid against the mid at their time (the dollar
    effective half-spread): the engine's own definition, in the spirit of Kissell (2013)
    separating price appreciation from market impact. `mids[i]` is the mid at fill i; None if
    any is unknown.
    """
    known = [mid for mid in mids if mid is not None]
    if arrival_price is None or len(known) != len(fills):
        return None
    drift = (fill.quantity * (mid - arrival_price) for fill, mid in zip(fills, known, strict=True))
    return d * sum(drift, _ZERO)


@dataclass(frozen=True, slots=True)
class Spreads:
    """One fill's spreads, bps of the mid at the fill, with effective = realized + impact."""

    effective_bps: float
    realized_bps: float | None = None
    impact_bps: float | None = None


def spreads(d: int, price: Decimal, mid: Decimal, later_mid: Decimal | None) -> Spreads:
    """Effective spread 2D(P − m_t)/m_t, realized spread 2D(P − m_{t+Δ})/m_t and price impact
    2D(m_{t+Δ} − m_t)/m_t, in bps.

    Sources: R. D. Huang and H. R. Stoll (1996), "Dealer versus auction markets: A paired
    comparison of execution costs on NASDAQ and the NYSE", Journal of Financial Economics
    41(3), 313–357; H. Bessembinder and H. M. Kaufman (1997), "A Comparison of Trade Execution
    Costs for NYSE and NASDAQ-Listed Stocks", JFQA 32(3), 287–310; the same measures (in
    currency, Δ = 5 minutes) are SEC Rule 605's. The effective spread is what the fill paid
    against the mid; the price impact is how far the mid then moved its way; the realized
    spread is what remained for the other side.

    The two numerators add up exactly (decimal arithmetic); after the division each is
    rounded to a float, so the effective spread is reported as realized + impact, which keeps
    the identity exact in the published figures (it differs from 2D(P − m_t)/m_t by float
    rounding only). Without m_{t+Δ} only the effective spread is known.
    """
    if later_mid is None:
        return Spreads(effective_bps=_ratio_bps(2 * d * (price - mid), mid))
    realized = _ratio_bps(2 * d * (price - later_mid), mid)
    impact = _ratio_bps(2 * d * (later_mid - mid), mid)
    return Spreads(effective_bps=realized + impact, realized_bps=realized, impact_bps=impact)


def markout_bps(d: int, price: Decimal, later_mid: Decimal) -> float:
    """D·(m_{t+h} − P)/P in bps: positive when the price moved in the trader's favour after
    the fill (a buy that the market then marked up). The dealer's post-trade markout, one-sided
    and per unit of price: a realized-spread measure (Huang and Stoll 1996) seen from the
    trader's side, taken at several horizons h."""
    return _ratio_bps(d * (later_mid - price), price)


def _ratio_bps(numerator: Decimal, denominator: Decimal) -> float:
    return float(numerator * _BPS / denominator)


def _mid_time(entry: tuple[int, Decimal]) -> int:
    return entry[0]


def _print_time(entry: Print) -> int:
    return entry.timestamp


# --- one order ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Horizons:
    """How long after each fill the market is looked at again, µs: markouts at each of
    `markouts_us`, realized spread and price impact at `spread_us` (Δ)."""

    markouts_us: tuple[int, ...] = (1 * SECOND_US, 5 * SECOND_US, 30 * SECOND_US, 60 * SECOND_US)
    spread_us: int = 5 * SECOND_US

    @property
    def longest_us(self) -> int:
        """How long after an order ends every figure of it is known."""
        return max((*self.markouts_us, self.spread_us))


def horizon_key(horizon_us: int) -> str:
    """A markout's key: its horizon in seconds (`"1"`, `"0.5"`, `"60"`)."""
    return f"{horizon_us / SECOND_US:g}"


@dataclass(frozen=True, slots=True)
class TcaConfig:
    """The engine's TCA settings (`[tca]` in the engine config).

    `trades_include_fills`: whether `market.trades` carries the engine's own executions. With
    simulated venues it does not (they replay the market as the other participants); a real
    venue's public tape does.
    """

    horizons: Horizons = Horizons()
    trades_include_fills: bool = False

    @classmethod
    def from_dict(cls, table: Mapping[str, Any], *, where: str = "tca") -> TcaConfig:
        """The settings from the `[tca]` table; raises ValueError naming any bad entry (under
        `where`, the table's name)."""

        def at(name: str) -> str:
            return f"{where}.{name}" if where else name

        known = {"markout_seconds", "spread_horizon_seconds", "trades_include_fills"}
        refuse_unknown(table, known, where or "settings")
        default = Horizons()
        markouts = table.get("markout_seconds")
        if markouts is None:
            markouts_us = default.markouts_us
        elif isinstance(markouts, list):
            markouts_us = tuple(
                _seconds_us(value, at(f"markout_seconds[{n}]")) for n, value in enumerate(markouts)
            )
            if len(set(markouts_us)) != len(markouts_us):
                raise ValueError(f"{at('markout_seconds')}: a horizon is listed twice")
        else:
            raise ValueError(f"{at('markout_seconds')}: expected a list of seconds")
        spread = table.get("spread_horizon_seconds")
        flag = table.get("trades_include_fills", False)
        if not isinstance(flag, bool):
            raise ValueError(f"{at('trades_include_fills')}: expected true or false, got {flag!r}")
        return cls(
            horizons=Horizons(
                markouts_us=tuple(sorted(markouts_us)),
                spread_us=default.spread_us
                if spread is None
                else _seconds_us(spread, at("spread_horizon_seconds")),
            ),
            trades_include_fills=flag,
        )


def _seconds_us(value: Any, where: str) -> int:
    """A positive number of seconds, as whole µs."""
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        us = int(Decimal(str(value)) * SECOND_US)
    except (InvalidOperation, ValueError, OverflowError):
        raise ValueError(f"{where}: expected a number of seconds, got {value!r}") from None
    if us <= 0:
        raise ValueError(f"{where}: expected more than 0 seconds, got {value!r}")
    return us


@dataclass(frozen=True, slots=True)
class Execution:
    """One parent order as TCA needs it: what was intended, what filled, the reference prices.

    `arrival_time` and `end_time` bound the interval of the VWAP and participation (the order's
    arrival, its last fill or cancel); without them the first and last fill do.
    """

    side: Side
    quantity: Decimal
    fills: tuple[Fill, ...] = ()
    fees: Decimal = _ZERO
    decision_price: Decimal | None = None
    arrival_price: Decimal | None = None
    end_price: Decimal | None = None
    arrival_time: int | None = None
    end_time: int | None = None


@dataclass(frozen=True, slots=True)
class Market:
    """The market around an order: mids (time-ordered `(timestamp, mid)`) and public prints
    (time-ordered), known up to `known_until` (µs; a later mid is unknown, not the last one)."""

    mids: Sequence[tuple[int, Decimal]] = ()
    trades: Sequence[Print] = ()
    known_until: int | None = None
    trades_include_fills: bool = False

    def mid_at(self, at_us: int) -> Decimal | None:
        if self.known_until is not None and at_us > self.known_until:
            return None
        return mid_at(self.mids, at_us)


@dataclass(frozen=True, slots=True)
class FillQuality:
    """One fill with the mid at its time, its spreads and its markouts (by `horizon_key`)."""

    fill: Fill
    mid: Decimal | None = None
    spreads: Spreads | None = None
    markouts_bps: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Analysis:
    """Every measure of one order. Currency amounts unless named `_bps`; positive = cost,
    except markouts (positive = the market moved the trader's way after the fills).

    The spreads and markouts of the order are its fills' figures weighted by quantity (as
    SEC Rule 605 share-weights them), the effective spread again realized + impact.
    """

    filled_quantity: Decimal
    fill_ratio: float
    average_price: Decimal | None
    perold_execution_cost: Decimal | None
    perold_opportunity_cost: Decimal | None
    delay_cost: Decimal | None
    trading_cost: Decimal | None
    opportunity_cost: Decimal | None
    fees: Decimal
    total_cost: Decimal | None
    total_cost_bps: float | None
    arrival_slippage_bps: float | None
    interval_vwap: Decimal | None
    interval_vwap_excluding_own: Decimal | None
    vwap_slippage_bps: float | None
    participation_rate: float | None
    timing_cost: Decimal | None
    effective_spread_bps: float | None
    realized_spread_bps: float | None
    price_impact_bps: float | None
    markouts_bps: dict[str, float]
    fills: tuple[FillQuality, ...]


def analyze(
    execution: Execution, market: Market | None = None, horizons: Horizons = Horizons()
) -> Analysis:
    """Every measure of one order; those needing market data are None without `market`."""
    d = direction(execution.side)
    fills = execution.fills
    perold = perold_shortfall(
        d,
        execution.quantity,
        fills,
        execution.decision_price,
        execution.end_price,
        execution.fees,
    )
    expanded = expanded_shortfall(
        d,
        execution.quantity,
        fills,
        execution.decision_price,
        execution.arrival_price,
        execution.end_price,
        execution.fees,
    )
    total = perold.total if perold is not None else None
    paper_notional = (
        None if execution.decision_price is None else execution.quantity * execution.decision_price
    )
    average = average_price(fills)
    qualities = tuple(_fill_quality(d, fill, market, horizons) for fill in fills)
    interval = _interval(execution, market)
    realized = _weighted(fills, [q.spreads.realized_bps if q.spreads else None for q in qualities])
    impact = _weighted(fills, [q.spreads.impact_bps if q.spreads else None for q in qualities])
    if realized is not None and impact is not None:
        effective: float | None = realized + impact
    else:
        effective = _weighted(
            fills, [q.spreads.effective_bps if q.spreads else None for q in qualities]
        )
    markouts = {
        key: value
        for key in map(horizon_key, horizons.markouts_us)
        if (value := _weighted(fills, [q.markouts_bps.get(key) for q in qualities])) is not None
    }
    return Analysis(
        filled_quantity=_filled(fills),
        fill_ratio=float(_filled(fills) / execution.quantity),
        average_price=average,
        perold_execution_cost=perold.execution if perold is not None else None,
        perold_opportunity_cost=perold.opportunity if perold is not None else None,
        delay_cost=expanded.delay,
        trading_cost=expanded.trading,
        opportunity_cost=expanded.opportunity,
        fees=execution.fees,
        total_cost=total,
        total_cost_bps=bps(total, paper_notional),
        arrival_slippage_bps=slippage_bps(d, average, execution.arrival_price),
        interval_vwap=interval.vwap if interval is not None else None,
        interval_vwap_excluding_own=interval.vwap_excluding_own if interval is not None else None,
        vwap_slippage_bps=slippage_bps(d, average, interval.vwap if interval else None),
        participation_rate=participation_rate(fills, interval),
        timing_cost=None
        if market is None
        else timing_cost(d, fills, [q.mid for q in qualities], execution.arrival_price),
        effective_spread_bps=effective,
        realized_spread_bps=realized,
        price_impact_bps=impact,
        markouts_bps=markouts,
        fills=qualities,
    )


def _fill_quality(d: int, fill: Fill, market: Market | None, horizons: Horizons) -> FillQuality:
    if market is None:
        return FillQuality(fill)
    mid = market.mid_at(fill.timestamp)
    if mid is None:
        return FillQuality(fill)
    markouts = {
        horizon_key(h): markout_bps(d, fill.price, later)
        for h in horizons.markouts_us
        if (later := market.mid_at(fill.timestamp + h)) is not None
    }
    later_mid = market.mid_at(fill.timestamp + horizons.spread_us)
    return FillQuality(fill, mid, spreads(d, fill.price, mid, later_mid), markouts)


def _interval(execution: Execution, market: Market | None) -> IntervalMarket | None:
    fills = execution.fills
    start = execution.arrival_time
    end = execution.end_time
    if fills:
        start = min(fill.timestamp for fill in fills) if start is None else start
        end = max(fill.timestamp for fill in fills) if end is None else end
    if market is None or start is None or end is None:
        return None
    return interval_market(
        market.trades, start, end, fills, trades_include_fills=market.trades_include_fills
    )


def _weighted(fills: Sequence[Fill], values: Sequence[float | None]) -> float | None:
    """Σ s_j·x_j / Σ s_j over the fills; None without fills or if any x_j is unknown."""
    known = [value for value in values if value is not None]
    if not fills or len(known) != len(fills):
        return None
    weighted = sum(float(f.quantity) * v for f, v in zip(fills, known, strict=True))
    return weighted / float(_filled(fills))
