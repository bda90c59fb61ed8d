"""Failover: a group signal's child that failed hands what it left unfilled to another account.

`fail_over(book, allocation, ended, standing, lot, accounts)` is pure: no Kafka, no clock.

A child fails when its order ends with part of it unfilled: refused by risk (the OMS ends it
`rejected` with risk's reason), rejected, expired or cancelled at the venue, or cancelled
because its account was paused or halted. Its unfilled quantity, rounded down to whole lots,
goes to the **next eligible account** of the allocation: the first, by the allocation's own
ranking (its weight, highest first, ties by account id), that the allocation did not skip,
whose child has not failed for this parent, and that risk does not hold paused, halted or
reducing now. Each account fails once: after its first failure it takes no more, so a chain of
failures walks down the ranking and ends when no account is left, with the quantity
unallocated and the rationale saying so.

The new child is the parent signal for that account, created at the failure's time, with the
id `<parent signal id>:<account id>:f<n>` (n counts that account's failover children for
this parent, from 1). Every failover publishes a rationale of its own (`failover_of` names the
failed child): why it failed, what it left, who takes it and why the others do not. A failure
already handled (the same child's end, delivered again) gives the same child and rationale.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from fillstream.schemas.models import (
    AccountState,
    AccountStatus,
    Allocation,
    AllocationLine,
    OrderState,
    Signal,
)
from fillstream.streams.accounts import AccountConfig
from fillstream.streams.allocation import Lot, child_signal_id, children_of, figure

__all__ = [
    "Failover",
    "Failovers",
    "fail_over",
    "failover_signal_id",
    "parent_signal_id",
    "parent_signal_ids",
]

_ZERO = Decimal(0)
_FAILOVER_NUMBER = re.compile(r"f[1-9][0-9]*")  # as `failover_signal_id` writes it


@dataclass(frozen=True)
class Failover:
    """One failed child and the rationale of what became of its unfilled quantity."""

    child_signal_id: str
    account_id: str
    rationale: Allocation


@dataclass(frozen=True)
class Failovers:
    """A group signal and its failovers so far, in the order they happened."""

    parent: Signal
    history: tuple[Failover, ...] = ()

    def handled(self, child: str) -> Failover | None:
        return next((done for done in self.history if done.child_signal_id == child), None)

    def names(self, child: str, account_id: str) -> bool:
        """Whether `child` (of `account_id`) is this parent's: its allocation's or a
        failover's."""
        return child == child_signal_id(self.parent.signal_id, account_id) or any(
            line.child_signal_id == child
            for done in self.history
            for line in done.rationale.accounts
        )


def failover_signal_id(parent_signal_id: str, account_id: str, number: int) -> str:
    return f"{child_signal_id(parent_signal_id, account_id)}:f{number}"


def parent_signal_ids(child: str, account_id: str) -> tuple[str, ...]:
    """The group signals a child's id of `account_id` may name: `<parent>:<account>:f<n>`
    read first, then `<parent>:<account>`; none if it names none. A parent id may hold colons
    itself (a schedule's occurrence), and an account id may look like a failover's number
    (`f1`), so `p:f1:f1` of account `f1` reads both ways: `p`'s failover child or `p:f1`'s
    child. Which one is, only the parents' memory can say (`Failovers.names`)."""
    head, _, tail = child.rpartition(":")
    readings = [_before(head, account_id)] if _FAILOVER_NUMBER.fullmatch(tail) else []
    readings.append(_before(child, account_id))
    return tuple(parent for parent in readings if parent)


def parent_signal_id(child: str, account_id: str) -> str | None:
    """The first of `parent_signal_ids`, or None."""
    return next(iter(parent_signal_ids(child, account_id)), None)


def _before(child: str, account_id: str) -> str | None:
    """`<parent>` of `<parent>:<account>`."""
    parent, _, account = child.rpartition(":")
    return parent if account == account_id else None


def _why(ended: OrderState) -> str:
    return ended.status.value + (f" ({ended.reason})" if ended.reason else "")


def fail_over(
    book: Failovers,
    allocation: Allocation,
    ended: OrderState,
    standing: Mapping[str, AccountState],
    lot: Lot,
    accounts: Mapping[str, AccountConfig],
) -> tuple[Failovers, list[Signal], Allocation | None]:
    """What `ended` (the final state of one of `allocation`'s children, or of a failover
    child) moves: the book with it, the new child (none, or one) and the failover's
    rationale; nothing when it left nothing unfilled."""
    done = book.handled(ended.signal_id)
    if done is None:
        unfilled = ended.quantity - ended.filled_quantity
        if unfilled <= 0:
            return book, [], None
        draft = _rationale(allocation, ended, unfilled, lot)
        done = Failover(
            ended.signal_id, ended.account_id, _choose(book, draft, ended.account_id, standing)
        )
        book = replace(book, history=(*book.history, done))
    at_failure = book.parent.model_copy(update={"created_at": done.rationale.created_at})
    return book, children_of(at_failure, done.rationale, accounts), done.rationale


def _rationale(
    allocation: Allocation, ended: OrderState, unfilled: Decimal, lot: Lot
) -> Allocation:
    """The failover's rationale before a taker is chosen: every account at quantity 0, the
    failed one with why; the quantity to move in `allocated`."""
    movable = math.floor(unfilled / lot.size) * lot.size
    if movable < lot.minimum:
        movable = _ZERO
    failed = [
        f"failed: {ended.signal_id} {_why(ended)}, {figure(unfilled)} of its"
        f" {figure(ended.quantity)} unfilled"
    ]
    lines = [
        line.model_copy(
            update={
                "quantity": _ZERO,
                "child_signal_id": None,
                "notes": failed if line.account_id == ended.account_id else [],
            }
        )
        for line in allocation.accounts
    ]
    notes = [f"failover of {ended.signal_id}: {_why(ended)}"]
    if movable < unfilled:
        notes.append(
            f"{figure(unfilled - movable)} unfilled is below one lot of {figure(lot.size)} or"
            f" the minimum quantity {figure(lot.minimum)}: not moved"
        )
    return allocation.model_copy(
        update={
            "allocated": movable,
            "accounts": lines,
            "notes": notes,
            "created_at": ended.updated_at,
            "failover_of": ended.signal_id,
        }
    )


def _choose(
    book: Failovers,
    rationale: Allocation,
    failed_account: str,
    standing: Mapping[str, AccountState],
) -> Allocation:
    """The rationale with the quantity given to the next eligible account, or left
    unallocated, and a note on every account that does not take it."""
    failed = {failure.account_id for failure in book.history} | {failed_account}
    ranking = sorted(rationale.accounts, key=lambda line: (-line.weight, line.account_id))
    taker: str | None = None
    notes: dict[str, list[str]] = {line.account_id: list(line.notes) for line in ranking}
    for line in ranking:
        status = standing[line.account_id].status if line.account_id in standing else None
        if line.account_id == failed_account:
            continue
        if line.account_id in failed:
            notes[line.account_id].append("skipped: its child failed before")
        elif line.weight == 0:
            notes[line.account_id].append("skipped: the allocation gave it no weight")
        elif status is not None and status is not AccountStatus.ACTIVE:
            notes[line.account_id].append(f"skipped: {status.value} now")
        elif rationale.allocated == 0:
            notes[line.account_id].append("eligible, with nothing to take")
        elif taker is not None:
            notes[line.account_id].append("eligible, ranked after the taker")
        else:
            taker = line.account_id
    if taker is None:
        left = [f"unallocated {figure(rationale.allocated)}: no eligible account left"]
        return rationale.model_copy(
            update={
                "allocated": _ZERO,
                "accounts": [_noted(line, notes) for line in rationale.accounts],
                "notes": [*rationale.notes, *(left if rationale.allocated else [])],
            }
        )
    number = 1 + sum(
        1
        for failure in book.history
        for line in failure.rationale.accounts
        if line.account_id == taker and line.child_signal_id is not None
    )
    child = failover_signal_id(rationale.signal_id, taker, number)
    notes[taker].append(
        f"takes {figure(rationale.allocated)} from {failed_account}: the first eligible account"
        " by the allocation's weight"
    )
    lines = [
        _noted(line, notes).model_copy(
            update={"quantity": rationale.allocated, "child_signal_id": child}
        )
        if line.account_id == taker
        else _noted(line, notes)
        for line in rationale.accounts
    ]
    summary = f"{figure(rationale.allocated)} to {taker} as {child}"
    return rationale.model_copy(update={"accounts": lines, "notes": [*rationale.notes, summary]})


def _noted(line: AllocationLine, notes: Mapping[str, list[str]]) -> AllocationLine:
    return line.model_copy(update={"notes": notes[line.account_id]})
