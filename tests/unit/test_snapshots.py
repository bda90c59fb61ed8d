"""Saves of a stage's memory hold what changed, and a base plus its log restore the memory.

The expectations are worked out by hand from the operations each test makes; the store is a
dict standing in for a partition's Quix Streams state (the live restart tests use the real one).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from fillstream.streams import snapshots
from fillstream.streams.execution.ids import RecentIds
from fillstream.streams.ledger import Changes, Ledger
from fillstream.streams.snapshots import MemoryStore, Snapshots, read, restore, write


@dataclass
class Holder:
    """A stage's memory: a ledger of frozen values, a plain dict, a counter, a bounded memory."""

    inputs = ()
    outputs = ()
    durable = ("orders", "plain", "count", "seen")
    orders: Ledger[str, tuple[str, Decimal]] = field(default_factory=Ledger)
    plain: dict[str, int] = field(default_factory=dict)
    count: int = 0
    seen: RecentIds = field(default_factory=lambda: RecentIds(3))


def restored(*saves: bytes) -> Holder:
    fresh = Holder()
    restore(fresh, *saves)
    return fresh


def same(a: Holder, b: Holder) -> bool:
    return (
        list(a.orders.items()) == list(b.orders.items())
        and a.plain == b.plain
        and a.count == b.count
        and list(a.seen) == list(b.seen)
        and [a.seen.note(i) for i in a.seen] == [b.seen.note(i) for i in b.seen]
    )


def test_a_ledger_tells_what_changed_since_it_was_last_asked():
    ledger = Ledger([("a", 1), ("b", 2), ("c", 3)])
    assert ledger.take_changes() == Changes(["a", "b", "c"], [], None)
    ledger["b"] = 20  # replaced in place: keeps its position
    ledger["d"] = 4
    del ledger["a"]
    assert ledger.pop("c") == 3
    changes = ledger.take_changes()
    assert changes.changed == ["b", "d"] and sorted(changes.removed) == ["a", "c"]
    assert changes.order is None
    assert ledger.take_changes() == Changes([], [], None)
    ledger["x"] = 9
    del ledger["x"]  # set and removed between two asks
    changes = ledger.take_changes()
    assert changes.changed == [] and changes.order is None
    assert list(ledger.items()) == [("b", 20), ("d", 4)]


def test_a_ledger_reports_the_whole_order_when_an_entry_moved_to_the_end():
    ledger = Ledger([("a", 1), ("b", 2)])
    ledger.take_changes()
    del ledger["a"]
    ledger["a"] = 1  # back, but now after b
    assert ledger.take_changes() == Changes(["a"], [], ["b", "a"])


def test_a_ledger_forgets_its_oldest_entry_first():
    ledger = Ledger([("a", 1), ("b", 2)])
    ledger["a"] = 10  # a known key keeps its place
    ledger["c"] = 3
    assert ledger.popitem() == ("a", 10)
    assert list(ledger) == ["b", "c"]


def test_the_first_save_is_a_base_and_later_ones_hold_only_the_changes():
    holder = Holder()
    for n in range(1000):
        holder.orders[f"o-{n}"] = (f"o-{n}", Decimal(n) / 100)
    saves = Snapshots()
    base = saves.take(holder)
    holder.orders["o-7"] = ("o-7", Decimal("9.99"))
    holder.count = 1
    change = saves.take(holder)
    assert base.base and not change.base
    # one entry of a thousand changed: the change is a small fraction of the base
    assert len(change.data) * 20 < len(base.data)
    assert holder.orders["o-7"] == restored(base.data, change.data).orders["o-7"]
    assert same(restored(base.data, change.data), holder)
    assert not same(restored(base.data), holder)


def test_removals_moves_and_the_rest_of_the_memory_restore_exactly():
    holder = Holder()
    holder.orders.update({"a": ("a", Decimal(1)), "b": ("b", Decimal(2)), "c": ("c", Decimal(3))})
    holder.seen.remember("s1")
    saves = Snapshots()
    taken = [saves.take(holder).data]
    del holder.orders["a"]
    holder.orders["d"] = ("d", Decimal(4))
    holder.orders["a"] = ("a", Decimal(10))  # back, last
    holder.plain["x"] = 1
    for signal in ("s2", "s3", "s4"):  # capacity 3: s1 is forgotten
        holder.seen.remember(signal, note=signal.upper())
    taken.append(saves.take(holder).data)
    del holder.orders["c"]
    taken.append(saves.take(holder).data)
    back = restored(*taken)
    assert list(back.orders) == ["b", "d", "a"]
    assert back.orders["a"] == ("a", Decimal(10))
    assert list(back.seen) == ["s2", "s3", "s4"] and back.seen.note("s4") == "S4"
    assert same(back, holder)


def test_a_ledger_replaced_by_a_new_one_is_saved_whole_and_the_old_one_dropped():
    holder = Holder()
    holder.orders["a"] = ("a", Decimal(1))
    saves = Snapshots()
    taken = [saves.take(holder).data]
    holder.orders = Ledger([("z", ("z", Decimal(26)))])
    taken.append(saves.take(holder).data)
    assert list(restored(*taken).orders.items()) == [("z", ("z", Decimal(26)))]


def test_an_image_is_the_memory_as_of_the_last_save():
    holder = Holder()
    holder.orders["a"] = ("a", Decimal(1))
    saves = Snapshots()
    saves.take(holder)
    holder.orders["b"] = ("b", Decimal(2))
    holder.count = 5
    saves.take(holder)
    image = saves.image()
    assert image.base
    assert same(restored(image.data), holder)


def test_the_store_keeps_a_base_and_a_log_until_the_log_outgrows_the_base(monkeypatch):
    monkeypatch.setattr(snapshots, "PIECE", 1000)  # several pieces per base
    store, saves, holder = MemoryStore(), Snapshots(), Holder()
    for n in range(200):
        holder.orders[f"o-{n}"] = (f"o-{n}", Decimal(n))
    write(store, saves, holder)
    base_size = store.get("base.size")
    assert store.get("base:pieces") == -(-base_size // 1000) > 1
    assert store.get("log.length") == 0
    commits = 0
    while store.get("base.size") == base_size:
        commits += 1
        holder.orders[f"new-{commits}"] = ("new", Decimal(commits))
        holder.count = commits
        write(store, saves, holder)
        assert same(restored(*read(store)), holder)
        assert store.get("log.size") <= store.get("base.size")
    # the log grew, a save at a time, until one more would have passed the base: then the
    # save became a new base and the log was emptied
    assert commits > 5
    assert store.get("log.length") == 0 and store.get("log.size") == 0
    assert not any(key.startswith("log:") for key in store.data)
    assert same(restored(*read(store)), holder)


def test_a_base_in_fewer_pieces_leaves_no_stale_piece(monkeypatch):
    monkeypatch.setattr(snapshots, "PIECE", 1000)
    store, holder = MemoryStore(), Holder()
    for n in range(200):
        holder.orders[f"o-{n}"] = (f"o-{n}", Decimal(n))
    write(store, Snapshots(), holder)
    pieces = store.get("base:pieces")
    holder.orders.clear()
    write(store, Snapshots(), holder)  # a fresh series: a base again, now small
    fewer = store.get("base:pieces")
    assert fewer < pieces
    assert all(f"base:{n}" not in store.data for n in range(fewer, pieces))
    assert same(restored(*read(store)), holder)


def test_an_empty_store_reads_as_nothing_saved_and_an_older_layout_is_refused():
    assert read(MemoryStore()) == []
    old = MemoryStore()
    old.set("chunks", 1)
    old.set_bytes("chunk:0", pickle.dumps({}))
    with pytest.raises(RuntimeError, match="earlier fillstream"):
        read(old)
