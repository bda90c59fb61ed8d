"""CPU a checkpoint's changelog records cost the producer's caller, per record and per signal.

Run: `python benchmarks/checkpoint_produce.py [--signals N] [--rounds R]`. The records are the
checkpoints of the stages under the load of `fillstream bench` (risk and the desk, a checkpoint
every half second of event time, as `benchmarks/stages.py` takes them, which this imports: run
it from anywhere as `python benchmarks/checkpoint_produce.py`). They are produced in
alternating rounds, as the live loop produced them before (`send` and a poll per record) and as
it does now (`streams.runtime.save`), to a producer whose broker does not answer: librdkafka
queues each record, which is the caller's part of the cost; the broker's is not in it. The
figure is the process's CPU time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

from confluent_kafka import Producer
from stages import Checkpoints, Records, offer, wired

from fillstream.infra.topic_io import send
from fillstream.schemas.topics import changelog
from fillstream.streams.memory import Memory
from fillstream.streams.runtime import save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5, help="of each way, alternating")
    args = parser.parse_args()
    checkpoints = _checkpoints(args.signals)
    count = sum(map(len, checkpoints))
    producer = Producer(
        {
            "bootstrap.servers": "127.0.0.1:9",  # discard: nothing answers
            "linger.ms": 0,  # as the state producer
            "message.timeout.ms": 0,
            "queue.buffering.max.messages": 2 * count,
            "log_level": 0,
        }
    )
    spec = changelog("risk")

    def as_before(records: Records) -> None:
        for key, value in records:
            send(producer, spec, value, key, partition=0)  # type: ignore[arg-type]
            producer.poll(0)

    def now(records: Records) -> None:
        save(producer, spec.full_name, 0, records)

    ways: dict[str, Callable[[Records], None]] = {"as before": as_before, "save": now}
    figures: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, way in ways.items():
            started = time.process_time()
            for records in checkpoints:
                way(records)
            figures[name].append(time.process_time() - started)
            producer.purge()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.2f}; {count:,} changelog records from {args.signals:,} signals"
    )
    print("| way | µs of CPU per record, median (range) | per signal, median |")
    print("|---|---|---|")
    for name, seconds in figures.items():
        per_record = [s / count * 1e6 for s in seconds]
        print(
            f"| {name} | {statistics.median(per_record):.2f} ({min(per_record):.2f}–"
            f"{max(per_record):.2f}) | {statistics.median(seconds) / args.signals * 1e6:.1f} |"
        )


def _checkpoints(signals: int) -> list[Records]:
    """The checkpoints' records of `signals` signals of the bench's load, every half second."""
    stages, wiring, t0 = wired()
    checkpoints = Checkpoints([Memory(stage) for stage in stages], t0, 0.5, keep=True)
    offer(wiring, t0, signals, 1_000, checkpoints.due)
    return checkpoints.taken


if __name__ == "__main__":
    main()
