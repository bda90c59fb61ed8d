"""Audit replay: rebuild every order from the log and check what an order's life must keep.

`audit(records, window)` folds the order-lifecycle topics' records, each with its coordinates
(topic, partition, offset), into every order's history and returns the violations:

- a record that does not decode, or breaks its contract (a raw signal excepted: risk answers
  those with `INVALID_SIGNAL`);
- a fill beyond the order's quantity, or an event its status may not take (the OMS's own cores
  rebuild each order: `open_order`, `apply_report`, `apply_command`, `transition`);
- a report id written twice with different content (an identical copy is an at-least-once
  redelivery, counted once, as the OMS counts it);
- a client order id (slice id) used for two different child orders;
- a fill, slice or order that does not trace back to a signal on the log;
- a bracket whose legs filled more than its entry (`streams/orders/bracket.py`: the legs are
  orders of their own, opened with the entry's first slice, as the OMS opens them);
- an order whose latest `orders.state` disagrees with its rebuilt state, and an account's net
  position per symbol that differs between `fills`, the rebuilt orders, `orders.state` and
  `fills.accounts` (risk's copy).

Orders are in scope when their signal is in the `Window` (offsets of `signals`); records about
other orders are counted as out of range, not checked. Each topic's records are taken in log
order per partition, partitions merged by event time; one order's reports, rejections and
commands are merged so too (docs/AUDIT.md).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import ValidationError

from fillstream.analytics.audit_report import AuditReport, LogRecord, Rule, Violation, Where, Window
from fillstream.domain.ids import order_id_for
from fillstream.schemas.models import (
    MODELS,
    TERMINAL,
    Command,
    CommandKind,
    ExecutionReport,
    OrderState,
    OrderStatus,
    ParentOrder,
    Rejection,
    RoutedOrder,
    Side,
    Signal,
    Slice,
    SliceAction,
)
from fillstream.schemas.topics import CATALOG, event_time
from fillstream.streams.failover import parent_signal_id
from fillstream.streams.orders import (
    IllegalTransition,
    OrderEvent,
    ParentOrderState,
    ProblemKind,
    apply_command,
    apply_report,
    apply_slice,
    open_order,
    transition,
)
from fillstream.streams.orders.bracket import LegKind, leg_id, leg_orders

__all__ = [
    "AUDITED_TOPICS",
    "AuditReport",
    "LogRecord",
    "Rule",
    "Violation",
    "Where",
    "Window",
    "audit",
]

AUDITED_TOPICS = (
    "signals.group",
    "signals",
    "orders.approved",
    "orders.rejected",
    "orders.routed",
    "slices",
    "fills",
    "fills.accounts",
    "commands",
    "orders.state",
)

_CONTRACT = {spec.name: spec.record for spec in CATALOG}
_ZERO = Decimal(0)
_SIGN = {Side.BUY: 1, Side.SELL: -1}


class _Entry(NamedTuple):
    """A decoded record: a contract model (a raw dict for signals) and its event time."""

    time: int
    where: Where
    record: Any


@dataclass
class _Order:
    """What the log says about one order of the window."""

    signal_id: str
    parent: _Entry | None = None
    refused: _Entry | None = None  # risk's rejection of its signal
    routed: bool = False
    events: dict[str, list[_Entry]] = field(default_factory=lambda: defaultdict(list))
    published: _Entry | None = None  # its latest orders.state
    filled: Decimal = _ZERO  # as rebuilt


def audit(records: Iterable[LogRecord], window: Window | None = None) -> AuditReport:
    """Check the records of `AUDITED_TOPICS` (each partition's in offset order)."""
    return _Audit(window or Window()).run(records)


class _Audit:
    def __init__(self, window: Window) -> None:
        self.window = window
        self.report = AuditReport()
        self.orders: dict[str, _Order] = {}
        self.outside: set[str] = set()  # order ids of the signals outside the window
        self.slices: dict[str, _Entry] = {}  # NEW slices by client order id
        self.reports: dict[str, dict[str, _Entry]] = defaultdict(dict)  # by topic, report id
        self.positions: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(
            lambda: defaultdict(Decimal)
        )
        self.position_at: dict[tuple[str, str], Where] = {}
        # Each group signal's quantity and its children's, by parent signal id (a child's id
        # is `<parent signal id>:<account id>`, a failover's `...:f<n>`, streams/failover.py),
        # each child with where it was read.
        self.groups: dict[str, tuple[Decimal, dict[str, tuple[Decimal, Where]]]] = {}

    def run(self, records: Iterable[LogRecord]) -> AuditReport:
        by_topic: dict[str, list[_Entry]] = defaultdict(list)
        for item in records:
            self.report.read[item.where.topic] += 1
            entry = self._decoded(item)
            if entry is not None:
                by_topic[item.where.topic].append(entry)
        for topic in AUDITED_TOPICS:
            handle = getattr(self, "_" + topic.replace(".", "_"))
            for entry in _in_time_order(by_topic[topic]):
                handle(entry)
        for order_id, order in self.orders.items():
            self._rebuild(order_id, order)
        self._check_groups()
        self._check_brackets()
        self._compare_positions()
        return self.report

    def _flag(self, rule: Rule, where: Where, ids: Mapping[str, str], **facts: object) -> None:
        message = rule.message(**ids, **facts)
        self.report.violations.append(Violation(rule, message, where, ids))

    def _decoded(self, item: LogRecord) -> _Entry | None:
        topic, contract = item.where.topic, _CONTRACT[item.where.topic]
        if item.value is None and topic == "signals" and not self.window.holds(item.where):
            self.report.out_of_range[topic] += 1  # whose order it was, no one can tell
            return None
        try:
            if item.value is None:
                raise ValueError(item.error or "no value")
            value: Any = item.value
            if topic != "signals":  # a raw signal that breaks its contract is risk's to answer
                value = MODELS[contract].model_validate(value)
        except (ValueError, ValidationError) as error:
            self._flag(Rule.UNDECODABLE_RECORD, item.where, {}, contract=contract, error=error)
            return None
        return _Entry(event_time(topic, value, 0), item.where, value)

    def _scope(self, entry: _Entry, ids: Mapping[str, str], signal_id: str) -> _Order | None:
        """The order a record is about, if in the window; else counted, or flagged if no
        signal on the log started it."""
        order_id = ids["order_id"]
        order = self.orders.get(order_id)
        if order is None and order_id in self.outside:
            self.report.out_of_range[entry.where.topic] += 1
        elif order is None:
            rule = _ORPHAN.get(entry.where.topic, Rule.ORPHAN_ORDER)
            self._flag(rule, entry.where, ids, why=f"no signal {signal_id} on the log")
        return order

    def _redelivered(self, entry: _Entry, first: _Entry) -> bool:
        """Whether `entry` repeats `first` exactly: an at-least-once redelivery, counted."""
        if first.record == entry.record:
            self.report.redelivered[entry.where.topic] += 1
            return True
        return False

    def _signals_group(self, entry: _Entry) -> None:
        parent: Signal = entry.record
        self.groups.setdefault(parent.signal_id, (parent.quantity, {}))

    def _child(self, entry: _Entry) -> None:
        """A child of a group signal counts toward its parent once (a copy is a redelivery)."""
        signal_id = entry.record["signal_id"]
        parent_id = parent_signal_id(signal_id, str(entry.record.get("account_id")))
        if parent_id not in self.groups:
            return
        _quantity, children = self.groups[parent_id]
        children.setdefault(signal_id, (Decimal(str(entry.record["quantity"])), entry.where))

    def _check_groups(self) -> None:
        """A group signal's children may never hold more than it: a child holds its quantity,
        or, once its order ended, what it filled (a failed child's rest went to a failover
        child). Flagged at the child, in the order they were read, that takes them beyond."""
        for parent_id, (quantity, children) in self.groups.items():
            held = _ZERO
            for signal_id, (ordered, where) in children.items():
                order = self.orders.get(order_id_for(signal_id))
                final = None if order is None else order.published
                ended = final is not None and final.record.status in TERMINAL
                held += final.record.filled_quantity if ended else ordered  # type: ignore[union-attr]
                if held > quantity:
                    self._flag(
                        Rule.ALLOCATION_EXCEEDS_PARENT,
                        where,
                        {"signal_id": parent_id},
                        quantity=_plain(quantity),
                        allocated=_plain(held),
                    )
                    break

    def _check_brackets(self) -> None:
        """A bracket's legs together never close more than its entry filled. Flagged at the
        last fill of its legs."""
        for order_id, order in self.orders.items():
            if order.parent is None:
                continue
            legs = [self.orders.get(leg.order_id) for leg in leg_orders(order.parent.record)]
            fills = [e for leg in legs if leg is not None for e in leg.events["fills"]]
            closed = sum((leg.filled for leg in legs if leg is not None), _ZERO)
            if closed > order.filled:
                self._flag(
                    Rule.BRACKET_EXCEEDS_ENTRY,
                    max(fills, key=lambda e: e.time).where,
                    {"order_id": order_id},
                    closed=_plain(closed),
                    filled=_plain(order.filled),
                )

    def _signals(self, entry: _Entry) -> None:
        self._child(entry)
        order_id = order_id_for(entry.record["signal_id"])
        if order_id in self.orders or order_id in self.outside:
            return  # re-sent: risk refuses it as a duplicate, the first one stands
        if self.window.holds(entry.where):
            self.orders[order_id] = _Order(entry.record["signal_id"])
        else:  # with the legs it may have
            self.outside.update([order_id, *(leg_id(order_id, kind) for kind in LegKind)])

    def _open_legs(self, order: _Order, first_slice: _Entry) -> None:
        """A bracket's legs become orders with its first slice, as at the OMS."""
        if order.parent is None:
            return
        for leg in leg_orders(order.parent.record):
            if leg.order_id not in self.orders:
                opened = _Entry(first_slice.time, first_slice.where, leg)
                self.orders[leg.order_id] = _Order(order.signal_id, opened, routed=True)

    def _orders_approved(self, entry: _Entry) -> None:
        parent: ParentOrder = entry.record
        order = self._scope(entry, {"order_id": parent.order_id}, parent.signal.signal_id)
        if order is not None and order.parent is None:
            order.parent = entry
        elif order is not None:
            self._redelivered(entry, order.parent)  # type: ignore[arg-type]

    def _orders_rejected(self, entry: _Entry) -> None:
        rejection: Rejection = entry.record
        order_id = rejection.order_id or order_id_for(rejection.signal_id)
        order = self._scope(entry, {"order_id": order_id}, rejection.signal_id)
        if order is None:
            return
        if rejection.order_id is not None:  # the router refused an approved order
            order.events["orders.rejected"].append(entry)
        elif order.refused is None:
            order.refused = entry

    def _orders_routed(self, entry: _Entry) -> None:
        routed: RoutedOrder = entry.record
        parent = routed.order
        order = self._scope(entry, {"order_id": parent.order_id}, parent.signal.signal_id)
        if order is not None:
            order.routed = True

    def _slices(self, entry: _Entry) -> None:
        child: Slice = entry.record
        ids = {"slice_id": child.slice_id, "order_id": child.order_id}
        order = self._scope(entry, ids, child.signal_id)
        if order is None:
            return
        first = self.slices.get(child.slice_id)
        if first is not None:
            other = first.record.order_id != child.order_id
            if other or (child.action is SliceAction.NEW and not self._redelivered(entry, first)):
                self._flag(
                    Rule.DUPLICATE_CLIENT_ORDER_ID,
                    entry.where,
                    ids,
                    first=first.where,
                    first_order_id=first.record.order_id,
                )
        elif not order.routed:
            self._flag(Rule.ORPHAN_SLICE, entry.where, ids, why="its order was never routed")
        elif child.action is not SliceAction.NEW:
            why = f"a {child.action.value} of a slice never sent"
            self._flag(Rule.ORPHAN_SLICE, entry.where, ids, why=why)
        else:
            self.slices[child.slice_id] = entry
            order.events["slices"].append(entry)
            self._open_legs(order, entry)

    def _fills(self, entry: _Entry) -> None:
        """An execution report: once per report id, traced to its slice, into positions."""
        report: ExecutionReport = entry.record
        topic = entry.where.topic
        ids = {"report_id": report.report_id, "order_id": report.order_id}
        order = self._scope(entry, ids, report.signal_id)
        if order is None:
            return
        first = self.reports[topic].get(report.report_id)
        if first is not None:
            if not self._redelivered(entry, first):
                self._flag(Rule.DUPLICATE_FILL, entry.where, ids, first=first.where)
            return
        why = self._untraced(order, report)
        if why is not None:
            self._flag(Rule.ORPHAN_FILL, entry.where, ids, why=why)
            return
        self.reports[topic][report.report_id] = entry
        key = (report.account_id, report.symbol)
        self.positions[topic][key] += _SIGN[report.side] * report.last_quantity
        if topic == "fills":
            order.events["fills"].append(entry)
            self.report.reports += 1
            self.report.fills += report.last_quantity > 0
            self.position_at[key] = entry.where  # the latest fill names an account's position
        else:
            self.position_at.setdefault(key, entry.where)

    _fills_accounts = _fills

    def _untraced(self, order: _Order, report: ExecutionReport) -> str | None:
        """Why a report of an order in the window does not trace back through its slice."""
        if order.parent is None:
            return "its order was never approved"
        if report.signal_id != order.signal_id:
            return f"its order comes from signal {order.signal_id}, not {report.signal_id}"
        child = self.slices.get(report.slice_id)
        if child is None or child.record.order_id != report.order_id:
            return f"no slice {report.slice_id} of its order was sent"
        sent: Slice = child.record
        if (report.account_id, report.symbol, report.side) != (
            sent.account_id,
            sent.symbol,
            sent.side,
        ):
            return f"its account, symbol or side is not slice {report.slice_id}'s"
        return None

    def _commands(self, entry: _Entry) -> None:
        command: Command = entry.record
        if command.kind not in (CommandKind.CANCEL, CommandKind.MODIFY) or command.order_id is None:
            return  # account commands act through the per-order cancels they cause
        order = self.orders.get(command.order_id)
        if order is not None:
            order.events["commands"].append(entry)
        elif command.order_id in self.outside:
            self.report.out_of_range["commands"] += 1

    def _orders_state(self, entry: _Entry) -> None:
        state: OrderState = entry.record
        order = self._scope(entry, {"order_id": state.order_id}, state.signal_id)
        if order is not None:
            order.published = entry  # offsets grow: the last one read is the latest

    def _rebuild(self, order_id: str, order: _Order) -> None:
        """Fold the order's events with the OMS's cores; compare with what the OMS published."""
        if order.parent is None:
            if order.refused is not None and order.refused.record.signal is not None:
                self.report.orders += 1
                self._compare_state(order_id, order, OrderStatus.REJECTED, _ZERO, order.refused)
            return
        self.report.orders += 1
        state = open_order(order.parent.record)
        topics = ("slices", "fills", "orders.rejected", "commands")
        streams = (order.events[topic] for topic in topics)
        for entry in heapq.merge(*streams, key=lambda e: e.time):
            state = self._apply(state, entry)
        if state.status not in TERMINAL:
            self.report.working += 1
        order.filled = state.filled
        parent: ParentOrder = order.parent.record
        key = (parent.signal.account_id, parent.signal.symbol)
        self.positions["orders"][key] += _SIGN[parent.signal.side] * state.filled
        self._compare_state(order_id, order, state.status, state.filled, order.parent)

    def _apply(self, state: ParentOrderState, entry: _Entry) -> ParentOrderState:
        record, order_id = entry.record, state.order.order_id
        if isinstance(record, Command):
            return apply_command(state, record, entry.time)[0]  # late cancels are fine
        if isinstance(record, Slice):
            return apply_slice(state, record)
        if isinstance(record, Rejection):
            moved = transition(state.status, OrderEvent.REJECTED)
            if isinstance(moved, IllegalTransition):
                ids = {"order_id": order_id}
                self._flag(Rule.ILLEGAL_TRANSITION, entry.where, ids, problem=moved.message)
                return state
            return replace(state, status=moved, reason=record.reason)
        updated, problems = apply_report(state, record)
        for problem in problems:
            if problem.kind is ProblemKind.ORDER_FINISHED and not record.last_quantity:
                continue  # a late acknowledgement or cancel of an ended order changes nothing
            rule = _RULES.get(problem.kind, Rule.ILLEGAL_TRANSITION)  # a fill it may not take
            ids = {"order_id": order_id, "report_id": record.report_id}
            self._flag(rule, entry.where, ids, problem=problem.message)
        return updated

    def _compare_state(
        self,
        order_id: str,
        order: _Order,
        status: OrderStatus,
        filled: Decimal,
        origin: _Entry,
    ) -> None:
        rebuilt = f"{status.value}, filled {_plain(filled)}"
        ids = {"order_id": order_id}
        if order.published is None:
            self._flag(Rule.STATE_MISMATCH, origin.where, ids, published="nothing", rebuilt=rebuilt)
            return
        state: OrderState = order.published.record
        key = (state.account_id, state.symbol)
        self.positions["orders.state"][key] += _SIGN[state.side] * state.filled_quantity
        self.position_at.setdefault(key, order.published.where)
        if (state.status, state.filled_quantity) != (status, filled):
            published = f"{state.status.value}, filled {_plain(state.filled_quantity)}"
            where = order.published.where
            self._flag(Rule.STATE_MISMATCH, where, ids, published=published, rebuilt=rebuilt)

    def _compare_positions(self) -> None:
        sources = ("fills", "orders", "orders.state", "fills.accounts")
        for key, where in sorted(self.position_at.items()):
            fills, orders, states, accounts = (self.positions[s].get(key, _ZERO) for s in sources)
            if not fills == orders == states == accounts:
                ids = {"account_id": key[0], "symbol": key[1]}
                self._flag(
                    Rule.POSITION_MISMATCH,
                    where,
                    ids,
                    fills=_plain(fills),
                    orders=_plain(orders),
                    states=_plain(states),
                    accounts=_plain(accounts),
                )


_ORPHAN = {
    "fills": Rule.ORPHAN_FILL,
    "fills.accounts": Rule.ORPHAN_FILL,
    "slices": Rule.ORPHAN_SLICE,
}

_RULES = {
    ProblemKind.OVERFILL: Rule.FILL_EXCEEDS_QUANTITY,
    ProblemKind.UNPRICED_FILL: Rule.UNPRICED_FILL,
}


def _plain(quantity: Decimal) -> str:
    """A quantity as people write it: 2, not 2.0 (sums keep their operands' scale)."""
    return format(quantity.normalize(), "f")


def _in_time_order(entries: list[_Entry]) -> Iterator[_Entry]:
    """Each partition in the order read (offset order), partitions merged by event time."""
    partitions: dict[int, list[_Entry]] = defaultdict(list)
    for entry in entries:
        partitions[entry.where.partition].append(entry)
    return heapq.merge(*partitions.values(), key=lambda entry: entry.time)
