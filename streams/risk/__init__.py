"""Pre-trade risk: the pure core that approves or rejects each signal (no Kafka, no clock)."""

from fillstream.streams.risk.engine import approve, check_signal, record_rejection, validate_raw
from fillstream.streams.risk.limits import Limits, RiskConfig, TradingState
from fillstream.streams.risk.market import MarketView, order_price
from fillstream.streams.risk.reasons import Rejection, RejectReason, to_record
from fillstream.streams.risk.state import (
    AccountRisk,
    RiskState,
    WorkingOrder,
    apply_command,
    apply_end,
    apply_fill,
)

__all__ = [
    "AccountRisk",
    "Limits",
    "MarketView",
    "RejectReason",
    "Rejection",
    "RiskConfig",
    "RiskState",
    "TradingState",
    "WorkingOrder",
    "apply_command",
    "apply_end",
    "apply_fill",
    "approve",
    "check_signal",
    "order_price",
    "record_rejection",
    "to_record",
    "validate_raw",
]
