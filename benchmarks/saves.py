"""What saving the processors' memory at every commit costs per signal: changes against whole.

Run: `python benchmarks/saves.py [--rate R] [--seconds S] [--commit C]`. No broker: the load of
`fillstream bench` (IOC limits over 8 accounts and 3 symbols, clock ticks every 5 ms to each of
3 partitions) goes through the risk and desk stages in one process, in event time, and every
`--commit` seconds of it each stage's memory is saved into a dict standing in for its
changelog, as the live processors do at each commit: the entries that changed since the last
save (`streams.memory.Memory.changes`), and, for comparison, every entry (what a first save
writes, and what a save was before saves held only changes). One process holds all three
partitions, so the memory is the sum of a desk's three.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from fillstream.bench import workload
from fillstream.config import load_config
from fillstream.processors import build_stage
from fillstream.replay import timeline
from fillstream.schemas.models import ClockTick
from fillstream.streams.memory import Memory
from fillstream.streams.stages import Wiring

PARTITIONS = 3
TICK_US = 5_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="signals per second of event time")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of event time")
    parser.add_argument("--commit", type=float, default=0.5, help="seconds between saves")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "engine.toml"
        path.write_text(workload.engine_toml())
        config = load_config(path)
    stages = {name: build_stage(name, config) for name in ("risk", "desk")}
    wiring = Wiring(list(stages.values()))
    changelogs: dict[str, dict[bytes, bytes]] = {name: {} for name in stages}
    memories = {name: Memory(stage) for name, stage in stages.items()}
    written = {name: 0 for name in stages}
    t0 = 1_700_000_000_000_000
    for entry in timeline(workload.market(t0), []):
        wiring.deliver(entry.topic, entry.record, t0)
    templates = workload.signal_templates()
    count = int(args.rate * args.seconds)
    handled = changes = whole = 0.0
    whole_bytes = whole_entries = 0
    commit_us, next_tick, sequence = int(args.commit * 1e6), t0, 0
    next_commit = t0 + commit_us
    for n in range(count):
        now = t0 + n * 1_000_000 // args.rate
        started = time.perf_counter()
        while next_tick <= now:
            for partition in range(PARTITIONS):
                tick = ClockTick(partition=partition, sequence=sequence, timestamp=next_tick)
                wiring.deliver("clock", tick, next_tick)
            sequence, next_tick = sequence + 1, next_tick + TICK_US
        signal = templates[n % len(templates)] | {"signal_id": f"s-{n}", "created_at": now}
        wiring.deliver("signals", signal, now)
        handled += time.perf_counter() - started
        if now >= next_commit:
            next_commit += commit_us
            for name, stage in stages.items():
                started = time.perf_counter()
                puts, removed = memories[name].changes()
                changes += time.perf_counter() - started
                save(changelogs[name], puts, removed)
                written[name] += sum(map(len, puts.values()))
                # Every entry, by a memory of its own: the ledgers' changes were just taken.
                started = time.perf_counter()
                everything, _ = Memory(stage).changes()
                whole += time.perf_counter() - started
                if name == "desk":
                    whole_entries = len(everything)
                    whole_bytes = sum(map(len, everything.values()))
    load = os.getloadavg()[0]
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load {load:.2f}; "
        f"{count:,} signals at {args.rate:,}/s of event time, saves every {args.commit} s"
    )
    print("| per signal | µs |")
    print("|---|---|")
    print(f"| the stages' work (risk and desk, ticks included) | {handled / count * 1e6:.1f} |")
    print(f"| saves of what changed (`changes()`) | {changes / count * 1e6:.1f} |")
    print(
        f"| saves of every entry (a fresh memory's first `changes()`) | {whole / count * 1e6:.1f} |"
    )
    print(
        f"\nat the end: the desk's changelog {len(changelogs['desk']):,} entries, "
        f"{sum(map(len, changelogs['desk'].values())):,} bytes; {written['desk']:,} bytes "
        f"written by its saves; its whole memory {whole_entries:,} entries, {whole_bytes:,} bytes"
    )


def save(changelog: dict[bytes, bytes], puts: dict[bytes, bytes], removed: list[bytes]) -> None:
    changelog.update(puts)
    for key in removed:
        changelog.pop(key, None)


if __name__ == "__main__":
    main()
