"""The dead man's switch: if the engine's heartbeat stops, no order of ours stays at the venue.

Where the venue has a timer of its own (ccxt's `cancelAllOrdersAfter`), the gateway re-arms it
on every check while the heartbeat is fresh, set to fire exactly when the heartbeat would go
stale; if the gateway dies too, the venue still cancels. Elsewhere (Binance spot) the gateway's
own watchdog cancels every open order once the heartbeat is stale, once per outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["SwitchAction", "SwitchDecision", "dead_man_switch"]


class SwitchAction(StrEnum):
    ARM_VENUE_TIMER = "arm_venue_timer"  # cancel_all_orders_after(timeout_ms)
    CANCEL_ALL_NOW = "cancel_all_now"  # cancel_all_orders on every symbol
    NOTHING = "nothing"


@dataclass(frozen=True)
class SwitchDecision:
    action: SwitchAction
    stale: bool  # the heartbeat stopped: the shell sends no new order until it returns
    timeout_ms: int | None = None  # for ARM_VENUE_TIMER


def dead_man_switch(
    last_heartbeat_us: int,
    now_us: int,
    timeout_us: int,
    *,
    venue_has_timer: bool,
    last_cancel_us: int | None = None,
) -> SwitchDecision:
    """What to do at `now_us`; `last_cancel_us` is when the watchdog last cancelled everything."""
    if timeout_us <= 0:
        raise ValueError(f"timeout_us must be positive, not {timeout_us}")
    stale_at = last_heartbeat_us + timeout_us
    remaining_ms = (stale_at - now_us) // 1000
    if remaining_ms >= 1:
        if venue_has_timer:
            return SwitchDecision(SwitchAction.ARM_VENUE_TIMER, False, remaining_ms)
        return SwitchDecision(SwitchAction.NOTHING, False)
    if venue_has_timer:  # its timer, no longer re-armed, fires by itself
        return SwitchDecision(SwitchAction.NOTHING, True)
    if last_cancel_us is not None and last_cancel_us >= stale_at:
        return SwitchDecision(SwitchAction.NOTHING, True)
    return SwitchDecision(SwitchAction.CANCEL_ALL_NOW, True)
