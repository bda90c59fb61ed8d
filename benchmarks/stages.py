"""CPU the risk and desk stages spend per signal under the bench's load, without Kafka.

Run: `python benchmarks/stages.py [--rate R] [--signals N] [--commit S] [--validated]`. The
load of `fillstream bench` (IOC limits over 8 accounts and 3 symbols, a clock tick to each of 3
partitions every 5 ms of event time) goes through risk and the desk in one process, as the
replay harness wires them; the figure is the process's CPU time (not wall time: the machine is
shared) per signal, ticks included.

Every `--commit` seconds of event time (0.5, the live default under at-least-once; 0: never)
each stage checkpoints as the live loop does, less the producer: its changed entries
(`Memory.changes`) made into changelog records (`checkpoint_records`), then the cycle
collector's young generations collected and the survivors frozen (`_age_state` in
`streams/runtime.py`). Without that, full collections over the growing state take a tenth of
the run and vary from run to run more than what is measured. `--validated` builds the records
the stages make from already-valid values with their models' validating constructors again, as
before `schemas/trusted.py`, for comparison in one sitting.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fillstream.bench import workload
from fillstream.config import load_config
from fillstream.domain import reports
from fillstream.processors import build_stage
from fillstream.replay import timeline
from fillstream.schemas.models import ClockTick
from fillstream.streams import routing
from fillstream.streams.changelog import checkpoint_records
from fillstream.streams.memory import Memory
from fillstream.streams.orders import parent
from fillstream.streams.stages import Stage, Wiring, risk, router

PARTITIONS = 3
TICK_US = 5_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="signals per second of event time")
    parser.add_argument("--signals", type=int, default=10_000)
    parser.add_argument("--commit", type=float, default=0.5, help="seconds between checkpoints")
    parser.add_argument("--validated", action="store_true", help="validate the stages' records")
    args = parser.parse_args()
    if args.validated:
        for module in (parent, router, routing, risk, reports):
            module.trusted = lambda cls, /, **fields: cls(**fields)  # type: ignore[attr-defined]
    stages, wiring, t0 = wired()
    # The first checkpoint, of every entry, before the clock starts.
    checkpoints = Checkpoints([Memory(stage) for stage in stages], t0, args.commit)
    started = time.process_time()
    emitted = offer(wiring, t0, args.signals, args.rate, checkpoints.due)
    cpu = time.process_time() - started
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.2f}; {args.signals:,} signals at {args.rate:,}/s of event time, "
        f"records {'validated' if args.validated else 'trusted'}: "
        f"{cpu / args.signals * 1e6:.1f} µs of CPU per signal, "
        f"{emitted / args.signals:.2f} records emitted per signal; checkpoints every "
        f"{args.commit} s: {checkpoints.records / args.signals:.2f} changelog records, "
        f"{checkpoints.bytes / args.signals:.0f} bytes per signal"
    )


def wired() -> tuple[list[Stage], Wiring, int]:
    """Risk and the desk on the bench's engine, wired as the replay harness wires them, after
    the bench's market; and the event time they stand at."""
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "engine.toml"
        path.write_text(workload.engine_toml())
        config = load_config(path)
    stages = [build_stage(name, config) for name in ("risk", "desk")]
    wiring = Wiring(stages)
    t0 = 1_700_000_000_000_000
    for entry in timeline(workload.market(t0), []):
        wiring.deliver(entry.topic, entry.record, t0)
    return stages, wiring, t0


def offer(wiring: Wiring, t0: int, signals: int, rate: int, after: Callable[[int], object]) -> int:
    """The bench's load from `t0`: `signals` signals at `rate` a second of event time and the
    clock's ticks, `after(now)` called after each signal. How many records they caused."""
    templates = workload.signal_templates()
    next_tick, sequence, emitted = t0, 0, 0
    for n in range(signals):
        now = t0 + n * 1_000_000 // rate
        while next_tick <= now:
            for partition in range(PARTITIONS):
                tick = ClockTick(partition=partition, sequence=sequence, timestamp=next_tick)
                emitted += len(wiring.deliver("clock", tick, next_tick))
            sequence, next_tick = sequence + 1, next_tick + TICK_US
        signal = templates[n % len(templates)] | {"signal_id": f"s-{n}", "created_at": now}
        emitted += len(wiring.deliver("signals", signal, now))
        after(now)
    return emitted


Records = list[tuple[bytes, bytes | None]]


class Checkpoints:
    """The stages' checkpoints as the live loop takes them, less the producer: every
    `seconds` of event time from `t0` (never if 0), and one of every entry at once. Each
    checkpoint's records are kept in `taken` where `keep` asks."""

    def __init__(
        self, memories: list[Memory], t0: int, seconds: float, *, keep: bool = False
    ) -> None:
        self.memories, self.keep = memories, keep
        self.every_us = int(seconds * 1e6)
        self.next_us = t0 + self.every_us
        self.number = self.records = self.bytes = 0
        self.taken: list[Records] = []
        self.take()
        self.records = self.bytes = 0
        self.taken.clear()

    def due(self, now_us: int) -> None:
        if self.every_us and now_us >= self.next_us:
            self.take()
            self.next_us += self.every_us

    def take(self) -> None:
        self.number += 1
        for memory in self.memories:
            puts, removed = memory.changes()
            records = checkpoint_records(self.number, {}, puts, removed)
            self.records += len(records)
            self.bytes += sum(len(key) + len(value or b"") for key, value in records)
            if self.keep:
                self.taken.append(records)
        gc.collect(1)
        gc.freeze()


if __name__ == "__main__":
    main()
