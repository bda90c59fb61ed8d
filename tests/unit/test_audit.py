"""The audit's core on hand-built logs: a clean one passes; each breach is named, with its
record's coordinates."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D
from typing import Any

import pytest
from typer.testing import CliRunner

from fillstream.analytics.audit import AUDITED_TOPICS, audit
from fillstream.analytics.audit_report import AuditReport, LogRecord, Violation, Where, Window
from fillstream.cli import app

T = 1_723_161_300_000_000
MS = 1_000


class Log:
    """Records appended as they would be written: offsets grow per topic and partition."""

    def __init__(self) -> None:
        self.records: list[LogRecord] = []
        self._next: dict[tuple[str, int], int] = defaultdict(int)

    def add(self, topic: str, value: dict[str, Any] | None, partition: int = 0, **kw) -> Where:
        where = Where(topic, partition, self._next[topic, partition])
        self._next[topic, partition] += 1
        self.records.append(LogRecord(where, value, **kw))
        return where


def signal(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "signal_id": f"s{n}",
        "strategy_id": "audit-test",
        "account_id": f"acct-{n}",
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": D("2"),
        "order_type": "market",
        "created_at": T + n * 1000 * MS,
    } | fields


def parent(sig: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": f"o-{sig['signal_id']}", "signal": sig, "approved_at": sig["created_at"]}


def routed(sig: dict[str, Any]) -> dict[str, Any]:
    plan = [{"venue": "binance", "quantity": sig["quantity"]}]
    return {"order": parent(sig), "venue_plan": plan, "routed_at": sig["created_at"]}


def child(sig: dict[str, Any], action: str = "new", **fields: Any) -> dict[str, Any]:
    return {
        "slice_id": f"o-{sig['signal_id']}-0",
        "order_id": f"o-{sig['signal_id']}",
        "signal_id": sig["signal_id"],
        "account_id": sig["account_id"],
        "symbol": sig["symbol"],
        "venue": "binance",
        "action": action,
        "sequence": 0,
        "side": sig["side"],
        "quantity": sig["quantity"],
        "order_type": sig["order_type"],
        "price": sig.get("price"),
        "created_at": sig["created_at"] + 1 * MS,
    } | fields


def report(sig: dict[str, Any], n: int, exec_type: str, status: str, **fields: Any) -> dict:
    return {
        "report_id": f"o-{sig['signal_id']}-0:{n}",
        "order_id": f"o-{sig['signal_id']}",
        "signal_id": sig["signal_id"],
        "slice_id": f"o-{sig['signal_id']}-0",
        "account_id": sig["account_id"],
        "symbol": sig["symbol"],
        "venue": "binance",
        "side": sig["side"],
        "exec_type": exec_type,
        "status": status,
        "quantity": sig["quantity"],
        "last_quantity": D(0),
        "filled_quantity": D(0),
        "leaves_quantity": sig["quantity"],
        "commission": D(0),
        "timestamp": sig["created_at"] + (2 + n) * MS,
    } | fields


def state(sig: dict[str, Any], status: str, filled: str, version: int) -> dict[str, Any]:
    return {
        "order_id": f"o-{sig['signal_id']}",
        "signal_id": sig["signal_id"],
        "strategy_id": sig["strategy_id"],
        "account_id": sig["account_id"],
        "symbol": sig["symbol"],
        "side": sig["side"],
        "order_type": sig["order_type"],
        "quantity": sig["quantity"],
        "status": status,
        "filled_quantity": D(filled),
        "leaves_quantity": D(0),
        "commission": D(0),
        "version": version,
        "created_at": sig["created_at"],
        "updated_at": sig["created_at"] + 10 * MS,
    }


BUY = signal(1)  # filled in two fills: 0.5 @ 100, then 1.5 @ 101
SELL = signal(2, side="sell", quantity=D(1), order_type="limit", price=D(105))  # cancelled
REFUSED = signal(3, quantity=D(50))  # refused by risk

PARTIAL = report(
    BUY,
    2,
    "partial_fill",
    "partially_filled",
    last_quantity=D("0.5"),
    last_price=D(100),
    filled_quantity=D("0.5"),
    leaves_quantity=D("1.5"),
)
FILL = report(
    BUY,
    3,
    "fill",
    "filled",
    last_quantity=D("1.5"),
    last_price=D(101),
    filled_quantity=D(2),
    leaves_quantity=D(0),
)


def clean_log(after_partial: tuple[dict[str, Any], ...] = ()) -> Log:
    """Three signals: a buy filled in two fills, a sell cancelled, one refused by risk;
    `after_partial`: reports written between the buy's two fills."""
    log = Log()
    log.add("signals", BUY, partition=0)
    log.add("signals", SELL, partition=1)
    log.add("signals", REFUSED, partition=1)
    for sig in (BUY, SELL):
        log.add("orders.approved", parent(sig))
        log.add("orders.routed", routed(sig))
        log.add("slices", child(sig))
    log.add(
        "orders.rejected",
        {
            "signal_id": "s3",
            "account_id": "acct-3",
            "symbol": "BTC/USDT",
            "reason_code": "MAX_ORDER_QUANTITY",
            "reason": "quantity 50 exceeds the maximum of 10 per order",
            "stage": "risk",
            "signal": REFUSED,
            "rejected_at": REFUSED["created_at"],
        },
    )
    log.add("fills", report(BUY, 1, "ack", "accepted"))
    log.add("fills", PARTIAL)
    for extra in after_partial:
        log.add("fills", extra)
    log.add("fills", FILL)
    log.add("fills.accounts", PARTIAL)
    log.add("fills.accounts", FILL)
    log.add("fills", report(SELL, 1, "ack", "accepted"))
    cancel_at = SELL["created_at"] + 500 * MS
    log.add(
        "commands",
        {
            "command_id": "c-1",
            "kind": "cancel",
            "order_id": "o-s2",
            "symbol": "BTC/USDT",
            "created_at": cancel_at,
        },
    )
    log.add("slices", child(SELL, action="cancel", created_at=cancel_at))
    log.add(
        "fills",
        report(SELL, 2, "cancel", "cancelled", leaves_quantity=D(0), timestamp=cancel_at + MS),
    )
    log.add("orders.state", state(BUY, "partially_filled", "0.5", 3))
    log.add("orders.state", state(BUY, "filled", "2", 4))
    log.add("orders.state", state(SELL, "cancelled", "0", 4))
    log.add("orders.state", state(REFUSED, "rejected", "0", 2))
    return log


def only(report: AuditReport) -> Violation:
    assert len(report.violations) == 1, report.violations
    return report.violations[0]


def test_a_clean_log_passes():
    result = audit(clean_log().records)
    assert result.passed, result.violations
    assert (result.orders, result.working, result.reports, result.fills) == (3, 0, 5, 2)
    assert result.read["fills"] == 5 and result.read["orders.state"] == 4
    assert not result.redelivered and not result.out_of_range


def test_an_identical_copy_of_a_report_is_a_redelivery_counted_once():
    log = clean_log()
    log.add("fills", PARTIAL)
    log.add("fills.accounts", PARTIAL)
    result = audit(log.records)
    assert result.passed, result.violations
    assert result.redelivered == {"fills": 1, "fills.accounts": 1}
    assert result.fills == 2


def test_a_fill_beyond_the_orders_quantity():
    # 0.5 filled so far (report 2); 1.6 more would make 2.1 of 2.
    extra = report(
        BUY,
        2,
        "partial_fill",
        "partially_filled",
        report_id="o-s1-0:2b",
        last_quantity=D("1.6"),
        last_price=D(100),
        filled_quantity=D("2.1"),
        leaves_quantity=D(0),
    )
    result = audit(clean_log(after_partial=(extra,)).records)
    rules = {violation.rule.value: violation for violation in result.violations}
    assert set(rules) == {"FILL_EXCEEDS_QUANTITY", "POSITION_MISMATCH"}
    overfill = rules["FILL_EXCEEDS_QUANTITY"]
    assert overfill.where == Where("fills", 0, 2)
    assert overfill.ids == {"order_id": "o-s1", "report_id": "o-s1-0:2b"}
    assert "fills 1.6 on top of 0.5, beyond the order's 2" in overfill.message
    # The venue executed it: the account holds 0.5 + 1.6 + 1.5 = 3.6, its orders say 2.
    position = rules["POSITION_MISMATCH"]
    assert position.ids == {"account_id": "acct-1", "symbol": "BTC/USDT"}
    assert "fills 3.6, rebuilt orders 2, orders.state 2, fills.accounts 2" in position.message


def test_a_fill_for_an_order_already_cancelled_is_an_illegal_transition():
    log = clean_log()
    late = report(
        SELL,
        3,
        "fill",
        "filled",
        last_quantity=D(1),
        last_price=D(105),
        filled_quantity=D(1),
        leaves_quantity=D(0),
        timestamp=SELL["created_at"] + 900 * MS,
    )
    where = log.add("fills", late)
    log.add("fills.accounts", late)
    rules = {v.rule.value: v for v in audit(log.records).violations}
    assert set(rules) == {"ILLEGAL_TRANSITION", "POSITION_MISMATCH"}
    assert rules["ILLEGAL_TRANSITION"].where == where
    assert rules["ILLEGAL_TRANSITION"].message == "order o-s2: order o-s2 is already cancelled"
    assert "fills -1, rebuilt orders 0, orders.state 0, fills.accounts -1" in (
        rules["POSITION_MISMATCH"].message
    )


def test_a_router_rejection_of_a_filled_order_is_an_illegal_transition():
    log = clean_log()
    where = log.add(
        "orders.rejected",
        {
            "signal_id": "s1",
            "order_id": "o-s1",
            "account_id": "acct-1",
            "symbol": "BTC/USDT",
            "reason_code": "NO_ROUTE",
            "reason": "no venue",
            "stage": "router",
            "rejected_at": BUY["created_at"] + 20 * MS,
        },
    )
    violation = only(audit(log.records))
    assert (violation.rule.value, violation.where) == ("ILLEGAL_TRANSITION", where)
    assert "an order that is filled cannot take the event rejected" in violation.message


def test_risks_copy_of_the_fills_missing_one_is_a_position_mismatch():
    log = clean_log()
    log.records = [r for r in log.records if r.where != Where("fills.accounts", 0, 1)]
    violation = only(audit(log.records))
    assert violation.rule.value == "POSITION_MISMATCH"
    assert violation.where == Where("fills", 0, 2)  # the account's latest fill
    assert "fills 2, rebuilt orders 2, orders.state 2, fills.accounts 0.5" in violation.message


def test_orders_state_that_disagrees_with_the_rebuilt_order():
    log = clean_log()
    where = log.add("orders.state", state(BUY, "filled", "1.5", 5))
    rules = {v.rule.value: v for v in audit(log.records).violations}
    assert set(rules) == {"STATE_MISMATCH", "POSITION_MISMATCH"}
    assert rules["STATE_MISMATCH"].where == where
    assert rules["STATE_MISMATCH"].message == (
        "order o-s1: orders.state says filled, filled 1.5, its rebuilt state is filled, filled 2"
    )
    assert "orders.state 1.5" in rules["POSITION_MISMATCH"].message


def test_a_client_order_id_reused_for_another_order():
    log = clean_log()
    log.add("slices", child(BUY))  # an identical copy: a redelivery
    where = log.add("slices", child(SELL, slice_id="o-s1-0", created_at=T + 3000 * MS))
    result = audit(log.records)
    violation = only(result)
    assert (violation.rule.value, violation.where) == ("DUPLICATE_CLIENT_ORDER_ID", where)
    assert violation.ids == {"slice_id": "o-s1-0", "order_id": "o-s2"}
    assert "first sent at slices partition 0 offset 0 (of o-s1)" in violation.message
    assert result.redelivered == {"slices": 1}


def test_a_report_id_rewritten_with_other_content():
    log = clean_log()
    where = log.add("fills", PARTIAL | {"last_quantity": D("0.7")})
    violation = only(audit(log.records))  # counted once: positions still agree
    assert (violation.rule.value, violation.where) == ("DUPLICATE_FILL", where)
    assert violation.message == (
        "report o-s1-0:2 was first written at fills partition 0 offset 1 with different content"
    )


def test_fills_that_trace_back_to_no_signal_or_no_slice():
    log = clean_log()
    ghost = signal(9)
    nowhere = log.add("fills", report(ghost, 1, "ack", "accepted"))
    unsent = log.add("fills", report(BUY, 4, "ack", "accepted", slice_id="o-s1-7"))
    violations = audit(log.records).violations
    assert [(v.rule.value, v.where) for v in violations] == [
        ("ORPHAN_FILL", nowhere),
        ("ORPHAN_FILL", unsent),
    ]
    assert violations[0].message.endswith(
        "does not trace back to a signal: no signal s9 on the log"
    )
    assert violations[1].message.endswith("no slice o-s1-7 of its order was sent")


def test_a_slice_of_an_order_never_routed():
    log = clean_log()
    unrouted = signal(4)
    log.add("signals", unrouted)
    log.add("orders.approved", parent(unrouted))
    log.add("orders.state", state(unrouted, "new", "0", 1))
    where = log.add("slices", child(unrouted))
    violation = only(audit(log.records))
    assert (violation.rule.value, violation.where) == ("ORPHAN_SLICE", where)


def test_undecodable_and_contract_breaking_records_are_named():
    log = clean_log()
    garbage = log.add("fills", None, error="not a single-object encoding")
    negative = log.add("fills", report(BUY, 5, "ack", "accepted", quantity=D(-1)))
    violations = audit(log.records).violations
    assert [(v.rule.value, v.where) for v in violations] == [
        ("UNDECODABLE_RECORD", garbage),
        ("UNDECODABLE_RECORD", negative),
    ]
    assert violations[0].message == (
        "not a valid ExecutionReport record: not a single-object encoding"
    )
    assert "quantity" in violations[1].message


def test_orders_whose_signal_is_outside_the_window_are_out_of_range():
    # The window starts after BUY's signal (partition 0, offset 0) and keeps partition 1's.
    result = audit(clean_log().records, Window(first={0: 1}))
    assert result.passed, result.violations
    assert result.orders == 2
    assert result.out_of_range == {
        "orders.approved": 1,
        "orders.routed": 1,
        "slices": 1,
        "fills": 3,
        "fills.accounts": 2,
        "orders.state": 2,
    }
    assert audit(clean_log().records, Window(end={0: 0, 1: 0})).orders == 0


def test_the_report_as_json_lists_each_violation_with_its_coordinates():
    log = clean_log()
    log.add("fills", None, partition=2, error="corrupt")
    body = audit(log.records).to_dict()
    assert body["passed"] is False
    assert body["violations_by_rule"] == {"UNDECODABLE_RECORD": 1}
    assert body["violations"] == [
        {
            "rule": "UNDECODABLE_RECORD",
            "message": "not a valid ExecutionReport record: corrupt",
            "topic": "fills",
            "partition": 2,
            "offset": 0,
            "ids": {},
        }
    ]


def test_an_undecodable_signal_outside_the_window_is_out_of_range_not_a_violation():
    log = clean_log()
    log.add("signals", None, partition=1, error="corrupt")  # offset 2 of partition 1
    assert audit(log.records, Window(end={1: 2})).out_of_range == {"signals": 1}
    inside = audit(log.records).violations
    assert [(v.rule.value, v.where) for v in inside] == [
        ("UNDECODABLE_RECORD", Where("signals", 1, 2))
    ]


def test_the_command_refuses_a_time_that_is_not_iso_before_touching_kafka(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # nothing listens on port 1
    result = CliRunner().invoke(app, ["audit", "--from", "yesterday"])
    assert result.exit_code == 2
    assert "not an ISO time: 'yesterday'" in result.output
    result = CliRunner().invoke(app, ["audit", "--from", "2024-08-08T23:55:00Z"])
    assert result.exit_code == 2
    assert "No Kafka broker answers at 127.0.0.1:1" in result.output


def test_a_group_signals_children_may_sum_to_its_quantity_but_no_more():
    # parent g of 2: children 0.5 + 1.5 = 2 pass (a copy of one counts once); a third child
    # of 0.25 takes them to 2.25 > 2, flagged at that child
    log = Log()
    log.add("signals.group", signal(0, signal_id="g", allocation_group="funded"))
    for account, quantity in (("a", "0.5"), ("b", "1.5"), ("b", "1.5")):
        log.add(
            "signals", signal(1, signal_id=f"g:{account}", account_id=account, quantity=D(quantity))
        )
    assert audit(log.records).passed
    extra = log.add("signals", signal(1, signal_id="g:c", account_id="c", quantity=D("0.25")))
    violation = only(audit(log.records))
    assert (violation.rule, violation.where) == ("ALLOCATION_EXCEEDS_PARENT", extra)
    assert violation.message == "group signal g of 2: its children sum to 2.25"


def test_a_failed_childs_failover_counts_only_what_the_failed_child_left():
    # parent g of 2: g:a 1 and g:b 1; g:a refused by risk (holds 0 once ended), so its
    # failover g:b:f1 of 1 keeps them at 0 + 1 + 1 = 2. While g:a has not ended, the three
    # hold 3 > 2: flagged at g:b:f1.
    log = Log()
    log.add("signals.group", signal(0, signal_id="g", allocation_group="funded"))
    first = signal(1, signal_id="g:a", account_id="a", quantity=D(1))
    log.add("signals", first)
    log.add("signals", signal(1, signal_id="g:b", account_id="b", quantity=D(1)))
    failover = log.add("signals", signal(2, signal_id="g:b:f1", account_id="b", quantity=D(1)))
    violation = only(audit(log.records))
    assert (violation.rule, violation.where) == ("ALLOCATION_EXCEEDS_PARENT", failover)
    assert violation.message == "group signal g of 2: its children sum to 3"
    log.add("orders.state", state(first, "rejected", "0", 1))
    assert audit(log.records).passed


def _replayed_bracket() -> tuple[Log, dict[str, Any]]:
    """The BTCUSDT capture's market buy of 0.05 at 23:55 with a stop-loss at 61,650 (which the
    sell-off triggers) and a take-profit at 62,500 (cancelled), as the replay logged it."""
    from fillstream.config import load_config
    from fillstream.connectors.feeds import load
    from fillstream.connectors.feeds.samples import sample_file
    from fillstream.replay import run_replay

    capture = sample_file("btcusdt_20240808.gz")
    if capture is None:
        pytest.skip("the shared sample data (btcusdt_20240808.gz) is not present")
    bracket = signal(0, stop_loss=D("61650"), take_profit=D("62500"), quantity=D("0.05"))
    replay = run_replay(load_config(), load(capture), [bracket])
    log = Log()
    log.add("signals", bracket)
    for topic in AUDITED_TOPICS:
        for record in replay.records.get(topic, ()):
            log.add(topic, record.model_dump())
    return log, bracket


def test_a_brackets_legs_are_audited_as_orders_of_their_own_and_never_close_beyond_the_entry():
    log, _bracket = _replayed_bracket()
    clean = audit(log.records)
    assert clean.passed, clean.violations
    assert clean.orders == 3  # the entry and its two legs
    # Had the take-profit filled 0.05 at 62,500 instead of being cancelled, the legs would
    # have closed 0.05 + 0.05 = 0.1 of a 0.05 entry.
    records, fill = [], None
    for item in log.records:
        value = item.value
        if (
            item.where.topic == "fills"
            and value["order_id"] == "tp-s0"
            and value["status"] == "cancelled"
        ):
            value = value | {
                "exec_type": "fill",
                "status": "filled",
                "last_quantity": D("0.05"),
                "last_price": D("62500"),
                "filled_quantity": D("0.05"),
                "leaves_quantity": D(0),
            }
            fill = item.where
        records.append(LogRecord(item.where, value))
    violations = audit(records).violations
    [exceeds] = [v for v in violations if v.rule == "BRACKET_EXCEEDS_ENTRY"]
    assert exceeds.where == fill
    assert exceeds.message == "bracket o-s0: its legs closed 0.1, beyond the 0.05 its entry filled"
