"""The venue's exact-decimal guard: inside it a rounding is an error; outside it, and in other
threads, the caller's context is as it was."""

from __future__ import annotations

import threading
from decimal import Decimal, Inexact, getcontext, localcontext

import pytest

from fillstream.connectors.simvenue.exact import EXACT, exact_arithmetic


@exact_arithmetic
def _product(quantity: Decimal, price: Decimal) -> Decimal:
    return quantity * price


@exact_arithmetic
def _rounded(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"))


def test_a_product_beyond_the_default_precision_stays_exact():
    quantity, price = Decimal("0.123456789012345678"), Decimal("61250.123456789012")
    assert _product(quantity, price) == Decimal("7561.743568584925973660232056090136")
    assert quantity * price != _product(quantity, price)  # the default context rounds it


def test_a_rounding_is_an_error_every_time():
    for _ in range(2):  # a trap raised once (its flag left set) still raises the next time
        with pytest.raises(Inexact):
            _rounded(Decimal("1.25"))
    assert _rounded(Decimal("1.5")) == Decimal("1.5")


def test_the_callers_context_comes_back_after_a_call_and_after_a_trap():
    with localcontext() as caller:
        caller.prec = 12
        _product(Decimal(2), Decimal(3))
        with pytest.raises(Inexact):
            _rounded(Decimal("1.25"))
        assert getcontext() is caller and getcontext().prec == 12
        assert not getcontext().traps[Inexact]


def test_a_nested_call_keeps_the_exact_context():
    @exact_arithmetic
    def outer() -> int:
        _product(Decimal(2), Decimal(3))
        return getcontext().prec

    assert outer() == EXACT.prec


def test_each_thread_computes_in_its_own_exact_context():
    seen: list[object] = []

    def inside() -> None:
        seen.append(exact_arithmetic(getcontext)())

    threads = [threading.Thread(target=inside) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    inside()
    assert len({id(context) for context in seen}) == 3
    assert all(context.prec == EXACT.prec and context.traps[Inexact] for context in seen)
    assert all(context is not EXACT for context in seen)
