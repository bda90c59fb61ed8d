"""The allocator stage without Kafka: group signals in, children and the rationale out.

The accounts are tests/accounts.py's: fund-a, fund-b, fund-c split 20 : 30 : 50 while nothing
has moved them; BTC/USDT trades in lots of 0.00001 on binance.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fillstream.domain.ids import order_id_for
from fillstream.domain.reports import report_of
from fillstream.processors import build_stage
from fillstream.schemas.models import (
    AccountCorrelation,
    AccountState,
    AccountStatus,
    Command,
    ExecutionReport,
    InstrumentRules,
    ParentOrder,
    Rejection,
    RoutedOrder,
    Signal,
    Slice,
    VenueAllocation,
    VenueBalance,
    pair_id,
)
from fillstream.schemas.topics import find, key_of
from fillstream.streams.memory import Memory
from fillstream.streams.stages.executor import ExecutorStage
from fillstream.streams.stages.oms import OmsStage
from tests.accounts import accounts_config
from tests.unit.test_allocation import signal as group_signal
from tests.unit.test_failover import T1, ended

T0 = 1_723_161_300_000_000


@pytest.fixture
def config(tmp_path):
    return accounts_config(tmp_path)


def paused(account_id: str) -> AccountState:
    return AccountState(
        account_id=account_id,
        status="paused",
        exposure=Decimal(0),
        working_orders=0,
        pnl=Decimal(0),
        daily_pnl=Decimal(0),
        drawdown=Decimal(0),
        updated_at=T0 - 1,
    )


def test_children_have_deterministic_ids_and_a_rationale_follows(config):
    emits = build_stage("allocator", config).handle("signals.group", group_signal(), T0)
    assert [emit.topic for emit in emits] == ["signals", "signals", "signals", "allocations"]
    children = [emit.record for emit in emits[:3]]
    # 1 BTC at 20 : 30 : 50
    assert [(c.signal_id, c.account_id, c.quantity) for c in children] == [
        ("grp-1:fund-a", "fund-a", Decimal("0.2")),
        ("grp-1:fund-b", "fund-b", Decimal("0.3")),
        ("grp-1:fund-c", "fund-c", Decimal("0.5")),
    ]
    assert {c.exchange for c in children} == {"binance"}  # the accounts' venue
    rationale = emits[3].record
    assert (rationale.signal_id, rationale.allocation_group) == ("grp-1", "funded")
    assert rationale.allocated == 1


def test_a_repeated_parent_gives_identical_children_even_after_the_accounts_moved(config):
    stage = build_stage("allocator", config)
    first = stage.handle("signals.group", group_signal(), T0)
    stage.handle("accounts.state", paused("fund-b"), T0)
    assert stage.handle("signals.group", group_signal(), T0) == first
    # restored from its memory, a worker gives the same again
    restored = build_stage("allocator", config)
    Memory(restored).restore(Memory(stage).changes()[0])
    assert restored.handle("signals.group", group_signal(), T0) == first


def test_a_paused_account_is_skipped_and_the_rationale_says_so(config):
    stage = build_stage("allocator", config)
    stage.handle("accounts.state", paused("fund-b"), T0)
    emits = stage.handle("signals.group", group_signal(quantity="0.7"), T0)
    # fund-b paused: 20,000 : 50,000 of 70,000 -> 0.2, 0.5
    children = {e.record.account_id: e.record.quantity for e in emits if e.topic == "signals"}
    assert children == {"fund-a": Decimal("0.2"), "fund-c": Decimal("0.5")}
    line = next(line for line in emits[-1].record.accounts if line.account_id == "fund-b")
    assert (line.quantity, line.child_signal_id) == (0, None)
    assert "skipped: paused" in line.notes


def test_correlations_and_older_states_are_taken_as_the_table_says(config):
    stage = build_stage("allocator", config)
    stage.handle(
        "accounts.correlations",
        AccountCorrelation(
            pair_id=pair_id("fund-b", "fund-a"),
            account_a="fund-a",
            account_b="fund-b",
            correlation=0.85,
            updated_at=T0,
        ),
        T0,
    )
    newer = paused("fund-c").model_copy(update={"status": AccountStatus.ACTIVE, "updated_at": T0})
    stage.handle("accounts.state", newer, T0)
    stage.handle("accounts.state", paused("fund-c"), T0)  # older: ignored
    emits = stage.handle("signals.group", group_signal(quantity="0.75"), T0)
    # a and b share their mean 25,000 (a 10,000, b 15,000), c 50,000: of 75,000 -> 0.1, 0.15, 0.5
    children = {e.record.account_id: e.record.quantity for e in emits if e.topic == "signals"}
    assert children == {
        "fund-a": Decimal("0.1"),
        "fund-b": Decimal("0.15"),
        "fund-c": Decimal("0.5"),
    }


# fund-d, kraken's only account, in USDT; kraken's lot 0.0001 is the group's coarsest.
KRAKEN = """
[[venues]]
name = "kraken"
maker_fee = "0.0016"
taker_fee = "0.0026"
latency_us = 2000

[[instruments]]
venue = "kraken"
symbol = "BTC/USDT"
tick_size = "0.1"
lot_size = "0.0001"
min_quantity = "0.0001"
min_notional = "5"

[[accounts]]
id = "fund-d"
venue = "kraken"
currency = "USDT"
balance = "100000"
risk_budget = "5000"
groups = ["funded"]
"""


def kraken_balance(free_usdt: str, fetched_at: int) -> VenueBalance:
    free = {"USDT": Decimal(free_usdt)}
    return VenueBalance(venue="kraken", free=free, total=free, fetched_at=fetched_at)


def test_the_venues_latest_balance_sizes_its_only_account_and_survives_a_restore(tmp_path):
    stage = build_stage("allocator", accounts_config(tmp_path, KRAKEN))
    stage.handle("venue.balances", kraken_balance("10000", T0), T0)
    stage.handle("venue.balances", kraken_balance("100000", T0 - 1), T0)  # an older copy
    restored = build_stage("allocator", accounts_config(tmp_path, KRAKEN))
    Memory(restored).restore(Memory(stage).changes()[0])
    # fund-d: kraken's 10,000 USDT free, budget 5,000 -> min(10,000, 100,000) = 10,000;
    # with fund-a 20,000, fund-b 30,000, fund-c 50,000: of 110,000, 1.1 BTC -> 0.2, 0.3, 0.5, 0.1
    for allocator in (stage, restored):
        emits = allocator.handle("signals.group", group_signal(quantity="1.1"), T0)
        children = {e.record.account_id: e.record.quantity for e in emits if e.topic == "signals"}
        assert children == {
            "fund-a": Decimal("0.2"),
            "fund-b": Decimal("0.3"),
            "fund-c": Decimal("0.5"),
            "fund-d": Decimal("0.1"),
        }
        assert emits[-1].record.lot_size == Decimal("0.0001")


def test_the_lot_a_venue_publishes_rounds_the_children(config):
    # binance states lots of 0.001 (the configuration says 0.00001). 0.0999 splits 20 : 30 : 50
    # into 19.98, 29.97 and 49.95 lots: 19, 29 and 49 whole, and the 2 spare lots of the 99 go
    # to the largest remainders, fund-a (0.98) and fund-b (0.97): 0.02, 0.03, 0.049.
    stage = build_stage("allocator", config)
    rules = InstrumentRules(
        instrument_id="binance:BTC/USDT",
        venue="binance",
        symbol="BTC/USDT",
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.001"),
        min_quantity=Decimal("0.001"),
        min_notional=Decimal(5),
        source="ccxt:binance",
        published_at=T0,
    )
    stage.handle("venue.instruments", rules, T0)
    emits = stage.handle("signals.group", group_signal(quantity="0.0999"), T0)
    children = {e.record.account_id: e.record.quantity for e in emits if e.topic == "signals"}
    assert children == {
        "fund-a": Decimal("0.02"),
        "fund-b": Decimal("0.03"),
        "fund-c": Decimal("0.049"),
    }
    assert emits[-1].record.lot_size == Decimal("0.001")


def test_an_unknown_group_is_refused_for_the_dead_letters(config):
    with pytest.raises(ValueError, match="no allocation group 'other'"):
        build_stage("allocator", config).handle(
            "signals.group", group_signal(allocation_group="other"), T0
        )


def test_a_refused_child_fails_over_to_the_heaviest_other_account_once(config):
    # fund-a's 0.2 refused by risk: fund-c (50,000) ranks before fund-b (30,000) and takes it
    stage = build_stage("allocator", config)
    stage.handle("signals.group", group_signal(), T0)
    refused = ended("grp-1:fund-a", "fund-a", "0.2", "rejected", reason="ACCOUNT_PAUSED: paused")
    emits = stage.handle("allocations.ended", refused, T1)
    assert [emit.topic for emit in emits] == ["signals", "allocations"]
    child, rationale = (emit.record for emit in emits)
    assert (child.signal_id, child.account_id, child.quantity, child.exchange) == (
        "grp-1:fund-c:f1",
        "fund-c",
        Decimal("0.2"),
        "binance",
    )
    assert (rationale.failover_of, rationale.allocated) == ("grp-1:fund-a", Decimal("0.2"))
    # delivered again, or to a worker restored from the memory: the same records
    assert stage.handle("allocations.ended", refused, T1) == emits
    restored = build_stage("allocator", config)
    Memory(restored).restore(Memory(stage).changes()[0])
    assert restored.handle("allocations.ended", refused, T1) == emits


def test_the_end_of_a_child_whose_parent_is_unknown_moves_nothing(config):
    stage = build_stage("allocator", config)
    assert (
        stage.handle("allocations.ended", ended("grp-9:fund-a", "fund-a", "1", "expired"), T1) == []
    )


def test_the_oms_hands_a_refused_childs_end_to_the_allocator_keyed_by_its_group(config):
    child = build_stage("allocator", config).handle("signals.group", group_signal(), T0)[0].record
    refusal = Rejection(
        signal_id=child.signal_id,
        account_id=child.account_id,
        reason_code="ACCOUNT_PAUSED",
        reason="paused",
        stage="risk",
        signal=child,
        rejected_at=T1,
    )
    emits = OmsStage().handle("orders.rejected", refusal, T1)
    assert [emit.topic for emit in emits] == ["orders.state", "allocations.ended"]
    end = emits[1].record
    assert (end.signal_id, end.allocation_group, end.filled_quantity) == (
        "grp-1:fund-a",
        "funded",
        0,
    )
    assert key_of(find("allocations.ended"), end) == b"funded"


def desk_with(child: Signal) -> tuple[ExecutorStage, OmsStage, Slice]:
    """An executor and an OMS working `child` (approved, routed to binance): its one slice."""
    executor, oms = ExecutorStage(), OmsStage()
    order = ParentOrder(order_id=order_id_for(child.signal_id), signal=child, approved_at=T0)
    oms.handle("orders.approved", order, T0)
    plan = [VenueAllocation(venue="binance", quantity=child.quantity)]
    routed = RoutedOrder(order=order, venue_plan=plan, routed_at=T0)
    [sent] = executor.handle("orders.routed", routed, T0)
    oms.handle("slices", sent.record, T0)
    return executor, oms, sent.record


def venue_end(child: Slice, status: str, at: int, reason: str | None = None) -> ExecutionReport:
    return report_of(
        child,
        report_id=f"{child.slice_id}#end",
        venue="binance",
        exec_type="reject" if status == "rejected" else "cancel",
        status=status,
        last_quantity=Decimal(0),
        filled_quantity=Decimal(0),
        leaves_quantity=Decimal(0),
        commission=Decimal(0),
        reason=reason,
        timestamp=at,
    )


def through(stages: tuple[ExecutorStage, OmsStage], topic: str, record: Any, at: int) -> list:
    """`record` to the executor and the OMS, and what they emit back to them in turn: what
    the OMS hands the allocator on `allocations.ended`."""
    ended, queue = [], [(topic, record)]
    while queue:
        topic, record = queue.pop(0)
        for stage in stages:
            for emit in stage.handle(topic, record, at):
                if emit.topic == "allocations.ended":
                    ended.append(emit.record)
                elif emit.topic in ("commands", "slices"):
                    queue.append((emit.topic, emit.record))
    return ended


@pytest.mark.parametrize(
    ("kind", "why"), [("pause", "account paused: ops"), ("kill_switch", "kill switch: ops")]
)
def test_a_child_working_when_its_account_is_paused_or_halted_is_cancelled_and_fails_over(
    config, kind, why
):
    # limit children rest; fund-a's 0.2 is cancelled and fund-c (50,000) takes it
    allocator = build_stage("allocator", config)
    emits = allocator.handle("signals.group", group_signal(order_type="limit", price="60000"), T0)
    executor, oms, working = desk_with(emits[0].record)
    stop = Command(command_id="c-1", kind=kind, account_id="fund-a", reason="ops", created_at=T1)
    assert through((executor, oms), "commands", stop, T1) == []  # cancel sent, none ended yet
    [end] = through((executor, oms), "fills", venue_end(working, "cancelled", T1 + 1), T1 + 1)
    assert (end.signal_id, end.status.value, end.reason) == ("grp-1:fund-a", "cancelled", why)
    child, rationale = (emit.record for emit in allocator.handle("allocations.ended", end, T1))
    assert (child.signal_id, child.quantity) == ("grp-1:fund-c:f1", Decimal("0.2"))
    assert rationale.notes[0] == f"failover of grp-1:fund-a: cancelled ({why})"


def test_a_child_refused_by_an_open_circuit_breaker_fails_over(config):
    allocator = build_stage("allocator", config)
    emits = allocator.handle("signals.group", group_signal(order_type="limit", price="60000"), T0)
    executor, oms, refused = desk_with(emits[1].record)
    why = "CIRCUIT_OPEN: the circuit breaker of binance is open"
    [end] = through((executor, oms), "fills", venue_end(refused, "rejected", T1, why), T1)
    assert (end.signal_id, end.status.value) == ("grp-1:fund-b", "rejected")
    child, rationale = (emit.record for emit in allocator.handle("allocations.ended", end, T1))
    # fund-b's 0.3 to fund-c, the heaviest account left
    assert (child.signal_id, child.quantity) == ("grp-1:fund-c:f1", Decimal("0.3"))
    assert why in rationale.notes[0]


NUMBERED = """
[[allocation_groups]]
name = "numbered"

[[accounts]]
id = "f1"
venue = "binance"
balance = "30000"
risk_budget = "5000"
groups = ["numbered"]

[[accounts]]
id = "f2"
venue = "binance"
balance = "50000"
risk_budget = "2500"
groups = ["numbered"]
"""


def test_accounts_named_like_a_failover_number_fail_over_from_the_right_parent(tmp_path):
    # f1 30,000 : f2 50,000 of 0.8 gives f1 0.3 and f2 0.5; parents `p` and `p:f1` both held
    stage = build_stage("allocator", accounts_config(tmp_path, NUMBERED))
    for parent_id in ("p", "p:f1"):
        stage.handle(
            "signals.group",
            group_signal("0.8", signal_id=parent_id, allocation_group="numbered"),
            T0,
        )
    # `p:f1` is p's child of account f1 (its id ends like a failover's)
    [child, rationale] = stage.handle(
        "allocations.ended", ended("p:f1", "f1", "0.3", "rejected"), T1
    )
    assert (child.record.signal_id, child.record.quantity) == ("p:f2:f1", Decimal("0.3"))
    assert rationale.record.signal_id == "p"
    # `p:f1:f1` is the child of `p:f1` of account f1, not a failover child of p
    [child, rationale] = stage.handle(
        "allocations.ended", ended("p:f1:f1", "f1", "0.3", "rejected"), T1
    )
    assert (child.record.signal_id, rationale.record.signal_id) == ("p:f1:f2:f1", "p:f1")
