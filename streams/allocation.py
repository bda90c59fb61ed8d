"""Allocation: one group signal split across its group's accounts, with the reasons why.

`allocate(signal, group, members, standing, correlations, lot, funds)` is pure: no Kafka, no
clock.

1. **Each account's capacity**, a notional. Its equity is its balance plus its PnL; the margin
   in use is its exposure over its leverage; the available margin is what equity leaves of it
   (at least 0), or, for the one account on a ccxt venue that names its `currency`, the
   venue's free balance of that currency as the gateway last fetched it (the venue's word
   over the engine's estimate); at its leverage it carries `available margin x leverage`.
   Its remaining risk budget is today's budget less today's loss (at least 0), which
   carries `remaining budget / adverse move` (the group's share of a notional a day may
   cost).
   Capacity is the smaller of the two.
2. **Skipped**: an account not `active` (paused, halted, reducing), one whose daily loss
   reached its `max_daily_loss`, one with no capacity, one at its drawdown limit, and one whose
   `max_position` leaves no room on the signal's side. A skipped account gets nothing and
   its line says why.
3. **Drawdown**: the weight is the capacity times `1 - drawdown / max_drawdown`, linearly
   down to zero at the limit.
4. **Correlation**: accounts whose pairwise correlation is above the group's
   `max_correlation` (a pair above it links them; links chain) share one allocation, as if
   they were one account: the cluster weighs the mean of its members' weights, split between
   them in proportion to their own.
5. **Sizes**: the quantity pro rata to the weights, each capped at its `max_position` room;
   each size is rounded down to whole lots; the whole lots the rounding left over go one by
   one to the largest remainders (ties by account id) where they fit; what is less than a
   lot, or above every cap, is left unallocated. A child below the instrument's minimum
   quantity is dropped.

Each child is the parent signal for one account, with the id `<parent signal id>:<account id>`:
a repeated parent gives the same children, and risk checks each as usual. A child keeps its
parent's `allocation_group`, which on `signals` marks an allocation's child (a group signal
itself goes to `signals.group`): its order's end then reaches the allocator, keyed by the
group, for failover (streams/failover.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from fillstream.schemas.decimals import format_decimal
from fillstream.schemas.models import (
    AccountState,
    AccountStatus,
    Allocation,
    AllocationLine,
    Side,
    Signal,
    pair_id,
)
from fillstream.streams.accounts import AccountConfig, GroupConfig, VenueFunds

__all__ = [
    "Lot",
    "Measured",
    "allocate",
    "available_margin",
    "child_signal_id",
    "children_of",
    "figure",
    "funds_text",
    "measure",
    "remaining_budget",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)


@dataclass(frozen=True)
class Lot:
    """The instrument's sizes: children are whole multiples of `size`, at least `minimum`."""

    size: Decimal
    minimum: Decimal = _ZERO


@dataclass(frozen=True)
class Measured:
    """An account as the allocation sees it, before correlation."""

    config: AccountConfig
    status: AccountStatus
    available_margin: Decimal
    remaining_budget: Decimal
    drawdown: Decimal
    capacity: Decimal
    drawdown_factor: Decimal
    room: Decimal | None  # what max_position leaves on the signal's side; None: no limit
    skipped: str | None  # why it gets nothing
    notes: tuple[str, ...]

    @property
    def weight(self) -> Decimal:
        return _ZERO if self.skipped else self.capacity * self.drawdown_factor


def child_signal_id(parent_signal_id: str, account_id: str) -> str:
    return f"{parent_signal_id}:{account_id}"


def funds_text(funds: VenueFunds) -> str:
    """Where an account's venue-stated margin comes from, as the rationale writes it."""
    fetched = datetime.fromtimestamp(funds.fetched_at / 1e6, UTC).isoformat(timespec="seconds")
    return f"{funds.venue}'s free {funds.currency} balance, fetched {fetched}"


def figure(value: Decimal) -> str:
    """An amount as the rationale's notes write it: plain digits, no trailing zeros."""
    return format_decimal(value.normalize() if value else _ZERO)


def available_margin(
    account: AccountConfig, standing: AccountState | None, funds: VenueFunds | None = None
) -> Decimal:
    """Equity (balance plus PnL) less the margin in use (exposure over leverage), >= 0; or
    what the account's venue says is free, where it speaks for the account (`funds`)."""
    if funds is not None:
        return funds.free
    if standing is None:
        return account.balance
    used = standing.exposure / account.leverage
    return max(_ZERO, account.balance + standing.pnl - used)


def remaining_budget(account: AccountConfig, standing: AccountState | None) -> Decimal:
    """Today's risk budget less today's loss, >= 0 (a gain does not enlarge it)."""
    loss = _ZERO if standing is None else max(_ZERO, -standing.daily_pnl)
    return max(_ZERO, account.risk_budget - loss)


def measure(
    account: AccountConfig,
    standing: AccountState | None,
    group: GroupConfig,
    signal: Signal,
    funds: VenueFunds | None = None,
) -> Measured:
    """Steps 1 to 3 for one account; `standing` is risk's latest state of it (None: risk has
    not published it yet, so it stands as configured, flat), `funds` its venue's word on its
    free money, where the venue speaks for it."""
    status = account.state if standing is None else standing.status
    daily_loss = _ZERO if standing is None else max(_ZERO, -standing.daily_pnl)
    drawdown = _ZERO if standing is None else standing.drawdown
    position = _ZERO if standing is None else standing.positions.get(signal.symbol, _ZERO)

    available = available_margin(account, standing, funds)
    remaining = remaining_budget(account, standing)
    by_margin = available * account.leverage
    by_budget = remaining / group.adverse_move
    capacity = min(by_margin, by_budget)
    notes = [] if funds is None else [f"margin {figure(available)}: {funds_text(funds)}"]
    notes += [
        f"capacity {figure(capacity)}: the smaller of margin {figure(available)} x leverage"
        f" {figure(account.leverage)} = {figure(by_margin)} and budget {figure(remaining)} /"
        f" adverse move {figure(group.adverse_move)} = {figure(by_budget)}"
    ]
    factor = _ONE
    if account.max_drawdown is not None:
        factor = min(_ONE, max(_ZERO, _ONE - drawdown / account.max_drawdown))
        if factor < _ONE:
            notes.append(
                f"drawdown {figure(drawdown)} of its limit {figure(account.max_drawdown)}:"
                f" weight x {figure(factor)}"
            )
    room = None
    if account.max_position is not None:
        held = position if signal.side is Side.BUY else -position
        room = max(_ZERO, account.max_position - held)

    skipped = None
    if status is not AccountStatus.ACTIVE:
        skipped = f"skipped: {status.value}"
    elif account.max_daily_loss is not None and daily_loss >= account.max_daily_loss:
        skipped = (
            f"skipped: today's loss {figure(daily_loss)} reached its limit"
            f" {figure(account.max_daily_loss)}"
        )
    elif factor == _ZERO:
        skipped = (
            f"skipped: drawdown {figure(drawdown)} at its limit {figure(account.max_drawdown)}"
        )
    elif capacity == _ZERO:
        skipped = "skipped: no capacity"
    elif room == _ZERO:
        skipped = (
            f"skipped: position {figure(position)} leaves no room under its max_position"
            f" {figure(account.max_position)} for a {signal.side.value}"
        )
    return Measured(
        account, status, available, remaining, drawdown, capacity, factor, room, skipped,
        tuple(notes),
    )  # fmt: skip


def _clusters(
    ids: Sequence[str], correlations: Mapping[str, float], threshold: float
) -> list[list[str]]:
    """The accounts linked by a correlation above `threshold`, chained; each cluster sorted."""
    leader = {account: account for account in ids}

    def root(account: str) -> str:
        while leader[account] != account:
            account = leader[account]
        return account

    for position, first in enumerate(ids):
        for second in ids[position + 1 :]:
            if correlations.get(pair_id(first, second), 0.0) > threshold:
                a, b = sorted((root(first), root(second)))
                leader[b] = a
    clusters: dict[str, list[str]] = {}
    for account in ids:
        clusters.setdefault(root(account), []).append(account)
    return list(clusters.values())


def allocate(
    signal: Signal,
    group: GroupConfig,
    members: Sequence[AccountConfig],
    standing: Mapping[str, AccountState],
    correlations: Mapping[str, float],
    lot: Lot,
    funds: Mapping[str, VenueFunds] = MappingProxyType({}),
) -> tuple[list[Signal], Allocation]:
    """The children of `signal` (a signal to `group`) and the rationale; `standing` is risk's
    state by account, `correlations` by `pair_id`, `funds` the venues' word on the free money
    of the accounts they speak for (AccountsConfig.venue_funds)."""
    measured = {
        account.id: measure(account, standing.get(account.id), group, signal, funds.get(account.id))
        for account in sorted(members, key=lambda account: account.id)
    }
    notes = {account_id: list(m.notes) for account_id, m in measured.items()}
    for account_id, m in measured.items():
        if m.skipped:
            notes[account_id].append(m.skipped)

    eligible = [account_id for account_id, m in measured.items() if not m.skipped]
    weights = {account_id: _ZERO for account_id in measured}
    together: dict[str, list[str]] = {account_id: [] for account_id in measured}
    for cluster in _clusters(eligible, correlations, group.max_correlation):
        own = sum((measured[a].weight for a in cluster), _ZERO)
        shared = own / len(cluster)
        for account_id in cluster:
            weights[account_id] = shared * measured[account_id].weight / own
            together[account_id] = [other for other in cluster if other != account_id]
            if len(cluster) > 1:
                links = ", ".join(
                    f"{other} ({correlations[pair_id(account_id, other)]:g})"
                    for other in together[account_id]
                    if pair_id(account_id, other) in correlations
                    and correlations[pair_id(account_id, other)] > group.max_correlation
                )
                notes[account_id].append(
                    f"correlated above {group.max_correlation:g} with {links}: shares one"
                    f" allocation with {', '.join(together[account_id])}, weight"
                    f" {figure(measured[account_id].weight)} -> {figure(weights[account_id])}"
                )

    # Shares are exact fractions, so that they sum to the quantity and round as computed by
    # hand: a decimal division would leave 1/3 + 1/3 + 1/3 short of 1.
    total = sum(weights.values(), _ZERO)
    shares = {account_id: Fraction(0) for account_id in measured}
    if total > 0:
        for account_id in eligible:
            share = Fraction(signal.quantity) * Fraction(weights[account_id]) / Fraction(total)
            room = measured[account_id].room
            if room is not None and share > room:
                notes[account_id].append(
                    f"capped at {figure(room)}, the room its max_position leaves (pro rata"
                    f" {figure(Decimal(share.numerator) / share.denominator)})"
                )
                share = Fraction(room)
            shares[account_id] = share

    size = Fraction(lot.size)
    lots = {account_id: math.floor(share / size) for account_id, share in shares.items()}
    spare = math.floor(sum(shares.values()) / size) - sum(lots.values())
    by_remainder = sorted(eligible, key=lambda a: (lots[a] - shares[a] / size, a))
    for account_id in by_remainder:
        if spare <= 0:
            break
        room = measured[account_id].room
        if room is not None and (lots[account_id] + 1) * lot.size > room:
            continue
        lots[account_id] += 1
        spare -= 1
        notes[account_id].append("one more lot: the largest remainder of the rounding")

    lines: list[AllocationLine] = []
    for account_id, m in measured.items():
        quantity = lots[account_id] * lot.size
        if 0 < quantity < lot.minimum:
            notes[account_id].append(
                f"dropped: {figure(quantity)} is below the minimum quantity {figure(lot.minimum)}"
            )
            quantity = _ZERO
        lines.append(
            AllocationLine(
                account_id=account_id,
                status=m.status,
                available_margin=m.available_margin,
                remaining_budget=m.remaining_budget,
                drawdown=m.drawdown,
                capacity=m.capacity,
                drawdown_factor=m.drawdown_factor,
                weight=weights[account_id],
                correlated_with=together[account_id],
                quantity=quantity,
                child_signal_id=child_signal_id(signal.signal_id, account_id) if quantity else None,
                notes=notes[account_id],
            )
        )

    allocated = sum((line.quantity for line in lines), _ZERO)
    summary = []
    if not members:
        summary.append(f"group {group.name} has no accounts")
    elif total == 0:
        summary.append("no account of the group could take any of it")
    if allocated < signal.quantity:
        summary.append(
            f"unallocated {figure(signal.quantity - allocated)}: below one lot of"
            f" {figure(lot.size)} after rounding, beyond the accounts' caps, or below their"
            " minimum quantity"
            if total > 0
            else f"unallocated {figure(signal.quantity - allocated)}"
        )
    rationale = Allocation(
        signal_id=signal.signal_id,
        allocation_group=group.name,
        strategy_id=signal.strategy_id,
        symbol=signal.symbol,
        side=signal.side,
        quantity=signal.quantity,
        allocated=allocated,
        lot_size=lot.size,
        max_correlation=group.max_correlation,
        accounts=lines,
        notes=summary,
        created_at=signal.created_at,
    )
    accounts = {account_id: m.config for account_id, m in measured.items()}
    return children_of(signal, rationale, accounts), rationale


def children_of(
    parent: Signal, rationale: Allocation, accounts: Mapping[str, AccountConfig]
) -> list[Signal]:
    """The child signals an allocation (or a failover) chose: the parent for each account given
    a quantity, on the account's venue unless the parent names one; an iceberg's display no
    larger than the child."""
    children = []
    for line in rationale.accounts:
        if line.child_signal_id is None:
            continue
        display = parent.display_quantity
        children.append(
            parent.model_copy(
                update={
                    "signal_id": line.child_signal_id,
                    "account_id": line.account_id,
                    "exchange": parent.exchange or accounts[line.account_id].venue,
                    "quantity": line.quantity,
                    "display_quantity": None if display is None else min(display, line.quantity),
                }
            )
        )
    return children
