"""The circuit breaker's states over a timeline worked out by hand (threshold 3, timeout 10 s)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fillstream.connectors.gateway.breaker import BreakerState, CircuitBreaker

S = 1_000_000  # µs per second


def _breaker() -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, open_timeout_us=10 * S)


def test_it_opens_after_consecutive_failures_only() -> None:
    breaker = _breaker()
    breaker.record_failure(1 * S)
    breaker.record_failure(2 * S)
    breaker.record_success()  # the streak is broken
    breaker.record_failure(3 * S)
    breaker.record_failure(4 * S)
    assert breaker.state is BreakerState.CLOSED and breaker.allow(4 * S)
    breaker.record_failure(5 * S)
    assert breaker.state is BreakerState.OPEN
    assert breaker.metrics() == {
        "breaker_state": 2,
        "breaker_consecutive_failures": 3,
        "breaker_opened_total": 1,
    }


def test_open_refuses_until_the_timeout_then_lets_one_probe() -> None:
    breaker = _breaker()
    for second in (1, 2, 3):
        breaker.record_failure(second * S)
    assert not breaker.allow(12 * S)
    assert breaker.allow(13 * S)  # 10 s after opening at 3 s: the probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow(13 * S + 1)  # only one probe at a time
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow(14 * S)
    assert breaker.metrics()["breaker_consecutive_failures"] == 0


def test_a_failed_probe_reopens_for_a_full_timeout() -> None:
    breaker = _breaker()
    for second in (1, 2, 3):
        breaker.record_failure(second * S)
    assert breaker.allow(13 * S)
    breaker.record_failure(14 * S)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow(23 * S)
    assert breaker.allow(24 * S)
    assert breaker.metrics()["breaker_opened_total"] == 2


def test_a_probe_that_never_reports_is_replaced_after_a_timeout() -> None:
    breaker = _breaker()
    for second in (1, 2, 3):
        breaker.record_failure(second * S)
    assert breaker.allow(13 * S)
    assert not breaker.allow(22 * S)
    assert breaker.allow(23 * S)
    assert breaker.state is BreakerState.HALF_OPEN


def test_late_failures_while_open_do_not_extend_it() -> None:
    breaker = _breaker()
    for second in (1, 2, 3):
        breaker.record_failure(second * S)
    breaker.record_failure(9 * S)  # a call that left before it opened
    assert breaker.allow(13 * S)
    assert breaker.metrics()["breaker_opened_total"] == 1


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)


@given(st.lists(st.tuples(st.sampled_from(["allow", "ok", "fail"]), st.integers(0, 5 * S))))
def test_probes_are_a_full_timeout_apart(events: list[tuple[str, int]]) -> None:
    breaker, now, last_probe = _breaker(), 0, None
    for kind, step in events:
        now += step
        if kind == "allow":
            closed = breaker.state is BreakerState.CLOSED
            if breaker.allow(now) and not closed:
                assert breaker.state is BreakerState.HALF_OPEN
                assert last_probe is None or now - last_probe >= 10 * S
                last_probe = now
        elif kind == "ok":
            breaker.record_success()
            last_probe = None
        else:
            breaker.record_failure(now)


def test_disabled_it_counts_failures_but_never_refuses() -> None:
    breaker = CircuitBreaker(failure_threshold=3, open_timeout_us=10 * S, enabled=False)
    for second in range(1, 8):
        breaker.record_failure(second * S)
        assert breaker.allow(second * S)
    assert breaker.metrics() == {
        "breaker_state": 0,
        "breaker_consecutive_failures": 7,
        "breaker_opened_total": 0,
    }
