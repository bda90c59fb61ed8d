"""Pre-trade risk as a sentence: validate a raw signal, check it, then approve or reject it.

The shell decodes a `signals` record, calls `validate_raw`, then `check_signal`; given a risk
score it calls `approve` and publishes the parent order with the score, otherwise
`record_rejection` and publishes `to_record(rejection, ...)`. Fills (`apply_fill`), orders'
ends (`apply_end`) and commands (`apply_command`) update the same state. Nothing here reads a
clock: `now_us` is the event time the shell passes in.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from fillstream.domain.ids import order_id_for
from fillstream.schemas.jsonl import explain_invalid
from fillstream.schemas.models import Signal
from fillstream.streams.risk.checks import CHECKS, Candidate, risk_score
from fillstream.streams.risk.limits import RiskConfig
from fillstream.streams.risk.market import MarketView
from fillstream.streams.risk.reasons import Rejection, RejectReason
from fillstream.streams.risk.state import DAY_US, RiskState, WorkingOrder

__all__ = ["approve", "check_signal", "record_rejection", "validate_raw"]


def validate_raw(raw: Mapping[str, Any]) -> Signal | Rejection:
    """The signal, or an INVALID_SIGNAL rejection naming each field that breaks the contract."""
    try:
        return Signal.model_validate(raw)
    except ValidationError as error:
        return RejectReason.INVALID_SIGNAL.reject(problems=explain_invalid(error))


def check_signal(
    config: RiskConfig, state: RiskState, signal: Signal, market: MarketView, now_us: int
) -> Rejection | Decimal:
    """The first rule the signal breaks, or, if it may trade, its risk score: how much of its
    nearest limit the account would use with it (0 to 1, `risk_score`). Reads the state,
    never writes it."""
    order = Candidate.gather(config, state, signal, market, now_us)
    for check in CHECKS:
        rejection = check(order)
        if rejection is not None:
            return rejection
    return risk_score(order)


def approve(state: RiskState, signal: Signal, price: Decimal | None, now_us: int) -> RiskState:
    """Count an approved order against the account's daily and rate limits, hold it as working
    until it ends, and remember its signal id. `price` is `order_price(signal, market)`: None
    (no price known, and no limit needed one) counts as zero notional."""
    account = state.account(signal.account_id)
    account.count_order(None if price is None else signal.quantity * price, now_us)
    account.add_working(
        order_id_for(signal.signal_id),
        WorkingOrder(signal.symbol, signal.side, signal.quantity, price, now_us // DAY_US),
    )
    account.signal_ids.remember(signal.signal_id)
    return state


def record_rejection(state: RiskState, signal: Signal) -> RiskState:
    """Remember a rejected signal's id too: a re-delivery must not pass once the rule that
    refused it no longer holds (a kill switch released, a new day)."""
    state.account(signal.account_id).signal_ids.remember(signal.signal_id)
    return state
