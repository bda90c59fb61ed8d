"""A kill switch makes the executor cancel what it works for the account (or for all); a pause
cancels the account's group children only, whose rest fails over to another account."""

from __future__ import annotations

from decimal import Decimal as D

from fillstream.schemas.models import (
    Command,
    ParentOrder,
    RoutedOrder,
    Signal,
    SliceAction,
    VenueAllocation,
)
from fillstream.streams.stages.executor import ExecutorStage

T = 1723161300000000


def routed(signal_id: str, account_id: str, group: str | None = None) -> RoutedOrder:
    signal = Signal(
        signal_id=signal_id,
        strategy_id="st",
        account_id=account_id,
        symbol="BTC/USDT",
        side="buy",
        quantity=D("0.1"),
        order_type="limit",
        price=D("61000"),
        created_at=T,
        allocation_group=group,
    )
    order = ParentOrder(order_id=f"o-{signal_id}", signal=signal, approved_at=T)
    plan = [VenueAllocation(venue="binance", quantity=D("0.1"))]
    return RoutedOrder(order=order, venue_plan=plan, routed_at=T)


def working_desk() -> ExecutorStage:
    stage = ExecutorStage()
    for signal_id, account in (("s1", "a-1"), ("s2", "a-2"), ("s3", "a-1")):
        stage.handle("orders.routed", routed(signal_id, account), T)
    return stage


def kill(account_id: str | None) -> Command:
    return Command(
        command_id="k-1", kind="kill_switch", account_id=account_id, reason="desk", created_at=T
    )


def test_an_accounts_kill_switch_cancels_its_orders_only_through_cancel_commands():
    stage = working_desk()
    emits = stage.handle("commands", kill("a-1"), T + 10)
    assert [(e.topic, e.record.kind.value, e.record.order_id) for e in emits] == [
        ("commands", "cancel", "o-s1"),
        ("commands", "cancel", "o-s3"),
    ]
    assert all(e.record.symbol == "BTC/USDT" and e.record.created_at == T + 10 for e in emits)
    assert emits[0].record.reason == "kill switch: desk"
    # the executor then carries its own command out: a cancel slice for the working slice
    slices = stage.handle("commands", emits[0].record, T + 11)
    assert [(s.record.slice_id, s.record.action) for s in slices] == [
        ("o-s1-1", SliceAction.CANCEL)
    ]


def test_a_kill_switch_for_every_account_cancels_everything_once():
    stage = working_desk()
    first = stage.handle("commands", kill(None), T + 10)
    assert sorted(e.record.order_id for e in first) == ["o-s1", "o-s2", "o-s3"]
    for emit in first:
        stage.handle("commands", emit.record, T + 11)
    assert stage.handle("commands", kill(None), T + 12) == []  # already being cancelled


def test_a_pause_cancels_the_accounts_group_children_and_leaves_its_own_orders_working():
    stage = working_desk()
    stage.handle("orders.routed", routed("grp-1:a-1", "a-1", group="funded"), T)
    stage.handle("orders.routed", routed("grp-1:a-2", "a-2", group="funded"), T)
    pause = Command(command_id="p-1", kind="pause", account_id="a-1", reason="ops", created_at=T)
    emits = stage.handle("commands", pause, T + 10)
    assert [(e.record.command_id, e.record.kind.value, e.record.reason) for e in emits] == [
        ("o-grp-1:a-1:p-1", "cancel", "account paused: ops")
    ]
    stage.handle("commands", emits[0].record, T + 11)
    assert stage.handle("commands", pause, T + 12) == []  # a copy on another partition
