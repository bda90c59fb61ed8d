"""CPU the risk and desk stages spend per signal under the bench's load, without Kafka.

Run: `python benchmarks/stages.py [--rate R] [--signals N] [--validated]`. The load of
`fillstream bench` (IOC limits over 8 accounts and 3 symbols, a clock tick to each of 3
partitions every 5 ms of event time) goes through risk and the desk in one process, as the
replay harness wires them; the figure is the process's CPU time (not wall time: the machine is
shared) per signal, ticks included. `--validated` builds the records the stages make from
already-valid values with their models' validating constructors again, as before
`schemas/trusted.py`, for comparison in one sitting.
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
from fillstream.domain import reports
from fillstream.processors import build_stage
from fillstream.replay import timeline
from fillstream.schemas.models import ClockTick
from fillstream.streams import routing
from fillstream.streams.orders import parent
from fillstream.streams.stages import Wiring, risk, router

PARTITIONS = 3
TICK_US = 5_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="signals per second of event time")
    parser.add_argument("--signals", type=int, default=10_000)
    parser.add_argument("--validated", action="store_true", help="validate the stages' records")
    args = parser.parse_args()
    if args.validated:
        for module in (parent, router, routing, risk, reports):
            module.trusted = lambda cls, /, **fields: cls(**fields)  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "engine.toml"
        path.write_text(bench.engine_toml())
        config = load_config(path)
    wiring = Wiring([build_stage(name, config) for name in ("risk", "desk")])
    t0 = 1_700_000_000_000_000
    for entry in timeline(bench._market(t0), []):
        wiring.deliver(entry.topic, entry.record, t0)
    templates = bench._templates()
    next_tick, sequence, emitted = t0, 0, 0
    started = time.process_time()
    for n in range(args.signals):
        now = t0 + n * 1_000_000 // args.rate
        while next_tick <= now:
            for partition in range(PARTITIONS):
                tick = ClockTick(partition=partition, sequence=sequence, timestamp=next_tick)
                emitted += len(wiring.deliver("clock", tick, next_tick))
            sequence, next_tick = sequence + 1, next_tick + TICK_US
        signal = templates[n % len(templates)] | {"signal_id": f"s-{n}", "created_at": now}
        emitted += len(wiring.deliver("signals", signal, now))
    cpu = time.process_time() - started
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.2f}; {args.signals:,} signals at {args.rate:,}/s of event time, "
        f"records {'validated' if args.validated else 'trusted'}: "
        f"{cpu / args.signals * 1e6:.1f} µs of CPU per signal, "
        f"{emitted / args.signals:.2f} records emitted per signal"
    )


if __name__ == "__main__":
    main()
