"""Execution reports of a slice, as every venue writes them: the simulated venue, the ccxt
gateway, and a slice no venue takes.

A report repeats its slice's identity (order, signal, account, symbol, side, quantity) so that
each reader finds the order without the slice; it is copied here, once, for all of them.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fillstream.schemas.models import ExecutionReport, Slice
from fillstream.schemas.trusted import trusted

__all__ = ["report_of"]


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
