"""The token bucket over a timeline worked out by hand: Binance's 50 ms, a burst of 5."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fillstream.connectors.gateway.ratelimit import TokenBucket

MS = 1_000


def test_a_full_bucket_then_waits_for_refill() -> None:
    bucket = TokenBucket.for_rate_limit(50, capacity=5, start_us=0)  # 20 units a second
    assert [bucket.try_take(0) for _ in range(5)] == [0, 0, 0, 0, 0]
    assert bucket.try_take(0) == 50 * MS
    assert bucket.try_take(20 * MS) == 30 * MS  # 0.4 unit back, 0.6 to go
    assert bucket.try_take(50 * MS) == 0
    assert bucket.tokens(50 * MS) == 0


def test_costs_and_share_of_the_budget() -> None:
    bucket = TokenBucket.for_rate_limit(50, capacity=20, start_us=0, share=Fraction(1, 2))
    assert bucket.refill_per_second == 10
    assert bucket.try_take(0, cost=20) == 0
    assert bucket.try_take(0, cost=4) == 400 * MS
    assert bucket.try_take(400 * MS, cost=4) == 0


def test_waits_round_up_to_a_whole_microsecond() -> None:
    bucket = TokenBucket(capacity=Fraction(1), refill_per_second=Fraction(3), start_us=0)
    assert bucket.try_take(0) == 0
    assert bucket.try_take(0) == 333_334  # a third of a second, never a µs short
    assert bucket.try_take(333_333) == 1
    assert bucket.try_take(333_334) == 0


def test_it_never_holds_more_than_capacity_and_a_clock_step_back_adds_nothing() -> None:
    bucket = TokenBucket(capacity=Fraction(2), refill_per_second=Fraction(1), start_us=0)
    assert bucket.tokens(3_600 * 1_000_000) == 2
    bucket.try_take(3_600 * 1_000_000, cost=2)
    assert bucket.tokens(0) == 0


def test_impossible_costs_are_refused() -> None:
    bucket = TokenBucket(capacity=Fraction(2), refill_per_second=Fraction(1), start_us=0)
    for cost in (0, -1):
        with pytest.raises(ValueError, match="cost"):
            bucket.try_take(0, cost=cost)
    with pytest.raises(ValueError, match="share"):
        TokenBucket.for_rate_limit(50, capacity=1, start_us=0, share=0)


def test_a_call_costlier_than_the_bucket_takes_a_full_one_and_leaves_a_debt() -> None:
    # Nobitex: 200 ms a unit (5 a second), 10 held; the wallet list costs 30
    bucket = TokenBucket.for_rate_limit(200, capacity=10, start_us=0)
    assert bucket.try_take(0, cost=1) == 0
    assert bucket.try_take(0, cost=30) == 200 * MS  # 9 held: 1 more to a full bucket
    assert bucket.try_take(200 * MS, cost=30) == 0
    assert bucket.tokens(200 * MS) == -20
    assert bucket.try_take(200 * MS, cost=1) == 4_200 * MS  # 21 units at 5 a second


@given(st.lists(st.tuples(st.integers(0, 200 * MS), st.integers(1, 8)), max_size=60))
def test_never_more_than_the_budget_in_any_run(calls: list[tuple[int, int]]) -> None:
    """Over [0, t], what was taken never exceeds the capacity (or the costliest call, when it
    costs more: 8) plus the refill up to t."""
    bucket = TokenBucket(capacity=Fraction(4), refill_per_second=Fraction(20), start_us=0)
    now, taken = 0, 0
    for step, cost in calls:
        now += step
        wait = bucket.try_take(now, cost)
        if wait == 0:
            taken += cost
        else:
            assert bucket.try_take(now + wait, cost) == 0  # the wait is exactly enough
            now += wait
            taken += cost
        assert taken <= 8 + Fraction(20 * now, 1_000_000)
