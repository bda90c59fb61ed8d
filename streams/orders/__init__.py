"""Order lifecycle: the order state machine and parent-order state from execution reports."""

from fillstream.streams.orders.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    OrderEvent,
    transition,
)
from fillstream.streams.orders.parent import (
    ParentOrderState,
    Problem,
    ProblemKind,
    SliceProgress,
    apply_command,
    apply_report,
    apply_slice,
    open_order,
    request_cancel,
    to_record,
)

__all__ = [
    "TRANSITIONS",
    "IllegalTransition",
    "OrderEvent",
    "ParentOrderState",
    "Problem",
    "ProblemKind",
    "SliceProgress",
    "apply_command",
    "apply_report",
    "apply_slice",
    "open_order",
    "request_cancel",
    "to_record",
    "transition",
]
