"""A stage's memory as keyed entries: a save holds what changed, and the entries restore it.

The expectations are worked out by hand from the operations each test makes; a dict stands in
for the compacted changelog topic (the latest value of each key).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated

import msgspec
import pytest

from fillstream.config import load_config
from fillstream.connectors.simvenue.orders import VenueOrder
from fillstream.domain.ids import RecentIds
from fillstream.domain.ledger import Changes, Ledger
from fillstream.schemas.models import (
    ParentOrder,
    RoutedOrder,
    Signal,
    Slice,
    SliceAction,
    VenueAllocation,
)
from fillstream.streams.execution.algorithms.base import Market, ScheduledPlan
from fillstream.streams.execution.algorithms.iceberg import IcebergPlan
from fillstream.streams.execution.algorithms.pov import PovPlan
from fillstream.streams.execution.parents import ParentExecution
from fillstream.streams.memory import Memory, Series
from fillstream.streams.orders import open_order
from fillstream.streams.stages.risk import RiskStage
from fillstream.streams.state_codec import decode_value, encode_value
from fillstream.streams.tca import Fill

T = 1_723_161_300_000_000


@dataclass
class Holder:
    """A stage's memory: a ledger of frozen values, a plain dict, a counter, a bounded memory."""

    durable = ("orders", "plain", "count", "seen")
    orders: Ledger[str, tuple[str, Decimal]] = field(default_factory=Ledger)
    plain: dict[str, int] = field(default_factory=dict)
    count: int = 0
    seen: RecentIds = field(default_factory=lambda: RecentIds(3))


def save(changelog: dict[bytes, bytes], memory: Memory) -> tuple[dict[bytes, bytes], list[bytes]]:
    """One save into the changelog: its puts, then its removals (tombstones)."""
    puts, removed = memory.changes()
    assert not puts.keys() & set(removed)
    changelog.update(puts)
    for key in removed:
        del changelog[key]
    return puts, removed


def restored(changelog: dict[bytes, bytes]) -> Holder:
    fresh = Holder()
    Memory(fresh).restore(changelog)
    return fresh


def same(a: Holder, b: Holder) -> bool:
    return (
        list(a.orders.items()) == list(b.orders.items())
        and a.plain == b.plain
        and a.count == b.count
        and list(a.seen) == list(b.seen)
        and [a.seen.note(i) for i in a.seen] == [b.seen.note(i) for i in b.seen]
    )


# -- the ledger ----------------------------------------------------------------------------------


def test_a_ledger_tells_what_changed_since_it_was_last_asked():
    ledger = Ledger([("a", 1), ("b", 2), ("c", 3)])
    assert ledger.take_changes() == Changes(["a", "b", "c"], ["a", "b", "c"], [])
    ledger["b"] = 20  # replaced: keeps its position
    ledger["d"] = 4
    del ledger["a"]
    assert ledger.pop("c") == 3
    changes = ledger.take_changes()
    assert changes.changed == ["b", "d"] and changes.added == ["d"]
    assert sorted(changes.removed) == ["a", "c"]
    assert ledger.take_changes() == Changes([], [], [])
    ledger["x"] = 9
    del ledger["x"]  # set and removed between two asks: never there when asked
    assert ledger.take_changes() == Changes([], [], [])
    assert list(ledger.items()) == [("b", 20), ("d", 4)]


def test_a_ledger_reports_a_key_removed_and_set_again_as_added_at_the_end():
    ledger = Ledger([("a", 1), ("b", 2)])
    ledger.take_changes()
    del ledger["a"]
    ledger["c"] = 3
    ledger["a"] = 1  # back, but now after b and c
    assert ledger.take_changes() == Changes(["c", "a"], ["c", "a"], [])
    assert list(ledger) == ["b", "c", "a"]


def test_a_ledger_notes_a_value_changed_in_place_only_when_touched():
    ledger: Ledger[str, list[int]] = Ledger([("a", [1])])
    ledger.take_changes()
    ledger["a"].append(2)
    assert ledger.take_changes() == Changes([], [], [])
    ledger["a"].append(3)
    ledger.touch("a")
    ledger.touch("absent")
    assert ledger.take_changes() == Changes(["a"], [], [])


def test_a_ledger_forgets_its_oldest_entry_first():
    ledger = Ledger([("a", 1), ("b", 2)])
    ledger["a"] = 10  # a known key keeps its place
    ledger["c"] = 3
    assert ledger.popitem() == ("a", 10)
    assert list(ledger) == ["b", "c"]


# -- saves and restores --------------------------------------------------------------------------


def test_the_first_changes_are_every_entry_and_later_ones_only_what_changed():
    holder = Holder()
    for n in range(1000):
        holder.orders[f"o-{n}"] = (f"o-{n}", Decimal(n) / 100)
    holder.plain["x"] = 1
    memory, changelog = Memory(holder), {}
    first, removed = save(changelog, memory)
    assert removed == []
    assert len(first) == 1000 + 1 + 1  # the orders, the dict's item, the counter
    assert b"orders/o-7" in first and b"plain/x" in first and b"count" in first
    holder.orders["o-7"] = ("o-7", Decimal("9.99"))
    holder.count = 1
    puts, removed = save(changelog, memory)
    assert (sorted(puts), removed) == ([b"count", b"orders/o-7"], [])
    assert same(restored(changelog), holder)
    assert restored(changelog).orders["o-7"] == ("o-7", Decimal("9.99"))


def test_a_second_save_with_no_change_holds_nothing():
    holder = Holder()
    holder.orders["a"] = ("a", Decimal(1))
    holder.plain["x"] = 1
    holder.seen.remember("s1")
    memory = Memory(holder)
    memory.changes()
    assert memory.changes() == ({}, [])
    holder.count = 0  # the same value again
    holder.plain["x"] = 1
    holder.orders["a"] = ("a", Decimal(1))  # the same bytes: written, as the ledger noted it
    assert memory.changes() == (
        {b"orders/a": encode_value(tuple[int, tuple[str, Decimal]], (0, ("a", Decimal(1))))},
        [],
    )


def test_removed_entries_are_reported_as_removed_keys():
    holder = Holder()
    holder.orders.update({"a": ("a", Decimal(1)), "b": ("b", Decimal(2))})
    holder.plain.update({"x": 1, "y": 2})
    for id_ in ("s1", "s2", "s3"):
        holder.seen.remember(id_)
    memory, changelog = Memory(holder), {}
    save(changelog, memory)
    del holder.orders["a"]
    del holder.plain["y"]
    holder.seen.remember("s4")  # capacity 3: s1 is forgotten
    holder.orders["tmp"] = ("tmp", Decimal(0))
    del holder.orders["tmp"]  # never saved: nothing to remove
    puts, removed = save(changelog, memory)
    assert sorted(removed) == [b"orders/a", b"plain/y", b"seen/s1"]
    assert list(puts) == [b"seen/s4"]
    assert same(restored(changelog), holder)


def test_the_order_of_a_ledger_and_of_a_bounded_memory_survives_a_restore():
    holder = Holder()
    holder.orders.update({"a": ("a", Decimal(1)), "b": ("b", Decimal(2)), "c": ("c", Decimal(3))})
    holder.seen.remember("s1")
    memory, changelog = Memory(holder), {}
    save(changelog, memory)
    del holder.orders["a"]
    holder.orders["d"] = ("d", Decimal(4))
    holder.orders["a"] = ("a", Decimal(10))  # back, last
    holder.orders["b"] = ("b", Decimal(20))  # replaced, in its place
    for signal in ("s2", "s3"):
        holder.seen.remember(signal, note=signal.upper())
    holder.seen.remember("s1", note="again")  # known: keeps its place, the oldest
    save(changelog, memory)
    # The changelog's records come back in any order (compaction keeps no order across keys).
    shuffled = list(changelog.items())
    random.Random(7).shuffle(shuffled)
    back = restored(dict(shuffled))
    assert list(back.orders) == ["b", "c", "d", "a"]
    assert back.orders["b"] == ("b", Decimal(20))
    assert list(back.seen) == ["s1", "s2", "s3"] and back.seen.note("s1") == "again"
    # The oldest goes first, restored or not.
    for stage in (holder, back):
        stage.seen.remember("s4")
    assert list(back.seen) == list(holder.seen) == ["s2", "s3", "s4"]
    assert same(back, holder)


def test_a_restored_memory_saves_only_what_changes_after_it_and_keeps_the_order_on():
    holder = Holder()
    holder.orders.update({"a": ("a", Decimal(1)), "b": ("b", Decimal(2))})
    changelog: dict[bytes, bytes] = {}
    save(changelog, Memory(holder))
    back = Holder()
    memory = Memory(back)
    memory.restore(changelog)
    assert memory.changes() == ({}, [])
    back.orders["c"] = ("c", Decimal(3))
    del back.orders["a"]
    back.orders["a"] = ("a", Decimal(1))
    puts, removed = save(changelog, memory)
    assert sorted(puts) == [b"orders/a", b"orders/c"] and removed == []
    assert list(restored(changelog).orders) == ["b", "c", "a"]


def test_a_ledger_put_in_the_place_of_another_is_saved_whole_and_the_old_keys_removed():
    holder = Holder()
    holder.orders["a"] = ("a", Decimal(1))
    memory, changelog = Memory(holder), {}
    save(changelog, memory)
    holder.orders = Ledger([("z", ("z", Decimal(26)))])
    puts, removed = save(changelog, memory)
    assert (list(puts), removed) == ([b"orders/z"], [b"orders/a"])
    assert list(restored(changelog).orders.items()) == [("z", ("z", Decimal(26)))]


def test_keys_a_restore_does_not_know_are_left_alone():
    holder = Holder()
    holder.count = 3
    changelog: dict[bytes, bytes] = {}
    save(changelog, Memory(holder))
    changelog[b"added.later/x"] = b"\x01"
    changelog[b"count.old"] = b"\x02"
    assert restored(changelog).count == 3


def test_risks_signal_ids_saved_without_notes_come_back_remembered():
    """Risk kept its signal ids in a ledger of no values before they were a `RecentIds`: what
    an earlier version saved (`[place, nil]`) restores as ids with no note."""
    stage = RiskStage(load_config().risk)
    memory, encode = Memory(stage), msgspec.msgpack.encode
    memory.restore(
        {
            b"state.accounts/acct-1/signal_ids/s-2": encode((1, None)),
            b"state.accounts/acct-1/signal_ids/s-1": encode((0, None)),
        }
    )
    ids = stage.state.accounts["acct-1"].signal_ids
    assert list(ids) == ["s-1", "s-2"] and ids.note("s-1") == ""
    ids.remember("s-3")
    puts, _ = memory.changes()
    assert puts[b"state.accounts/acct-1/signal_ids/s-3"] == encode((2, ""))


# -- values --------------------------------------------------------------------------------------


def signal(**terms: object) -> Signal:
    fields = {
        "signal_id": "s-1",
        "strategy_id": "momentum",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": Decimal("0.50"),
        "order_type": "limit",
        "price": Decimal("61700.10"),
        "algorithm": "twap",
        "algorithm_parameters": {"duration_seconds": "60"},
        "created_at": T,
    }
    return Signal.model_validate(fields | terms)


def routed() -> RoutedOrder:
    parent = ParentOrder(
        order_id="o-s-1", signal=signal(), arrival_price=Decimal("61700"), approved_at=T
    )
    plan = [VenueAllocation(venue="binance", quantity=Decimal("0.50"))]
    return RoutedOrder(order=parent, venue_plan=plan, routed_at=T + 1)


def child(sequence: int = 1) -> Slice:
    return Slice(
        slice_id=f"o-s-1-{sequence}",
        order_id="o-s-1",
        signal_id="s-1",
        account_id="acct-1",
        symbol="BTC/USDT",
        venue="binance",
        action=SliceAction.NEW,
        sequence=sequence,
        side="buy",
        quantity=Decimal("0.10"),
        order_type="limit",
        price=Decimal("61700.10"),
        created_at=T + 2,
    )


PLANS = [
    ScheduledPlan("twap", T, ((0, Decimal("0.25")), (30_000_000, Decimal("0.50"))), max_child=None),
    PovPlan(Decimal("0.5"), Decimal("0.1"), Decimal("12.5"), min_child=Decimal("0.01")),
    IcebergPlan(Decimal("0.5"), Decimal("0.1")),
]


@pytest.mark.parametrize("plan", PLANS, ids=lambda plan: type(plan).__name__)
def test_an_execution_and_its_plan_come_back_equal_the_plan_by_its_tag(plan):
    execution = ParentExecution(
        routed(), plan=plan, sent=1, amended=signal(quantity=Decimal("0.4"))
    )
    execution.slices["o-s-1-1"] = child()
    execution.filled["o-s-1-1"] = Decimal("0.05")
    execution.used["binance"] = Decimal("0.10")
    data = encode_value(ParentExecution, execution)
    back = decode_value(ParentExecution, data)
    assert back == execution and type(back.plan) is type(plan)
    assert back.routed.order.signal.quantity.as_tuple() == Decimal("0.50").as_tuple()
    tag = msgspec.msgpack.decode(data)["plan"]["kind"]
    assert tag == {ScheduledPlan: "scheduled", PovPlan: "pov", IcebergPlan: "iceberg"}[type(plan)]
    assert b"fillstream" not in data and b"ScheduledPlan" not in data  # no module or class names


def test_a_plan_of_a_tag_this_version_does_not_know_is_refused():
    fields = msgspec.msgpack.decode(
        encode_value(ParentExecution, ParentExecution(routed(), plan=PLANS[2]))
    )
    fields["plan"]["kind"] = "sniper"
    with pytest.raises(msgspec.ValidationError, match="Invalid value 'sniper'"):
        decode_value(ParentExecution, msgspec.msgpack.encode(fields))


def test_an_order_state_comes_back_equal_with_its_slices_read_only():
    state = open_order(routed().order)
    data = encode_value(type(state), state)
    back = decode_value(type(state), data)
    assert back == state and isinstance(back.slices, MappingProxyType)


def test_a_market_comes_back_with_its_bounded_histories():
    market = Market()
    market.mids.extend((T + n, 61700.5 + n) for n in range(700))  # keeps the latest 600
    market.volumes.append((T, Decimal("1.25")))
    back = decode_value(Market, encode_value(Market, market))
    assert back == market and back.mids.maxlen == market.mids.maxlen == 600


def test_a_venue_order_comes_back_equal():
    order = VenueOrder(child(), filled=Decimal("0.02"), reports=3, queue_ahead=Decimal("1.5"))
    assert decode_value(VenueOrder, encode_value(VenueOrder, order)).__repr__() == repr(order)


def test_a_newer_writers_extra_fields_are_ignored_and_an_older_writers_missing_ones_defaulted():
    order = VenueOrder(child(), filled=Decimal("0.02"), reports=3, place=7)
    fields = msgspec.msgpack.decode(encode_value(VenueOrder, order))
    newer = fields | {"priority": 9, "slice": fields["slice"] | {"tag": "x"}}
    assert repr(decode_value(VenueOrder, msgspec.msgpack.encode(newer))) == repr(order)
    older = {name: value for name, value in fields.items() if name not in ("place", "shown")}
    older["slice"] = {
        k: v for k, v in fields["slice"].items() if k not in ("post_only", "expire_at")
    }
    back = decode_value(VenueOrder, msgspec.msgpack.encode(older))
    assert (back.place, back.shown, back.slice.post_only, back.slice.expire_at) == (
        0,
        0,
        False,
        None,
    )
    assert back.slice == order.slice


def test_decimals_keep_their_exponent_and_tuples_of_fills_come_back():
    fills = (
        Fill(Decimal("0.00000010"), Decimal("61700.10"), T),
        Fill(Decimal("1E+1"), Decimal("-0"), 0),
    )
    back = decode_value(tuple[Fill, ...], encode_value(tuple[Fill, ...], fills))
    assert [(str(f.quantity), str(f.price)) for f in back] == [
        ("1.0E-7", "61700.10"),
        ("1E+1", "-0"),
    ]
    assert back == fills


def test_a_deque_attribute_keeps_the_bound_of_the_fresh_one():
    @dataclass
    class Recent:
        durable = ("times",)
        times: deque[int] = field(default_factory=lambda: deque(maxlen=3))

    holder = Recent()
    holder.times.extend([1, 2, 3, 4])
    back = Recent()
    Memory(back).restore(Memory(holder).changes()[0])
    assert back.times == deque([2, 3, 4]) and back.times.maxlen == 3


def _at(item: tuple[int, Decimal]) -> int:
    return item[0]


@dataclass
class Tape:
    durable = ("mids",)
    mids: Annotated[list[tuple[int, Decimal]], Series(_at, 10)] = field(default_factory=list)


def test_a_series_is_saved_a_bucket_of_time_an_entry():
    tape = Tape([(t, Decimal(t)) for t in (1, 5, 12, 18, 25)])
    memory, changelog = Memory(tape), {}
    puts, _ = save(changelog, memory)
    assert sorted(puts) == [b"mids/0", b"mids/10", b"mids/20"]
    tape.mids.append((27, Decimal("27.0")))  # the latest bucket only
    assert sorted(save(changelog, memory)[0]) == [b"mids/20"]
    tape.mids.insert(3, (16, Decimal(16)))  # late, into an earlier one
    tape.mids[-1] = (27, Decimal("27.00"))  # the same value, another object and text
    assert sorted(save(changelog, memory)[0]) == [b"mids/10", b"mids/20"]
    del tape.mids[:2]  # forgotten: its bucket goes
    assert save(changelog, memory) == ({}, [b"mids/0"])
    back = Tape()
    Memory(back).restore(dict(reversed(list(changelog.items()))))
    assert back.mids == tape.mids and str(back.mids[-1][1]) == "27.00"
