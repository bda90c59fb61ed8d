"""What risk publishes of each configured account (`accounts.state`): where it stands.

Risk holds the account's positions and working orders already; for the allocator it also keeps
the account's money (`AccountBook`): the cash its fills moved and the last price each symbol
filled at, and the marks of its PnL (the day's opening value, the highest value). PnL is cash
plus the positions at the reference price (the last fill price where risk has none), before
fees; the daily PnL is PnL less its value at the first change of the UTC day; the drawdown is
how far PnL stands below its highest. Figures are as of the account's latest change: a fill,
an approval, an order's end, a command.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from fillstream.schemas.models import AccountState, AccountStatus, Side
from fillstream.streams.risk.checks import worst_size
from fillstream.streams.risk.limits import RiskConfig, TradingState
from fillstream.streams.risk.market import MarketView
from fillstream.streams.risk.state import DAY_US, AccountRisk, RiskState

__all__ = ["AccountBook", "account_status", "book_fill", "stand"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class AccountBook:
    """One account's money: `cash` (signed: sells add), `prices` the last fill price by
    symbol, `pnl` as last published, `day` (days since the epoch) and `day_open` the PnL its
    first change started from, `peak` the highest PnL."""

    cash: Decimal = _ZERO
    prices: dict[str, Decimal] = field(default_factory=dict)
    pnl: Decimal = _ZERO
    day: int = 0
    day_open: Decimal = _ZERO
    peak: Decimal = _ZERO


def book_fill(
    book: AccountBook, symbol: str, side: Side, quantity: Decimal, price: Decimal
) -> AccountBook:
    """One execution: a buy pays, a sell receives."""
    signed = quantity * price
    return replace(
        book,
        cash=book.cash - signed if side is Side.BUY else book.cash + signed,
        prices={**book.prices, symbol: price},
    )


def account_status(config: RiskConfig, state: RiskState, account_id: str) -> AccountStatus:
    """What the account may do now: a kill switch halts it; a pause (by command, or from the
    start) pauses it until resumed; else its configured trading state."""
    account = state.accounts.get(account_id)
    if state.kill_switch or (account is not None and account.kill_switch):
        return AccountStatus.HALTED
    chosen = None if account is None else account.trading_state
    if chosen is TradingState.HALTED or (chosen is None and account_id in config.paused_at_start):
        return AccountStatus.PAUSED
    configured = chosen or config.trading_state(account_id)
    return AccountStatus(configured.value)


def stand(
    account_id: str,
    account: AccountRisk,
    book: AccountBook,
    status: AccountStatus,
    market: MarketView,
    now_us: int,
) -> tuple[AccountBook, AccountState]:
    """The account's state now, and its book with the marks moved."""

    def mark(symbol: str) -> Decimal:
        return market.reference_price(symbol) or book.prices.get(symbol, _ZERO)

    positions = {symbol: quantity for symbol, quantity in account.positions.items() if quantity}
    pnl = book.cash + sum((q * mark(s) for s, q in positions.items()), _ZERO)
    working = account.working_quantities()
    exposure = sum(  # the gross the exposure limits measure: each symbol at its worst case
        (
            worst_size(positions.get(symbol, _ZERO), *working.get(symbol, (_ZERO, _ZERO)))
            * mark(symbol)
            for symbol in positions.keys() | working.keys()
        ),
        _ZERO,
    )
    day = now_us // DAY_US
    day_open = book.day_open if day == book.day else book.pnl
    book = replace(book, pnl=pnl, day=day, day_open=day_open, peak=max(book.peak, pnl))
    return book, AccountState(
        account_id=account_id,
        status=status,
        positions=positions,
        exposure=exposure,
        working_orders=len(account.working),
        pnl=pnl,
        daily_pnl=pnl - day_open,
        drawdown=book.peak - pnl,
        updated_at=now_us,
    )
