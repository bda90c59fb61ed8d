"""Why risk refuses a signal: one reason code per rule, each with its human message.

The codes are the `reason_code` of the `orders.rejected` contract; they are upper-case strings
there, not an Avro enum, so a new rule needs no schema change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fillstream.schemas.models import Rejection as RejectionRecord
from fillstream.schemas.models import Signal
from fillstream.schemas.reasons import ReasonCode

__all__ = ["RejectReason", "Rejection", "to_record"]


class RejectReason(ReasonCode):
    """A rule that refused a signal; `template` is its message, filled with the facts."""

    INVALID_SIGNAL = "INVALID_SIGNAL", "invalid signal: {problems}"
    DUPLICATE_SIGNAL = "DUPLICATE_SIGNAL", "signal {signal_id} was already received"
    INVALID_ALGORITHM = (
        "INVALID_ALGORITHM",
        "{problem} (`fillstream algos list` shows every algorithm and its parameters)",
    )
    INVALID_BRACKET = "INVALID_BRACKET", "invalid bracket: {problem}"
    UNKNOWN_INSTRUMENT = "UNKNOWN_INSTRUMENT", "{symbol} is not listed on {venue}"
    PRICE_OFF_TICK = (
        "PRICE_OFF_TICK",
        "{field} {price} is not a multiple of the tick size {tick_size} on {venue}",
    )
    QUANTITY_OFF_LOT = (
        "QUANTITY_OFF_LOT",
        "{field} {quantity} is not a multiple of the lot size {lot_size} on {venue}",
    )
    BELOW_MIN_QUANTITY = (
        "BELOW_MIN_QUANTITY",
        "quantity {quantity} is below the minimum of {minimum} on {venue}",
    )
    BELOW_MIN_NOTIONAL = (
        "BELOW_MIN_NOTIONAL",
        "notional {notional} is below the minimum of {minimum} on {venue}",
    )
    MAX_ORDER_QUANTITY = (
        "MAX_ORDER_QUANTITY",
        "quantity {quantity} exceeds the maximum of {limit} per order",
    )
    MAX_ORDER_NOTIONAL = (
        "MAX_ORDER_NOTIONAL",
        "notional {notional} exceeds the maximum of {limit} per order",
    )
    POSITION_LIMIT = (
        "POSITION_LIMIT",
        "the position in {symbol} could reach {worst} if this {side} of {quantity} and the "
        "{working} already working on that side fill (filled position {position}), beyond the "
        "limit of {limit} either way",
    )
    DAILY_ORDER_COUNT = (
        "DAILY_ORDER_COUNT",
        "{count} orders already sent today (UTC), the daily maximum is {limit}",
    )
    DAILY_NOTIONAL = (
        "DAILY_NOTIONAL",
        "notional {notional} would bring today's total to {total}, above the daily maximum "
        "of {limit}",
    )
    GROSS_LEVERAGE = (
        "GROSS_LEVERAGE",
        "gross exposure could reach {gross} with this order, {leverage}x the account's equity "
        "of {equity}, above the maximum leverage of {limit}x",
    )
    CONCENTRATION = (
        "CONCENTRATION",
        "{symbol} could be {percent}% of the account's gross exposure ({exposure} of {gross}) "
        "with this order, above the maximum of {limit}%",
    )
    SECTOR_EXPOSURE = (
        "SECTOR_EXPOSURE",
        "exposure to sector {sector} could reach {exposure} with this order (from {before}), "
        "above the maximum of {limit}",
    )
    NO_EQUITY = (
        "NO_EQUITY",
        "account {account_id} has a gross leverage limit but no equity to measure it against "
        "(set equity in [risk.accounts.{account_id}])",
    )
    PRICE_COLLAR = (
        "PRICE_COLLAR",
        "{field} {price} is more than {bps} bps {direction} the {basis} {reference}",
    )
    ORDER_RATE = (
        "ORDER_RATE",
        "already {limit} orders in the last second, the maximum rate",
    )
    REDUCE_ONLY = (
        "REDUCE_ONLY",
        "{scope} is reduce-only: a {side} of {quantity} would not reduce the position of "
        "{position}",
    )
    ACCOUNT_HALTED = "ACCOUNT_HALTED", "account {account_id} is halted"
    KILL_SWITCH = "KILL_SWITCH", "the {scope} kill switch is on"
    NO_MARKET_DATA = (
        "NO_MARKET_DATA",
        "no market price for {symbol}, which the {rule} needs",
    )

    def reject(self, **facts: object) -> Rejection:
        """This reason as a rejection, its message filled with `facts`."""
        return Rejection(self, self.message(**facts))


@dataclass(frozen=True, slots=True)
class Rejection:
    """The outcome of a failed check: the core's value, turned into a record by the shell."""

    reason: RejectReason
    message: str


def to_record(
    rejection: Rejection,
    signal: Signal | Mapping[str, Any],
    *,
    stage: str = "risk",
    rejected_at: int,
) -> RejectionRecord:
    """The `orders.rejected` record of a rejection.

    `signal` is the validated signal, or the raw record when it failed validation: then the
    identifying fields are taken as far as they are text, so ops can still find the sender.
    """
    if isinstance(signal, Signal):
        identity: dict[str, Any] = {
            "signal_id": signal.signal_id,
            "account_id": signal.account_id,
            "strategy_id": signal.strategy_id,
            "symbol": signal.symbol,
            "signal": signal,
        }
    else:
        identity = {"signal_id": "", "account_id": ""} | {
            field: value
            for field in ("signal_id", "account_id", "strategy_id", "symbol")
            if isinstance(value := signal.get(field), str)
        }
    return RejectionRecord(
        **identity,
        reason_code=rejection.reason.value,
        reason=rejection.message,
        stage=stage,
        rejected_at=rejected_at,
    )
