"""Backoff with full jitter: the window doubles to a cap, the draw picks a point in it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fillstream.connectors.gateway.config import VenuePolicy
from fillstream.connectors.gateway.retry import RetryPolicy

POLICY = RetryPolicy(base_us=100_000, max_delay_us=1_000_000, max_attempts=6)


def test_windows_double_up_to_the_cap() -> None:
    assert [POLICY.window_us(n) for n in range(1, 7)] == [
        100_000,
        200_000,
        400_000,
        800_000,
        1_000_000,
        1_000_000,
    ]


def test_the_draw_scales_the_window() -> None:
    assert POLICY.delay_us(1, 0.0) == 0
    assert POLICY.delay_us(1, 0.5) == 50_000
    assert POLICY.delay_us(3, 0.25) == 100_000
    assert POLICY.delay_us(5, 0.999) == 999_000


def test_it_gives_up_after_max_attempts_calls() -> None:
    assert POLICY.delay_us(5, 0.5) == 500_000  # five calls failed: the sixth may go
    assert POLICY.delay_us(6, 0.5) is None
    assert RetryPolicy(max_attempts=1).delay_us(1, 0.5) is None


def test_bad_inputs_are_refused() -> None:
    for draw in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="draw"):
            POLICY.delay_us(1, draw)
    with pytest.raises(ValueError, match="failures"):
        POLICY.window_us(0)
    with pytest.raises(ValueError):
        RetryPolicy(base_us=10, max_delay_us=5)
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


@given(
    base=st.integers(1, 10**6),
    extra=st.integers(0, 10**8),
    attempts=st.integers(1, 50),
    failures=st.integers(1, 10**6),
    draw=st.floats(0, 1, exclude_max=True),
)
def test_delays_stay_in_the_window_and_under_the_cap(
    base: int, extra: int, attempts: int, failures: int, draw: float
) -> None:
    policy = RetryPolicy(base_us=base, max_delay_us=base + extra, max_attempts=attempts)
    delay = policy.delay_us(failures, draw)
    if failures >= attempts:
        assert delay is None
    else:
        assert delay is not None
        window = min(base + extra, base * 2 ** min(failures - 1, 64))
        assert policy.window_us(failures) == window
        assert 0 <= delay < window <= base + extra


def test_a_venue_s_max_retries_and_retry_delay_set_the_backoff() -> None:
    policy = VenuePolicy(max_retries=2, retry_delay=0.25).retry()
    assert [policy.delay_us(n, 0.5) for n in (1, 2, 3)] == [125_000, 250_000, None]
    assert VenuePolicy(max_retries=0).retry().delay_us(1, 0.5) is None  # no retry at all
