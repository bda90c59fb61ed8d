"""What saving the processors' memory at every commit costs per signal: changes against whole.

Run: `python benchmarks/saves.py [--rate R] [--seconds S] [--commit C]`. No broker: the load of
`fillstream bench` (IOC limits over 8 accounts and 3 symbols, clock ticks every 5 ms to each of
3 partitions) goes through the risk and desk stages in one process, in event time, and every
`--commit` seconds of it each stage is saved to an in-memory store, as the live processors do
at each commit: what changed since the last save (`streams.snapshots.write`), and, for
comparison, the whole memory as a fresh base (what a save was before ledgers). One process
holds all three partitions, so the memory is the sum of a desk's three.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from fillstream import bench
from fillstream.config import load_config
from fillstream.schemas.models import ClockTick
from fillstream.streams.processors import build_stage
from fillstream.streams.replay import timeline
from fillstream.streams.snapshots import MemoryStore, Snapshots, write
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
        path.write_text(bench.engine_toml())
        config = load_config(path)
    stages = {name: build_stage(name, config) for name in ("risk", "desk")}
    wiring = Wiring(list(stages.values()))
    stores = {name: MemoryStore() for name in stages}
    saves = {name: Snapshots() for name in stages}
    t0 = 1_700_000_000_000_000
    for entry in timeline(bench._market(t0), []):
        wiring.deliver(entry.topic, entry.record, t0)
    templates = bench._templates()
    count = int(args.rate * args.seconds)
    handled = changes = whole = 0.0
    whole_bytes = 0
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
                write(stores[name], saves[name], stage)
                changes += time.perf_counter() - started
                started = time.perf_counter()
                size = len(Snapshots().take(stage).data)
                whole += time.perf_counter() - started
                whole_bytes = size if name == "desk" else whole_bytes
    load = os.getloadavg()[0]
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load {load:.2f}; "
        f"{count:,} signals at {args.rate:,}/s of event time, saves every {args.commit} s"
    )
    print("| per signal | µs |")
    print("|---|---|")
    print(f"| the stages' work (risk and desk, ticks included) | {handled / count * 1e6:.1f} |")
    print(f"| saves of what changed, bases included | {changes / count * 1e6:.1f} |")
    print(f"| saves of the whole memory (a fresh base each) | {whole / count * 1e6:.1f} |")
    desk = stores["desk"]
    print(
        f"\nat the end: desk base {desk.get('base.size'):,} bytes, log {desk.get('log.size'):,} "
        f"bytes in {desk.get('log.length')} saves; the desk's whole memory {whole_bytes:,} bytes"
    )


if __name__ == "__main__":
    main()
