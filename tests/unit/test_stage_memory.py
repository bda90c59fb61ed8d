"""A stage restored from its saved entries carries on exactly where the original stood.

The live processors save each partition's stage at every commit, as entries of a compacted
changelog topic, and restore it from them after a crash or a rebalance; these tests do the same
by hand in the replay harness on the real capture, with a dict standing in for the changelog
(the latest value of each key), replacing every stage by a restored copy over and over, and
expect the very same results.
"""

from __future__ import annotations

import itertools

import pytest

from fillstream.config import load_config
from fillstream.connectors.feeds import load
from fillstream.processors import PROCESSORS, build_stage
from fillstream.replay import Replay, run_replay, timeline
from fillstream.schemas.models import Command
from fillstream.streams.execution.parents import Rules
from fillstream.streams.memory import Memory
from fillstream.streams.stages import Wiring
from fillstream.streams.stages.executor import ExecutorStage
from tests.unit.test_replay_btcusdt import COMMANDS, SIGNALS, T0, capture, signal

END = T0 + 75 * 1_000_000  # past the cancel, with orders still resting at the venue

# Parents an algorithm works: they change in place at every market event and clock tick.
ALGORITHMS = [
    signal(
        "twap",
        1,
        quantity="0.05",
        algorithm="twap",
        algorithm_parameters={"duration_seconds": "40", "interval_seconds": "4"},
    ),
    signal(
        "pov",
        2,
        side="sell",
        quantity="0.2",
        order_type="limit",
        price="61500",
        algorithm="pov",
        algorithm_parameters={"participation_rate": "0.05"},
    ),
    signal(
        "iceberg",
        3,
        quantity="0.03",
        order_type="limit",
        price="61845",
        display_quantity="0.01",
        algorithm="iceberg",
    ),
    signal(
        "vwap",
        4,
        quantity="0.04",
        algorithm="vwap",
        algorithm_parameters={"duration_seconds": "30", "participation_rate": "0.2"},
    ),
    signal(
        "shortfall",
        5,
        side="sell",
        quantity="0.04",
        algorithm="implementation_shortfall",
        algorithm_parameters={"duration_seconds": "30"},
    ),
    signal("adaptive", 6, quantity="0.02", urgency="high", algorithm="adaptive"),
    signal(
        "resting-iceberg",
        7,
        quantity="0.03",
        order_type="limit",
        price="61700",
        display_quantity="0.01",
        algorithm="iceberg",
    ),
]
# A modify and a cancel change a working parent in place too.
ALGORITHM_COMMANDS = [
    Command(
        command_id="m-twap",
        kind="modify",
        order_id="o-twap",
        symbol="BTC/USDT",
        quantity="0.04",
        created_at=T0 + 8 * 1_000_000,
    ),
    Command(
        command_id="c-resting-iceberg",
        kind="cancel",
        order_id="o-resting-iceberg",
        symbol="BTC/USDT",
        created_at=T0 + 9 * 1_000_000,
    ),
    Command(
        command_id="c-pov",
        kind="cancel",
        order_id="o-pov",
        symbol="BTC/USDT",
        created_at=T0 + 3 * 1_000_000,
    ),
]


def window():
    return list(itertools.takewhile(lambda event: event.timestamp <= END, load(capture())))


def save(changelog: dict[bytes, bytes], memory: Memory) -> None:
    """One commit's save: its entries put, then its removed keys deleted (tombstones)."""
    puts, removed = memory.changes()
    changelog.update(puts)
    for key in removed:
        del changelog[key]


def replay_with_restarts(
    market,
    every: int,
    *,
    commit: int = 89,
    keep_memory: bool = True,
    signals: list[dict] = SIGNALS,
    commands: list = COMMANDS,
) -> tuple[Replay, int]:
    """The replay harness as the live processors run it: every stage's changes saved to its
    changelog every `commit` inputs, and every stage rebuilt every `every` inputs, restored
    from its changelog (as of the last commit), or (to show the test can fail) fresh.

    At each rebuild, the restored stage's whole memory is the original's, entry for entry
    (each taken by a memory of its own, in the order of its ledgers): a change a save missed
    would show here even where the results do not. Returns the replay and the rebuilds."""
    config = load_config()
    names = list(PROCESSORS)
    replay = Replay(signals, Wiring([build_stage(name, config) for name in names]))
    changelogs: dict[str, dict[bytes, bytes]] = {name: {} for name in names}
    memories = {
        name: Memory(stage) for name, stage in zip(names, replay.pipeline.stages, strict=True)
    }
    clock = rebuilds = 0
    for n, entry in enumerate(timeline(market, signals, commands), start=1):
        clock = max(clock, entry.timestamp)
        replay.record(replay.pipeline.deliver(entry.topic, entry.record, clock))
        if n % commit == 0 or n % every == 0:
            for name in names:
                save(changelogs[name], memories[name])
        if n % every == 0:
            rebuilds += 1
            stages = []
            for name, original in zip(names, replay.pipeline.stages, strict=True):
                fresh = build_stage(name, config)
                memories[name] = Memory(fresh)
                if keep_memory:
                    memories[name].restore(changelogs[name])
                    whole, _ = Memory(original).changes()
                    assert Memory(fresh).changes()[0] == whole, name
                stages.append(fresh)
            replay.pipeline = Wiring(stages)
    return replay, rebuilds


@pytest.fixture(scope="module")
def market():
    return window()


@pytest.fixture(scope="module")
def uninterrupted(market):
    return run_replay(load_config(), market, SIGNALS, COMMANDS).results()


@pytest.mark.parametrize(("every", "commit"), [(997, 89), (499, 7)])
def test_stages_restored_from_their_entries_give_the_same_results(
    market, uninterrupted, every, commit
):
    restarted, rebuilds = replay_with_restarts(market, every=every, commit=commit)
    assert restarted.results() == uninterrupted
    assert rebuilds > 10
    assert any(result["fills"] for result in uninterrupted)


def test_parents_an_algorithm_works_are_restored_as_they_stood(market):
    """Rebuilt at every commit, in the first 40 s, while every algorithm is working."""
    early = [event for event in market if event.timestamp <= T0 + 40 * 1_000_000]
    uninterrupted = run_replay(load_config(), early, ALGORITHMS, ALGORITHM_COMMANDS).results()
    restarted, rebuilds = replay_with_restarts(
        early, every=149, commit=149, signals=ALGORITHMS, commands=ALGORITHM_COMMANDS
    )
    assert restarted.results() == uninterrupted
    assert rebuilds > 30
    assert all(
        result["fills"] for result in uninterrupted if result["signal_id"] != "resting-iceberg"
    )
    assert {r["signal_id"]: r["status"] for r in uninterrupted}["pov"] == "cancelled"


def test_each_save_of_the_executor_holds_all_it_changed(market):
    """Saved after every input, the executor's entries give a fresh executor its memory as it
    stands: a parent an algorithm moved on in place is written at once, not at its next
    report."""
    config = load_config()
    early = [event for event in market if event.timestamp <= T0 + 20 * 1_000_000]
    wiring = Wiring([build_stage(name, config) for name in PROCESSORS])
    executor = wiring.stages[-1].executor
    memory, changelog, clock = Memory(executor), {}, 0
    for entry in timeline(early, ALGORITHMS, ALGORITHM_COMMANDS):
        clock = max(clock, entry.timestamp)
        wiring.deliver(entry.topic, entry.record, clock)
        save(changelog, memory)
        fresh = ExecutorStage(Rules(config.instruments, dict(config.volume_profiles)))
        Memory(fresh).restore(changelog)
        assert Memory(fresh).changes()[0] == Memory(executor).changes()[0]
    assert len(executor.state.parents) >= 2  # still working


def test_stages_rebuilt_without_their_memory_do_not(market, uninterrupted):
    forgetful, _ = replay_with_restarts(market, every=997, keep_memory=False)
    assert forgetful.results() != uninterrupted
