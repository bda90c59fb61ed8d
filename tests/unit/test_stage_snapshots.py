"""A stage restored from its snapshot carries on exactly where the original stood.

The live processors save each partition's stage at every commit and restore it after a crash
or a rebalance; these tests do the same by hand in the replay harness on the real capture,
replacing every stage by a restored copy over and over, and expect the very same results.
"""

from __future__ import annotations

import itertools

import pytest

from fillstream.config import load_config
from fillstream.connectors.feeds import load
from fillstream.streams.processors import PROCESSORS, build_stage
from fillstream.streams.replay import Replay, run_replay, timeline
from fillstream.streams.snapshots import MemoryStore, Snapshots, read, restore, write
from fillstream.streams.stages import Wiring
from tests.unit.test_replay_btcusdt import COMMANDS, SIGNALS, T0, capture

END = T0 + 75 * 1_000_000  # past the cancel, with orders still resting at the venue


def window():
    return list(itertools.takewhile(lambda event: event.timestamp <= END, load(capture())))


def replay_with_restarts(
    market, every: int, *, commit: int = 89, keep_memory: bool = True
) -> Replay:
    """The replay harness as the live processors run it: every stage saved to its store every
    `commit` inputs, and rebuilt every `every` inputs, restored from the store's saves (at the
    last commit), or (to show the test can fail) fresh."""
    config = load_config()
    names = list(PROCESSORS)
    replay = Replay(SIGNALS, Wiring([build_stage(name, config) for name in names]))
    stores = {name: MemoryStore() for name in names}
    saves = {name: Snapshots() for name in names}
    clock = 0
    for n, entry in enumerate(timeline(market, SIGNALS, COMMANDS), start=1):
        clock = max(clock, entry.timestamp)
        replay.record(replay.pipeline.deliver(entry.topic, entry.record, clock))
        if n % commit == 0 or n % every == 0:
            for name, stage in zip(names, replay.pipeline.stages, strict=True):
                write(stores[name], saves[name], stage)
        if n % every == 0:
            stages = []
            for name in names:
                fresh = build_stage(name, config)
                if keep_memory:
                    restore(fresh, *read(stores[name]))
                stages.append(fresh)
                saves[name] = Snapshots()
            replay.pipeline = Wiring(stages)
    return replay


@pytest.fixture(scope="module")
def market():
    return window()


def test_stages_restored_from_snapshots_give_the_same_results(market):
    uninterrupted = run_replay(load_config(), market, SIGNALS, COMMANDS).results()
    restarted = replay_with_restarts(market, every=997).results()
    assert restarted == uninterrupted
    assert any(result["fills"] for result in uninterrupted)


def test_stages_rebuilt_without_their_memory_do_not(market):
    uninterrupted = run_replay(load_config(), market, SIGNALS, COMMANDS).results()
    forgetful = replay_with_restarts(market, every=997, keep_memory=False).results()
    assert forgetful != uninterrupted


def test_slotted_dataclasses_round_trip_through_a_snapshot():
    from dataclasses import dataclass
    from decimal import Decimal

    from fillstream.streams.orders import SliceProgress

    @dataclass
    class Holder:
        inputs = ()
        outputs = ()
        durable = ("kept",)
        kept: object = None

    kept = {"a": SliceProgress(filled=Decimal("1.5"), reported_filled=Decimal("2"))}
    fresh = Holder()
    restore(fresh, Snapshots().take(Holder(kept)).data)
    assert fresh.kept == kept and fresh.kept is not kept
