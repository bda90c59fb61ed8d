"""CPU a processor's telemetry thread takes, on a real broker, at the default figures interval.

Run: `python benchmarks/telemetry_thread.py [--bootstrap HOST:PORT] [--seconds S]`. A
`Publisher` for a desk (its inputs, its consumer group, a registry with a figure per input
topic) runs alone for `--seconds`; the figure is the CPU time the kernel counts for its Python
thread, and for that thread with the threads of the three clients it makes (producer, lag
consumer, admin), from `/proc/self/task/<tid>/schedstat` (nanoseconds), per second of wall time.
Without `--bootstrap` (or `KAFKA_BOOTSTRAP_SERVERS`) a fresh local broker runs for it.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import uuid
from pathlib import Path

from benchlib import broker

DESK_INPUTS = (
    "orders.approved",
    "orders.rejected",
    "commands",
    "fills",
    "market.quotes",
    "market.trades",
    "market.book",
    "clock",
    "venue.instruments",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with broker(args.bootstrap) as kafka:
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap
        os.environ["FILLSTREAM_TOPIC_PREFIX"] = f"telemetry-{uuid.uuid4().hex[:8]}."
        # Imported once the environment names the broker and the prefix.
        from fillstream import settings
        from fillstream.infra.topics import ensure_topics
        from fillstream.schemas.topics import find
        from fillstream.streams.telemetry import Publisher, Telemetry

        ensure_topics([find(topic) for topic in (*DESK_INPUTS, "metrics")])
        telemetry = Telemetry("desk")
        for topic in DESK_INPUTS:
            telemetry.records_in.labels(topic).inc(1_000)
            telemetry.hop_latency.labels(topic).observe(0.002)
        before = set(os.listdir("/proc/self/task"))
        publisher = Publisher(
            telemetry, group=settings.processor_group("desk"), topics=DESK_INPUTS
        ).start()
        time.sleep(3)  # its clients connected and its first beats sent
        mine = publisher._thread.native_id
        threads = set(os.listdir("/proc/self/task")) - before
        start, started = {tid: _cpu_ns(tid) for tid in threads}, time.monotonic()
        time.sleep(args.seconds)
        end, wall = {tid: _cpu_ns(tid) for tid in threads}, time.monotonic() - started
        publisher.stop()
    alive = [tid for tid in threads if end[tid] is not None]
    thread_ms = (end[str(mine)] - start[str(mine)]) / 1e6 / wall  # type: ignore[operator]
    all_ms = sum(end[tid] - start[tid] for tid in alive) / 1e6 / wall  # type: ignore[operator]
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.2f}; {wall:.0f} s, figures every {settings.metrics_interval():g} s"
    )
    print(
        f"the telemetry thread: {thread_ms:.2f} ms of CPU a second; with its clients' "
        f"{len(alive) - 1} threads: {all_ms:.2f} ms a second"
    )


def _cpu_ns(tid: str) -> int | None:
    try:
        return int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0])
    except FileNotFoundError:
        return None


if __name__ == "__main__":
    main()
