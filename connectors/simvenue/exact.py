"""Exact decimal arithmetic for the venue: no product or sum is ever rounded.

Python's default decimal context keeps 28 significant digits, so `quantity × price × fee` of
long decimals would round silently (a quantity of 0.123456789012345678 at 61250.123456789012
already needs 35 digits). The venue's entry points therefore compute in `EXACT`, whose
precision is unbounded in practice and which traps `Inexact`: a rounding would be an error,
never a silent difference between two runs. Only the average price divides, with a context
of its own (`fillstream.connectors.simvenue.blotter`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    Context,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import ParamSpec, TypeVar

__all__ = ["EXACT", "exact_arithmetic"]

EXACT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def exact_arithmetic(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run `function` with `EXACT` as the decimal context."""

    @functools.wraps(function)
    def exactly(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with localcontext(EXACT):
            return function(*args, **kwargs)

    return exactly
