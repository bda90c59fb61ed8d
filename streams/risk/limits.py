"""Risk limits and where they come from: defaults, then per account, per symbol, per both.

The most specific level wins, field by field: account+symbol, then symbol, then the symbol's
sector, then account, then the defaults. An absent field means no limit; an override can tighten
or loosen a limit but not remove one (set a large value instead). The mapping is the `[risk]`
table of the engine's TOML file (`[risk.defaults]`, `[risk.accounts.<a>]`,
`[risk.sectors.<name>]` with its `symbols`, `[risk.symbols.<s>]`,
`[risk.accounts.<a>.symbols.<s>]`); numbers may be TOML numbers or decimal strings. An
account's `equity` (what its gross leverage is measured against) sits in its table too.
docs/RISK.md says what each limit counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, get_args, get_type_hints

from fillstream.domain.instruments import Instrument, InstrumentBook
from fillstream.settings.tables import refuse_unknown

__all__ = ["Limits", "RiskConfig", "TradingState"]


class TradingState(StrEnum):
    """What an account may do: trade, only reduce its positions, or nothing."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


@dataclass(frozen=True, slots=True)
class Limits:
    """One level of limits, or the resolved limits for an account and symbol.

    Position, order size and notional are absolute amounts; daily and rate limits count the
    account's orders across all symbols (a symbol's value caps that total when it trades the
    symbol). The collar is in basis points of the reference price. Leverage is gross notional
    over equity (2 = twice the equity); concentration a fraction of the account's gross (0.4 =
    40%), checked once the gross reaches `concentration_min_gross`; sector exposure a notional.
    `max_slippage_bps` is not checked here: risk carries the resolved value on the approved
    order, for the desk's slippage collar (streams/execution/collar.py).
    """

    max_order_quantity: Decimal | None = None
    max_order_notional: Decimal | None = None
    max_position: Decimal | None = None
    max_daily_orders: int | None = None
    max_daily_notional: Decimal | None = None
    price_collar_bps: Decimal | None = None
    max_orders_per_second: int | None = None
    reduce_only: bool | None = None
    max_gross_leverage: Decimal | None = None
    max_concentration: Decimal | None = None
    concentration_min_gross: Decimal | None = None
    max_sector_exposure: Decimal | None = None
    max_slippage_bps: Decimal | None = None

    @classmethod
    def layered(cls, *levels: Limits | None) -> Limits:
        """Levels from least to most specific, merged field by field: the last value set wins."""
        values: dict[str, Any] = {}
        for level in levels:
            if level is not None:
                values.update(
                    (name, value)
                    for name in _FIELD_PARSERS
                    if (value := getattr(level, name)) is not None
                )
        return cls(**values)

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any], *, where: str) -> Limits:
        """One level from its config table; `where` names the table in error messages."""
        refuse_unknown(entry, _FIELD_PARSERS, where)
        limits = cls(
            **{
                name: _FIELD_PARSERS[name](value, f"{where}.{name}")
                for name, value in entry.items()
            }
        )
        if limits.max_concentration is not None and limits.max_concentration > 1:
            raise ValueError(
                f"{where}.max_concentration: a fraction of the gross (0.25 = 25%), at most 1,"
                f" got {entry['max_concentration']!r}"
            )
        if limits.max_slippage_bps is not None and limits.max_slippage_bps >= 10_000:
            raise ValueError(
                f"{where}.max_slippage_bps: basis points of the reference price, below 10,000"
                f" (a sell's collar would be at zero or below), got {entry['max_slippage_bps']!r}"
            )
        return limits


def _amount(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{where}: expected a number, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{where}: expected a finite number >= 0, got {value!r}")
    return amount


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}: expected a whole number >= 0, got {value!r}")
    return value


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    return value


# Each field's parser, from its type: Decimal | None -> _amount, and so on.
_PARSER_OF_TYPE: dict[type, Callable[[Any, str], Any]] = {
    Decimal: _amount,
    int: _count,
    bool: _flag,
}
_FIELD_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    limit.name: _PARSER_OF_TYPE[get_args(get_type_hints(Limits)[limit.name])[0]]
    for limit in fields(Limits)
}


@dataclass(frozen=True)
class RiskConfig:
    """Everything risk checks a signal against that does not change with trading."""

    instruments: InstrumentBook
    defaults: Limits = Limits()
    accounts: Mapping[str, Limits] = field(default_factory=dict)
    symbols: Mapping[str, Limits] = field(default_factory=dict)
    account_symbols: Mapping[tuple[str, str], Limits] = field(default_factory=dict)
    trading_states: Mapping[str, TradingState] = field(default_factory=dict)
    equities: Mapping[str, Decimal] = field(default_factory=dict)
    sectors: Mapping[str, str] = field(default_factory=dict)  # symbol -> its sector
    sector_limits: Mapping[str, Limits] = field(default_factory=dict)
    # Accounts the `[[accounts]]` config starts paused: halted until a resume command.
    paused_at_start: frozenset[str] = frozenset()
    # Accounts the `[[accounts]]` config declares: risk publishes their state.
    tracked: frozenset[str] = frozenset()
    # Memos of the lookups on the hot path; the config is immutable, so they never go stale.
    _resolved: dict[tuple[str, str], Limits] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _listed: dict[tuple[str | None, str], tuple[Instrument, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def limits_for(self, account_id: str, symbol: str) -> Limits:
        key = (account_id, symbol)
        limits = self._resolved.get(key)
        if limits is None:
            sector = self.sectors.get(symbol)
            limits = self._resolved[key] = Limits.layered(
                self.defaults,
                self.accounts.get(account_id),
                None if sector is None else self.sector_limits.get(sector),
                self.symbols.get(symbol),
                self.account_symbols.get(key),
            )
        return limits

    def listings(self, venue: str | None, symbol: str) -> tuple[Instrument, ...]:
        """The instruments an order may go to: the named venue's, else every venue's."""
        key = (venue, symbol)
        listed = self._listed.get(key)
        if listed is None:
            book = self.instruments
            venues = [venue] if venue is not None else book.venues_for(symbol)
            listed = self._listed[key] = tuple(
                instrument for name in venues if (instrument := book.get(name, symbol)) is not None
            )
        return listed

    def trading_state(self, account_id: str) -> TradingState:
        """The state the config gives the account (active unless it says otherwise)."""
        if account_id in self.paused_at_start:
            return TradingState.HALTED
        return self.trading_states.get(account_id, TradingState.ACTIVE)

    def equity(self, account_id: str) -> Decimal | None:
        """The account's equity as configured; None if the config does not say."""
        return self.equities.get(account_id)

    @classmethod
    def from_dict(
        cls, mapping: Mapping[str, Any], instruments: InstrumentBook, *, where: str = "risk"
    ) -> RiskConfig:
        """The config from its `[risk]` table; raises ValueError naming any bad entry."""
        refuse_unknown(mapping, {"defaults", "accounts", "sectors", "symbols"}, where)
        accounts: dict[str, Limits] = {}
        account_symbols: dict[tuple[str, str], Limits] = {}
        trading_states: dict[str, TradingState] = {}
        equities: dict[str, Decimal] = {}
        for account_id, entry in mapping.get("accounts", {}).items():
            here = f"{where}.accounts.{account_id}"
            limits = dict(entry)
            for symbol, nested in limits.pop("symbols", {}).items():
                account_symbols[account_id, symbol] = Limits.from_dict(
                    nested, where=f"{here}.symbols.{symbol}"
                )
            if "trading_state" in limits:
                trading_states[account_id] = _trading_state(
                    limits.pop("trading_state"), f"{here}.trading_state"
                )
            if "equity" in limits:
                equities[account_id] = _equity(limits.pop("equity"), f"{here}.equity")
            accounts[account_id] = Limits.from_dict(limits, where=here)
        sectors, sector_limits = _sectors(mapping.get("sectors", {}), f"{where}.sectors")
        return cls(
            instruments=instruments,
            defaults=Limits.from_dict(mapping.get("defaults", {}), where=f"{where}.defaults"),
            accounts=accounts,
            symbols={
                symbol: Limits.from_dict(entry, where=f"{where}.symbols.{symbol}")
                for symbol, entry in mapping.get("symbols", {}).items()
            },
            account_symbols=account_symbols,
            trading_states=trading_states,
            equities=equities,
            sectors=sectors,
            sector_limits=sector_limits,
        )


def _trading_state(value: Any, where: str) -> TradingState:
    try:
        return TradingState(str(value).lower())
    except ValueError:
        choices = ", ".join(state.value for state in TradingState)
        raise ValueError(f"{where}: expected one of {choices}, got {value!r}") from None


def _equity(value: Any, where: str) -> Decimal:
    """Equity is what leverage divides by: zero would make any position infinite leverage."""
    equity = _amount(value, where)
    if equity == 0:
        raise ValueError(f"{where}: expected an amount > 0, got {value!r}")
    return equity


def _sectors(tables: Mapping[str, Any], where: str) -> tuple[dict[str, str], dict[str, Limits]]:
    """Each symbol's sector, and each sector's limits, from `[risk.sectors.<name>]` tables of
    `symbols` and limits. A symbol is in one sector at most: two would make its limits and its
    sector exposure ambiguous."""
    sectors: dict[str, str] = {}
    limits: dict[str, Limits] = {}
    for sector, entry in tables.items():
        here = f"{where}.{sector}"
        table = dict(entry)
        symbols = table.pop("symbols", None)
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise ValueError(f"{here}.symbols: expected a list of symbols, got {symbols!r}")
        for symbol in symbols:
            if symbol in sectors:
                raise ValueError(f"{here}.symbols: {symbol} is already in sector {sectors[symbol]}")
            sectors[symbol] = sector
        limits[sector] = Limits.from_dict(table, where=here)
    return sectors, limits
