"""The dead man's switch: arm the venue's timer while the heartbeat lives, else cancel once."""

from __future__ import annotations

import pytest

from fillstream.connectors.gateway.watchdog import SwitchAction, SwitchDecision, dead_man_switch

S = 1_000_000
BEAT = 100 * S
TIMEOUT = 30 * S


def test_a_venue_timer_is_armed_to_fire_when_the_heartbeat_goes_stale() -> None:
    assert dead_man_switch(BEAT, BEAT + 12 * S, TIMEOUT, venue_has_timer=True) == (
        SwitchDecision(SwitchAction.ARM_VENUE_TIMER, stale=False, timeout_ms=18_000)
    )
    # 1.5 ms left: armed for 1 ms, never later than the heartbeat's deadline
    assert dead_man_switch(BEAT, BEAT + TIMEOUT - 1_500, TIMEOUT, venue_has_timer=True) == (
        SwitchDecision(SwitchAction.ARM_VENUE_TIMER, stale=False, timeout_ms=1)
    )


def test_a_stale_heartbeat_with_a_venue_timer_lets_it_fire() -> None:
    decision = dead_man_switch(BEAT, BEAT + TIMEOUT, TIMEOUT, venue_has_timer=True)
    assert decision == SwitchDecision(SwitchAction.NOTHING, stale=True)


def test_without_a_venue_timer_the_watchdog_cancels_once_per_outage() -> None:
    fresh = dead_man_switch(BEAT, BEAT + 29 * S, TIMEOUT, venue_has_timer=False)
    assert fresh == SwitchDecision(SwitchAction.NOTHING, stale=False)
    stale = BEAT + TIMEOUT
    assert dead_man_switch(BEAT, stale, TIMEOUT, venue_has_timer=False) == SwitchDecision(
        SwitchAction.CANCEL_ALL_NOW, stale=True
    )
    after = dead_man_switch(BEAT, stale + S, TIMEOUT, venue_has_timer=False, last_cancel_us=stale)
    assert after == SwitchDecision(SwitchAction.NOTHING, stale=True)
    # the heartbeat came back, then stopped again: a new outage, a new cancel
    again = dead_man_switch(
        BEAT + 60 * S, BEAT + 95 * S, TIMEOUT, venue_has_timer=False, last_cancel_us=stale
    )
    assert again.action is SwitchAction.CANCEL_ALL_NOW


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError):
        dead_man_switch(BEAT, BEAT, 0, venue_has_timer=False)
