"""Pre-trade risk as a sentence: validate a raw signal, check it, then approve or reject it.

The shell decodes a `signals` record, calls `validate_raw`, then `check_signal`; on None it
calls `approve` and publishes the parent order, otherwise `record_rejection` and publishes
`to_record(rejection, ...)`. Fills (`apply_fill`) and commands (`apply_command`) update the
same state. Nothing here reads a clock: `now_us` is the event time the shell passes in.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from fillstream.schemas.jsonl import explain_invalid
from fillstream.schemas.models import Signal
from fillstream.streams.risk.checks import CHECKS, Candidate
from fillstream.streams.risk.limits import RiskConfig
from fillstream.streams.risk.market import MarketView
from fillstream.streams.risk.reasons import Rejection, RejectReason
from fillstream.streams.risk.state import RiskState

__all__ = ["approve", "check_signal", "record_rejection", "validate_raw"]


def validate_raw(raw: Mapping[str, Any]) -> Signal | Rejection:
    """The signal, or an INVALID_SIGNAL rejection naming each field that breaks the contract."""
    try:
        return Signal.model_validate(raw)
    except ValidationError as error:
        return RejectReason.INVALID_SIGNAL.reject(problems=explain_invalid(error))


def check_signal(
    config: RiskConfig, state: RiskState, signal: Signal, market: MarketView, now_us: int
) -> Rejection | None:
    """The first rule the signal breaks, or None if it may trade. Reads the state, never
    writes it."""
    order = Candidate.gather(config, state, signal, market, now_us)
    for check in CHECKS:
        rejection = check(order)
        if rejection is not None:
            return rejection
    return None


def approve(state: RiskState, signal: Signal, notional: Decimal | None, now_us: int) -> RiskState:
    """Count an approved order against the account's daily and rate limits and remember its
    signal id. `notional` is `order_notional(signal, market)`: None (no price known, and no
    limit needed one) counts as zero."""
    account = state.account(signal.account_id)
    account.count_order(notional, now_us)
    account.remember(signal.signal_id, state.signal_id_memory)
    return state


def record_rejection(state: RiskState, signal: Signal) -> RiskState:
    """Remember a rejected signal's id too: a re-delivery must not pass once the rule that
    refused it no longer holds (a kill switch released, a new day)."""
    state.account(signal.account_id).remember(signal.signal_id, state.signal_id_memory)
    return state
