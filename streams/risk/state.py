"""What risk remembers between signals: per account positions, working orders, today's
counters, recent order times and signal ids, trading state and kill switch; plus the global
kill switch.

The state is mutable and updated in place: the approve path runs for every order and must not
copy it. The functions still return the state, so a replay reads as a fold.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from decimal import Decimal

from fillstream.domain.ids import RecentIds
from fillstream.schemas.models import Command, CommandKind, Side
from fillstream.streams.risk.limits import TradingState

__all__ = [
    "DAY_US",
    "RATE_WINDOW_US",
    "AccountRisk",
    "RiskState",
    "WorkingOrder",
    "apply_command",
    "apply_end",
    "apply_fill",
]

DAY_US = 86_400_000_000
RATE_WINDOW_US = 1_000_000
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    """An approved order that may still fill: what is left of it, and the price it was valued
    at on approval (None: none was known), which its unfilled rest gives back to the daily
    notional of `day` when it ends."""

    symbol: str
    side: Side
    remaining: Decimal
    price: Decimal | None
    day: int


@dataclass(slots=True, eq=False)
class AccountRisk:
    """One account. The daily counters belong to `day` (days since the epoch, UTC) and read as
    zero on any other day; `recent_orders` holds the approval times of the second up to the
    latest approval, oldest first; `signal_ids` the latest signal ids, approved or rejected,
    which catch a re-delivered signal long after any broker retry or restart while the state
    stays bounded; `working` the approved orders not ended yet, by order id, each saved as an
    entry of its own. Each field is saved on its own (`streams.memory`): an account's ids are
    many, and change one by one."""

    durable = (
        "positions",
        "working",
        "day",
        "orders_today",
        "notional_today",
        "recent_orders",
        "signal_ids",
        "trading_state",
        "kill_switch",
    )
    positions: dict[str, Decimal] = field(default_factory=dict)
    working: dict[str, WorkingOrder] = field(default_factory=dict)
    day: int = 0
    orders_today: int = 0
    notional_today: Decimal = _ZERO
    recent_orders: deque[int] = field(default_factory=deque)
    signal_ids: RecentIds = field(default_factory=RecentIds)
    trading_state: TradingState | None = None  # set by a pause; None: as the config says
    kill_switch: bool = False
    # (buys, sells) working per symbol: every check reads them, and an account may hold
    # thousands of working orders. Not saved: rebuilt from `working` on first use after a
    # restore, then kept up to date by the three methods below, which alone change `working`.
    _totals: dict[str, tuple[Decimal, Decimal]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def orders_on(self, day: int) -> int:
        return self.orders_today if day == self.day else 0

    def notional_on(self, day: int) -> Decimal:
        return self.notional_today if day == self.day else _ZERO

    def at_rate(self, start_us: int, limit: int) -> bool:
        """Whether `limit` orders or more were approved after `start_us`. Approval times are
        in order, so only the `limit`-th latest needs a look."""
        recent = self.recent_orders
        if len(recent) < limit:
            return False
        return limit == 0 or recent[-limit] > start_us

    def count_order(self, notional: Decimal | None, now_us: int) -> None:
        day = now_us // DAY_US
        if day != self.day:
            self.day, self.orders_today, self.notional_today = day, 0, _ZERO
        self.orders_today += 1
        if notional is not None:
            self.notional_today += notional
        recent, start = self.recent_orders, now_us - RATE_WINDOW_US
        while recent and recent[0] <= start:
            recent.popleft()
        recent.append(now_us)

    def working_quantities(self) -> dict[str, tuple[Decimal, Decimal]]:
        """What may still fill per symbol: (buys, sells) of the working orders."""
        if self._totals is None:
            self._totals = {}
            for order in self.working.values():
                self._count(order, order.remaining)
        return self._totals

    def add_working(self, order_id: str, order: WorkingOrder) -> None:
        self.working[order_id] = order
        self._count(order, order.remaining)

    def fill_working(self, order_id: str, quantity: Decimal) -> None:
        """`quantity` of order `order_id` filled: it works that much less, or leaves."""
        order = self.working.get(order_id)
        if order is None:
            return
        filled = min(quantity, order.remaining)
        if filled < order.remaining:
            self.working[order_id] = replace(order, remaining=order.remaining - filled)
        else:
            del self.working[order_id]
        self._count(order, -filled)

    def end_working(self, order_id: str) -> WorkingOrder | None:
        """Order `order_id` ended: it works no more. What it was, if it was working."""
        order = self.working.pop(order_id, None)
        if order is not None:
            self._count(order, -order.remaining)
        return order

    def _count(self, order: WorkingOrder, quantity: Decimal) -> None:
        totals = self._totals
        if totals is None:
            return  # built on first use
        buys, sells = totals.get(order.symbol, (_ZERO, _ZERO))
        if order.side is Side.BUY:
            buys += quantity
        else:
            sells += quantity
        if buys or sells:
            totals[order.symbol] = (buys, sells)
        else:
            totals.pop(order.symbol, None)


@dataclass(slots=True, eq=False)
class RiskState:
    """Every account's risk state and the global kill switch."""

    accounts: dict[str, AccountRisk] = field(default_factory=dict)
    kill_switch: bool = False

    def account(self, account_id: str) -> AccountRisk:
        """The account's state, created empty on first use."""
        account = self.accounts.get(account_id)
        if account is None:
            account = self.accounts[account_id] = AccountRisk()
        return account


def apply_fill(
    state: RiskState,
    account_id: str,
    symbol: str,
    side: Side,
    quantity: Decimal,
    order_id: str | None = None,
) -> RiskState:
    """Move the position by one execution: positions are the signed sum of fills (+ long).
    What filled is no longer working: the order `order_id` (the parent's id, as approved)
    shrinks by it, and leaves once nothing of it is left."""
    account = state.account(account_id)
    signed = quantity if side is Side.BUY else -quantity
    account.positions[symbol] = account.positions.get(symbol, _ZERO) + signed
    if order_id is not None:
        account.fill_working(order_id, quantity)
    return state


def apply_end(state: RiskState, account_id: str, order_id: str, unfilled: Decimal) -> RiskState:
    """An order ended (filled, cancelled, expired or rejected) with `unfilled` of it never
    filled: it stops counting, and today's notional gives back what it had counted for that.
    The end states what never filled, so it need not wait for the order's last fills, which
    reach risk on another topic, before or after it."""
    account = state.accounts.get(account_id)
    if account is None:
        return state
    order = account.end_working(order_id)
    if order is not None and order.price is not None and order.day == account.day:
        account.notional_today -= unfilled * order.price
    return state


def apply_command(
    state: RiskState, command: Command, paused_at_start: frozenset[str] = frozenset()
) -> RiskState:
    """Pause (halt) or resume an account, or turn a kill switch on or off.

    A kill switch command without an account is the global one. Resume lifts a pause and returns
    the account to its configured state; it does not lift a `reducing` or `halted` set in the
    config. An account of `paused_at_start` (`[[accounts]]` with `state = "paused"`, which
    the config refuses to give a trading state too) resumes active. Order commands (cancel,
    modify) are not risk's and leave the state as it is.
    """
    kind, account_id = command.kind, command.account_id
    if kind in (CommandKind.KILL_SWITCH, CommandKind.RELEASE_KILL_SWITCH):
        on = kind is CommandKind.KILL_SWITCH
        if account_id is None:
            state.kill_switch = on
        else:
            state.account(account_id).kill_switch = on
    elif kind in (CommandKind.PAUSE, CommandKind.RESUME) and account_id is not None:
        paused = kind is CommandKind.PAUSE
        resumed = TradingState.ACTIVE if account_id in paused_at_start else None
        state.account(account_id).trading_state = TradingState.HALTED if paused else resumed
    return state
