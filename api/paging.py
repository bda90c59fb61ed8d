"""Which orders a listing shows, in which order, one page at a time (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fillstream.schemas.models import OrderState, OrderStatus, Side

__all__ = ["OrderFilter", "Page", "page", "select_orders"]

MAX_LIMIT = 500


@dataclass(frozen=True)
class OrderFilter:
    """Every field set must match; `statuses` matches any of them. Times are µs (created_at)."""

    statuses: frozenset[OrderStatus] = frozenset()
    account_id: str | None = None
    strategy_id: str | None = None
    symbol: str | None = None
    side: Side | None = None
    algorithm: str | None = None
    created_from: int | None = None  # inclusive
    created_to: int | None = None  # exclusive

    def matches(self, order: OrderState) -> bool:
        return (
            (not self.statuses or order.status in self.statuses)
            and self.account_id in (None, order.account_id)
            and self.strategy_id in (None, order.strategy_id)
            and self.symbol in (None, order.symbol)
            and self.side in (None, order.side)
            and self.algorithm in (None, order.algorithm or "direct")
            and (self.created_from is None or order.created_at >= self.created_from)
            and (self.created_to is None or order.created_at < self.created_to)
        )


def select_orders(orders: Iterable[OrderState], where: OrderFilter) -> list[OrderState]:
    """The matching orders, newest first (ties by order id, so pages are stable)."""
    chosen = [order for order in orders if where.matches(order)]
    chosen.sort(key=lambda o: o.order_id)
    chosen.sort(key=lambda o: o.created_at, reverse=True)
    return chosen


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        following = self.offset + self.limit
        return following if following < self.total else None


def page(items: Sequence[Any], limit: int, offset: int) -> Page:
    """`limit` items from `offset` (limit 1..MAX_LIMIT, offset >= 0; ValueError otherwise)."""
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValueError(f"need 1 <= limit <= {MAX_LIMIT} and offset >= 0")
    return Page(list(items[offset : offset + limit]), len(items), limit, offset)
