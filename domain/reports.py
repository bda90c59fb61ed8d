"""Execution reports of a slice, as every venue writes them: the simulated venue, the ccxt
gateway, and a slice no venue takes.

A report repeats its slice's identity (order, signal, account, symbol, side, quantity) so that
each reader finds the order without the slice; it is copied here, once, for all of them. A
slice refused before anything of it filled ends in one report of the same shape wherever it is
refused (`rejected`).
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from fillstream.schemas.models import ExecType, ExecutionReport, OrderStatus, Slice
from fillstream.schemas.trusted import trusted

__all__ = ["rejected", "report_of"]

_ZERO = Decimal(0)


def report_of(child: Slice, *, validate: bool = True, **execution: Any) -> ExecutionReport:
    """The report of `execution` (report id, venue, status, quantities, ...) of `child`;
    built unvalidated where `validate` is false: a venue of our own, whose values are valid."""
    return (ExecutionReport if validate else partial(trusted, ExecutionReport))(
        order_id=child.order_id,
        signal_id=child.signal_id,
        slice_id=child.slice_id,
        account_id=child.account_id,
        symbol=child.symbol,
        side=child.side,
        quantity=child.quantity,
        **execution,
    )


def rejected(
    child: Slice,
    *,
    report_id: str,
    venue: str,
    reason: str | None,
    timestamp: int,
    venue_order_id: str | None = None,
) -> ExecutionReport:
    """The final report of `child` refused with nothing filled: nothing left, no commission."""
    return report_of(
        child,
        report_id=report_id,
        venue=venue,
        venue_order_id=venue_order_id,
        exec_type=ExecType.REJECT,
        status=OrderStatus.REJECTED,
        last_quantity=_ZERO,
        filled_quantity=_ZERO,
        leaves_quantity=_ZERO,
        commission=_ZERO,
        reason=reason,
        timestamp=timestamp,
    )
