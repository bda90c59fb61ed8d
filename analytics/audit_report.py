"""The audit's vocabulary: its rules, a record's coordinates, a violation and the report.

`analytics/audit.py` decides; this module only names and carries what it finds, and reads
as the list of invariants the log must keep (docs/AUDIT.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fillstream.schemas.reasons import ReasonCode

__all__ = ["AuditReport", "LogRecord", "Rule", "Violation", "Where", "Window"]


class Rule(ReasonCode):
    """An invariant of the log; `template` is the message of one breach."""

    UNDECODABLE_RECORD = "UNDECODABLE_RECORD", "not a valid {contract} record: {error}"
    FILL_EXCEEDS_QUANTITY = "FILL_EXCEEDS_QUANTITY", "order {order_id}: {problem}"
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION", "order {order_id}: {problem}"
    UNPRICED_FILL = "UNPRICED_FILL", "order {order_id}: {problem}"
    DUPLICATE_FILL = (
        "DUPLICATE_FILL",
        "report {report_id} was first written at {first} with different content",
    )
    DUPLICATE_CLIENT_ORDER_ID = (
        "DUPLICATE_CLIENT_ORDER_ID",
        "client order id {slice_id} names a different child order (of {order_id}) than the one"
        " first sent at {first} (of {first_order_id})",
    )
    ORPHAN_FILL = (
        "ORPHAN_FILL",
        "report {report_id} of order {order_id} does not trace back to a signal: {why}",
    )
    ORPHAN_SLICE = (
        "ORPHAN_SLICE",
        "slice {slice_id} of order {order_id} does not trace back to a routed order: {why}",
    )
    ORPHAN_ORDER = "ORPHAN_ORDER", "order {order_id} does not trace back to a signal: {why}"
    STATE_MISMATCH = (
        "STATE_MISMATCH",
        "order {order_id}: orders.state says {published}, its rebuilt state is {rebuilt}",
    )
    ALLOCATION_EXCEEDS_PARENT = (
        "ALLOCATION_EXCEEDS_PARENT",
        "group signal {signal_id} of {quantity}: its children sum to {allocated}",
    )
    BRACKET_EXCEEDS_ENTRY = (
        "BRACKET_EXCEEDS_ENTRY",
        "bracket {order_id}: its legs closed {closed}, beyond the {filled} its entry filled",
    )
    POSITION_MISMATCH = (
        "POSITION_MISMATCH",
        "{account_id} {symbol} net quantity: fills {fills}, rebuilt orders {orders},"
        " orders.state {states}, fills.accounts {accounts}",
    )


class Where(NamedTuple):
    """A record's coordinates on the log (catalog topic name, unprefixed)."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic} partition {self.partition} offset {self.offset}"


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One record as read: its decoded value, or why it could not be decoded."""

    where: Where
    value: Mapping[str, Any] | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Violation:
    rule: Rule
    message: str
    where: Where
    ids: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule.value, "message": self.message, **self.where._asdict()} | {
            "ids": dict(self.ids)
        }


@dataclass(frozen=True)
class Window:
    """The signals whose orders are audited: per `signals` partition, offsets from `first`
    (default 0) up to `end` (exclusive; no bound where absent)."""

    first: Mapping[int, int] = field(default_factory=dict)
    end: Mapping[int, int] = field(default_factory=dict)

    def holds(self, where: Where) -> bool:
        end = self.end.get(where.partition)
        return self.first.get(where.partition, 0) <= where.offset and (
            end is None or where.offset < end
        )


@dataclass
class AuditReport:
    """What the audit read and found. `working` orders were not final yet: not a violation."""

    orders: int = 0
    working: int = 0
    reports: int = 0
    fills: int = 0
    read: Counter[str] = field(default_factory=Counter)
    out_of_range: Counter[str] = field(default_factory=Counter)
    redelivered: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.violations

    def by_rule(self) -> Counter[str]:
        return Counter(violation.rule.value for violation in self.violations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "orders": self.orders,
            "working": self.working,
            "reports": self.reports,
            "fills": self.fills,
            "read": dict(self.read),
            "out_of_range": dict(self.out_of_range),
            "redelivered": dict(self.redelivered),
            "violations_by_rule": dict(self.by_rule()),
            "violations": [violation.to_dict() for violation in self.violations],
        }
