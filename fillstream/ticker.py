"""The live punctuator (`fillstream run clock`): wall-clock time onto `clock`, for the stages.

Stages never read the wall clock; time passes for them as records arrive. In a live system a
quiet market would stop time (the executor's schedules, expiries, the scheduler's occurrences),
so this process publishes a tick to every partition of `clock` every interval, with the wall
clock's time (the one place live time enters the pipeline). A stage reading a tick writes
nothing of the wall clock itself: the tick is a record, so a processor that processes it again
after a crash sees the same time. The ticker keeps no state; a restarted one numbers its ticks
from 0 again, and the stages ignore a tick no later than their clock.

Its heartbeat goes on `metrics` as processor `clock`, so `fillstream status` and the monitor see
it as any processor.
"""

from __future__ import annotations

import signal
import threading
import time

from fillstream.infra.topic_io import make_producer
from fillstream.infra.topics import ensure_topics
from fillstream.pipeline import tick
from fillstream.schemas.topics import find
from fillstream.streams.telemetry import Publisher, Telemetry

__all__ = ["DEFAULT_INTERVAL_MS", "NAME", "run_ticker"]

NAME = "clock"  # as a process of `fillstream up`, a principal and on `metrics`
DEFAULT_INTERVAL_MS = 100


def run_ticker(interval_ms: int, stop: threading.Event | None = None) -> None:
    """Tick every `interval_ms` (on a fixed schedule: a slow send does not push the next one
    back) until SIGTERM or SIGINT (or `stop` is set)."""
    if interval_ms <= 0:
        raise ValueError(f"the tick interval must be positive, not {interval_ms} ms")
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    ensure_topics([find("clock"), find("metrics")])
    publisher = Publisher(Telemetry(NAME)).start()
    producer = make_producer()
    interval = interval_ms / 1000
    due = time.monotonic()
    sequence = 0
    try:
        while not stop.is_set():
            tick(time.time_ns() // 1000, sequence, producer)
            producer.poll(0)
            sequence += 1
            due += interval
            stop.wait(max(0.0, due - time.monotonic()))
    finally:
        producer.flush(10)
        publisher.stop()
