"""Reconciliation: compare what the engine believes with what the venue says, on start and
periodically, and list each difference once.

- **unknown orders**: open at the venue, but not open in the engine (never known to it, or
  believed finished: a lost cancel). Ops decides; the kill switch cancels them.
- **missing orders**: open in the engine, not open at the venue. The shell fetches each by its
  client order id to learn how it ended (or that it never arrived) and reports that.
- **missed fills**: venue trades of the engine's orders that were never published: publish
  them (through the order's `OrderTracker`, which keeps them exactly once).
- **unattributed trades**: trades of orders the engine cannot name; reported for ops.

A trade names only the venue's order id; it is tied to a slice through the engine's record of
that id or an open venue order's client order id. A slice whose acknowledgement was lost is
missing first; once its look-up gives the venue's id, the next pass attributes its trades.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["EngineOrder", "MissedFill", "Reconciliation", "reconcile"]

Order = Mapping[str, Any]  # a ccxt order
TradeRow = Mapping[str, Any]  # a ccxt trade


@dataclass(frozen=True)
class EngineOrder:
    """A slice the engine follows at this venue: open, or recently finished."""

    slice_id: str
    symbol: str
    venue_order_id: str | None
    open: bool


@dataclass(frozen=True)
class MissedFill:
    slice_id: str
    trade: TradeRow


@dataclass(frozen=True)
class Reconciliation:
    unknown_orders: tuple[Order, ...]
    missing_orders: tuple[str, ...]
    missed_fills: tuple[MissedFill, ...]
    unattributed_trades: tuple[TradeRow, ...]

    @property
    def clean(self) -> bool:
        return not any(
            (self.unknown_orders, self.missing_orders, self.missed_fills, self.unattributed_trades)
        )


def reconcile(
    engine_orders: Iterable[EngineOrder],
    venue_open_orders: Iterable[Order],
    venue_trades: Iterable[TradeRow],
    published_trades: Collection[tuple[str, str]],
) -> Reconciliation:
    """`published_trades` holds (slice id, trade id) of every fill already on `fills`."""
    engine = {order.slice_id: order for order in engine_orders}
    venue_open = _unique(venue_open_orders)
    open_ids = {str(order.get("clientOrderId")) for order in venue_open}
    # Venue ids are unique per symbol only (Binance counts orders and trades per symbol).
    slice_of = {
        (order.symbol, order.venue_order_id): order.slice_id
        for order in engine.values()
        if order.venue_order_id is not None
    }
    for order in venue_open:
        client_id = str(order.get("clientOrderId"))
        if client_id in engine:
            slice_of.setdefault(_key(order), client_id)
    engine_open = [order.slice_id for order in engine.values() if order.open]
    open_in_engine = set(engine_open)
    unknown = tuple(
        order for order in venue_open if str(order.get("clientOrderId")) not in open_in_engine
    )
    missing = tuple(slice_id for slice_id in engine_open if slice_id not in open_ids)
    trades = sorted(_unique(venue_trades), key=lambda t: (t.get("timestamp") or 0, str(t["id"])))
    missed, unattributed = [], []
    for trade in trades:
        slice_id = slice_of.get((trade.get("symbol"), str(trade.get("order"))))
        if slice_id is None:
            unattributed.append(trade)
        elif (slice_id, str(trade["id"])) not in published_trades:
            missed.append(MissedFill(slice_id, trade))
    return Reconciliation(unknown, missing, tuple(missed), tuple(unattributed))


def _unique(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Each row once by its symbol and venue id, first seen kept (pages may overlap)."""
    seen: dict[tuple[Any, str], Mapping[str, Any]] = {}
    for row in rows:
        seen.setdefault(_key(row), row)
    return list(seen.values())


def _key(row: Mapping[str, Any]) -> tuple[Any, str]:
    return row.get("symbol"), str(row["id"])
