"""The allocator processor's core: group signals in, one child signal per account out.

Partitioned by allocation group (`signals.group` is keyed by it). What it needs of accounts
lives on other partitions: risk's state of each account (`accounts.state`), the operators'
correlations (`accounts.correlations`) and the ccxt venues' balances (`venue.balances`, the
free money of an account alone on its venue). All are compacted and **broadcast** (their
writers copy every record to every partition), so each allocator shard reads the whole table
on its own partition, in an order the runtime journals: a group signal processed again after a
crash meets the same accounts as the first time and publishes the same children. A side
consumer reading those topics outside the loop would not give that (docs/ARCHITECTURE.md,
"Allocation").

A parent is allocated once: the rationale is remembered by parent id (the latest 10,000), and a
repeated parent publishes the same children and rationale again, however the accounts have
moved since.

Failover: a child whose order ended with part unfilled (refused by risk, rejected, expired or
cancelled) comes back on `allocations.ended`, which the OMS keys by the child's allocation
group, so it reaches the shard that allocated its parent; the core (streams/failover.py) moves
its unfilled quantity to the next eligible account, as a new child on `signals` and a
rationale on `allocations`. A failure the shard has handled gives the same records again.

A signal to a group the configuration does not declare, or for a symbol without an instrument
on the group's venues, raises, and the runtime dead-letters it with the reason.
"""

from __future__ import annotations

from typing import Any

from fillstream.domain.ids import REDELIVERY_MEMORY
from fillstream.domain.instruments import Instrument, InstrumentBook, PublishedRules
from fillstream.domain.ledger import Ledger
from fillstream.schemas.models import (
    AccountCorrelation,
    AccountState,
    Allocation,
    OrderState,
    Signal,
    VenueBalance,
)
from fillstream.schemas.topics import keep_latest
from fillstream.streams.accounts import AccountsConfig
from fillstream.streams.allocation import Lot, allocate, children_of
from fillstream.streams.failover import Failovers, fail_over, parent_signal_ids
from fillstream.streams.stages import Emit

__all__ = ["AllocatorStage"]


class AllocatorStage:
    inputs = (
        "signals.group",
        "accounts.state",
        "accounts.correlations",
        "venue.balances",
        "venue.instruments",
        "allocations.ended",
    )
    outputs = ("signals", "allocations")
    durable = ("standing", "correlations", "balances", "published.rules", "allocated", "failovers")
    standing: dict[str, AccountState]  # risk's latest, by account
    balances: dict[str, VenueBalance]  # the gateway's latest, by venue
    published: PublishedRules  # the instrument rules the ccxt venues state
    correlations: dict[str, float]  # by pair id
    allocated: Ledger[str, Allocation]  # the latest rationales, by parent signal id
    failovers: Ledger[str, Failovers]  # the same parents with their failovers so far

    def __init__(self, accounts: AccountsConfig, instruments: InstrumentBook) -> None:
        self.accounts = accounts
        self.instruments = instruments
        self.standing = {}
        self.correlations = {}
        self.balances = {}
        self.published = PublishedRules()
        self.allocated = Ledger()
        self.failovers = Ledger()

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if topic == "accounts.state":
            keep_latest(self.standing, topic, record)
            return []
        if topic == "accounts.correlations":
            correlation: AccountCorrelation = record
            self.correlations[correlation.pair_id] = correlation.correlation
            return []
        if topic == "venue.balances":
            keep_latest(self.balances, topic, record)
            return []
        if topic == "venue.instruments":
            self.published.learn(Instrument.from_rules(record))
            return []
        if topic == "allocations.ended":
            return self._fail_over(record)
        return self._allocate(record)

    def _allocate(self, parent: Signal) -> list[Emit]:
        accounts = self.accounts
        group = accounts.groups.get(parent.allocation_group or "")
        if group is None:
            raise ValueError(
                f"signal {parent.signal_id}: no allocation group {parent.allocation_group!r}"
                f" in the configuration (it has: {', '.join(accounts.groups) or 'none'})"
            )
        members = accounts.members(group.name)
        rationale = self.allocated.get(parent.signal_id)
        if rationale is None:
            children, rationale = allocate(
                parent,
                group,
                members,
                self.standing,
                self.correlations,
                self._lot(parent),
                accounts.venue_funds(self.balances),
            )
            self.allocated[parent.signal_id] = rationale
            self.failovers[parent.signal_id] = Failovers(parent)
            while len(self.allocated) > REDELIVERY_MEMORY:
                oldest, _ = self.allocated.popitem()
                self.failovers.pop(oldest, None)
        else:
            children = children_of(parent, rationale, {a.id: a for a in members})
        return [*(Emit("signals", child) for child in children), Emit("allocations", rationale)]

    def _fail_over(self, ended: OrderState) -> list[Emit]:
        """A child's unfilled end: its rest to another account. One whose parent this shard
        does not remember (forgotten, or not a child) moves nothing."""
        book = self._parent_of(ended)
        if book is None:
            return []
        parent_id = book.parent.signal_id
        accounts = self.accounts
        book, children, rationale = fail_over(
            book,
            self.allocated[parent_id],
            ended,
            self.standing,
            self._lot(book.parent),
            {a.id: a for a in accounts.members(book.parent.allocation_group or "")},
        )
        self.failovers[parent_id] = book
        if rationale is None:
            return []
        return [*(Emit("signals", child) for child in children), Emit("allocations", rationale)]

    def _parent_of(self, ended: OrderState) -> Failovers | None:
        """The remembered parent that names the child, of those its id may name."""
        for parent_id in parent_signal_ids(ended.signal_id, ended.account_id):
            book = self.failovers.get(parent_id)
            if book is not None and book.names(ended.signal_id, ended.account_id):
                return book
        return None

    def _lot(self, parent: Signal) -> Lot:
        """The coarsest lot and the largest minimum among the venues the children may trade
        on (the parent's, else its group's accounts' venues), by the rules the venues state
        where they published them."""
        venues = (
            {parent.exchange}
            if parent.exchange
            else {a.venue for a in self.accounts.members(parent.allocation_group or "")}
        )
        instruments = self.published.over(self.instruments)
        listed = [
            instrument
            for venue in sorted(venues)
            if (instrument := instruments.get(venue, parent.symbol)) is not None
        ]
        if not listed:
            raise ValueError(
                f"signal {parent.signal_id}: {parent.symbol} has no instrument on"
                f" {', '.join(sorted(venues))}"
            )
        return Lot(
            max(instrument.lot_size for instrument in listed),
            max(instrument.min_quantity for instrument in listed),
        )
