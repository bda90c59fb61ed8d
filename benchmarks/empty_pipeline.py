"""The signal path with nothing in it: what Kafka and the clients alone cost a signal here.

Two relays stand where risk and the desk stand, with the processors' topology and client
settings (`streams/runtime.py`) but no stage work at all: the first turns each signal into one
record (risk's approval), the second into six records on five topics (the desk's routed order,
slice, acknowledgement and fill on `fills`, the fill on `fills.accounts`, the order's state).
Each shape runs twice: with the journal (each relay first writes a record per partition of
each batch to a changelog partition and waits for it, as the processors do under
at-least-once), then without. `--linger` and `--partitions` vary the rest. Signals come
at a fixed rate from a producer lingering 1 ms (as `fillstream bench`'s), and a reader of
`fills` in this process times each signal's first record there.

Reported for each shape, over the measured phase (after a warm-up at the same rate): acks/s,
latency p50 and p99, CPU of each relay and of the broker (from /proc) per acknowledged signal,
and the requests the relays' clients sent per signal (from librdkafka's statistics). Whatever
`fillstream bench` spends beyond these figures is the stages', the codecs' and the telemetry's.

    python benchmarks/empty_pipeline.py --rate 1000 --duration 20   # beside one local broker
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import benchlib
from confluent_kafka import Consumer, Producer

from fillstream.bench.stats import Percentiles, rate_over

FIRST_HOP = ("approved",)
SECOND_HOP = ("routed", "slices", "fills", "fills", "fills.accounts", "state")
TOPICS = ("signals", *sorted({*FIRST_HOP, *SECOND_HOP}), "changelog.1", "changelog.2")
BATCH = 500
COMMIT_INTERVAL = 0.5
SETTLE = 100  # signals sent first, until all are read: the groups have joined
VALUE = struct.Struct(">QQ")  # sequence number, send time in µs; the rest is filler


# -- a relay (runs in a process of its own) --------------------------------------------------


@dataclass(frozen=True)
class Shape:
    journal: bool  # each relay journals each batch and waits for it
    linger_ms: int  # the relays' output producers'
    partitions: int

    @property
    def name(self) -> str:
        journal = "journal" if self.journal else "no journal"
        return f"{journal}, linger {self.linger_ms} ms, {self.partitions} partitions"


def relay(bootstrap: str, prefix: str, hop: int, outputs: tuple[str, ...], shape: Shape) -> None:
    """Consume what has arrived, journal each partition's batch (and wait), produce every
    output record, commit every half second: the processor loop less decoding, the stage and
    encoding. Prints its clients' requests by type on SIGTERM."""
    counts = [benchlib.RequestCount() for _ in range(3)]
    common = {"bootstrap.servers": bootstrap, "statistics.interval.ms": 1000, "log_level": 3}
    consumer = Consumer(
        {
            **common,
            "stats_cb": counts[0],
            "group.id": f"{prefix}relay-{hop}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "partition.assignment.strategy": "range",
            "fetch.wait.max.ms": 10,
            "fetch.min.bytes": 1,
        }
    )
    producer_config = {**common, "enable.idempotence": True, "partitioner": "murmur2_random"}
    producer = Producer({**producer_config, "stats_cb": counts[1], "linger.ms": shape.linger_ms})
    state = Producer({**producer_config, "stats_cb": counts[2], "linger.ms": 0})
    source = prefix + ("signals" if hop == 1 else FIRST_HOP[0])
    targets = [prefix + topic for topic in outputs]
    changelog = f"{prefix}changelog.{hop}"
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    consumer.subscribe([source])
    due = time.monotonic() + COMMIT_INTERVAL
    while not stopping.is_set():
        messages = consumer.consume(BATCH, 0)
        if not messages:
            first = consumer.poll(0.1)
            messages = [first] if first is not None else []
        messages = [m for m in messages if m.error() is None]
        if shape.journal and messages:
            for partition in sorted({m.partition() for m in messages}):
                state.produce(changelog, b"runs", b"journal", partition=partition)
            state.flush()
        for message in messages:
            for target in targets:
                while True:
                    try:
                        producer.produce(target, message.value(), message.key())
                        break
                    except BufferError:
                        producer.poll(0.01)
        producer.poll(0)
        if time.monotonic() >= due:
            consumer.commit(asynchronous=True)
            due = time.monotonic() + COMMIT_INTERVAL
    producer.flush(10)
    consumer.consume(1, 1.1)  # serve one last statistics callback
    state.poll(0)
    producer.poll(0)
    consumer.close()
    total: dict[str, int] = {}
    for count in counts:
        for kind, n in count.sent.items():
            total[kind] = total.get(kind, 0) + n
    print(json.dumps(total), flush=True)


# -- the run ---------------------------------------------------------------------------------


class Reader(threading.Thread):
    """Reads `fills` and keeps, per signal, when its first record there arrived."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        super().__init__(daemon=True)
        self.arrived: dict[int, int] = {}
        self.latency_us: dict[int, int] = {}
        self._done = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"{prefix}reader",
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 10,
                "enable.auto.commit": False,
                "log_level": 3,
            }
        )
        self._consumer.subscribe([prefix + "fills"])

    def run(self) -> None:
        while not self._done.is_set():
            # `consume` with a timeout waits for a whole batch: poll for the first record.
            first = self._consumer.poll(0.05)
            if first is None:
                continue
            for message in (first, *self._consumer.consume(BATCH, 0)):
                if message.error() is not None:
                    continue
                now = time.time_ns() // 1000
                seq, sent = VALUE.unpack_from(message.value())
                if seq not in self.latency_us:
                    self.latency_us[seq] = now - sent
                    self.arrived[seq] = now
        self._consumer.close()

    def stop(self) -> None:
        self._done.set()
        self.join(10)


@dataclass
class Outcome:
    shape: str
    acks_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_us: dict[str, float]
    requests_per_signal: dict[str, float]
    acked: int
    sent: int


def run_shape(
    bootstrap: str,
    rate: int,
    warmup: float,
    duration: float,
    shape: Shape,
    drain: float,
) -> Outcome:
    prefix = benchlib.unique_name("bench.empty") + "."
    benchlib.create_topics(bootstrap, [prefix + t for t in TOPICS], shape.partitions)
    here = Path(__file__).resolve()
    relays = {
        name: subprocess.Popen(
            [
                sys.executable,
                str(here),
                "relay",
                bootstrap,
                prefix,
                str(hop),
                ",".join(outputs),
                json.dumps(asdict(shape)),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name, hop, outputs in (("risk", 1, FIRST_HOP), ("desk", 2, SECOND_HOP))
    }
    reader = Reader(bootstrap, prefix)
    reader.start()
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
            "linger.ms": 1,
        }
    )
    topic = prefix + "signals"
    broker = benchlib.local_broker_pid()
    try:
        _send(producer, topic, rate, 0, SETTLE, settle=True, reader=reader)  # joins
        seq = _send(producer, topic, rate, SETTLE, int(rate * warmup), False, reader)
        first = seq
        pids = {name: process.pid for name, process in relays.items()} | {"broker": broker}
        marks = {name: benchlib.cpu_seconds(pid) for name, pid in pids.items()}
        seq = _send(producer, topic, rate, seq, int(rate * duration), False, reader)
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline and any(
            s not in reader.latency_us for s in range(first, seq)
        ):
            time.sleep(0.05)
        cpu = {name: benchlib.cpu_seconds(pid) - marks[name] for name, pid in pids.items()}
    finally:
        for process in relays.values():
            process.send_signal(signal.SIGTERM)
        reader.stop()
    requests: dict[str, int] = {}
    for name, process in relays.items():
        out, _ = process.communicate(timeout=30)
        if process.returncode != 0 or not out.strip():
            raise SystemExit(f"the {name} relay failed (exit status {process.returncode})")
        for kind, n in json.loads(out.strip().splitlines()[-1]).items():
            requests[kind] = requests.get(kind, 0) + n
    benchlib.delete_topics(bootstrap, [prefix + t for t in TOPICS])
    measured = [reader.latency_us[s] for s in range(first, seq) if s in reader.latency_us]
    acked = len(measured)
    arrivals = [reader.arrived[s] / 1e6 for s in range(first, seq) if s in reader.arrived]
    latency = Percentiles.of(measured) if measured else None
    return Outcome(
        shape=shape.name,
        acks_per_s=rate_over(arrivals),
        p50_ms=latency.p50 / 1000 if latency else float("nan"),
        p99_ms=latency.p99 / 1000 if latency else float("nan"),
        cpu_us={name: 1e6 * s / max(acked, 1) for name, s in cpu.items()},
        requests_per_signal={k: n / seq for k, n in sorted(requests.items()) if n >= seq / 100},
        acked=acked,
        sent=seq - first,
    )


def _send(
    producer: Producer, topic: str, rate: int, first: int, count: int, settle: bool, reader: Reader
) -> int:
    """Signals `first`..`first + count - 1` at `rate`; with `settle`, then wait until the
    reader has them all (the relays have joined their groups and warmed up)."""
    filler = bytes(benchlib.RECORD_BYTES - VALUE.size)
    started = time.monotonic()
    for n in range(count):
        due = started + n / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        seq = first + n
        value = VALUE.pack(seq, time.time_ns() // 1000) + filler
        producer.produce(topic, value, str(seq).encode())
        producer.poll(0)
    producer.flush(10)
    if settle:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(reader.latency_us) < count:
            time.sleep(0.1)
    return first + count


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "relay":
        bootstrap, prefix, hop, outputs, shape = sys.argv[2:7]
        relay(bootstrap, prefix, int(hop), tuple(outputs.split(",")), Shape(**json.loads(shape)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="signals per second")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at the rate first")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--linger", type=int, default=1, help="the relays' producers', ms")
    parser.add_argument("--drain", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=1, help="each shape this many times")
    parser.add_argument("--bootstrap", default=None)
    args = parser.parse_args()
    with benchlib.broker(args.bootstrap) as kafka:
        benchlib.print_facts(benchlib.machine_facts(kafka, {"rate": f"{args.rate}/s"}))
        rows = []
        for _ in range(args.rounds):
            for journal in (True, False):
                shape = Shape(journal, args.linger, args.partitions)
                o = run_shape(
                    kafka.bootstrap, args.rate, args.warmup, args.duration, shape, args.drain
                )
                total = sum(o.cpu_us.values())
                rows.append(
                    [
                        o.shape,
                        f"{o.acked:,}/{o.sent:,}",
                        f"{o.acks_per_s:,.0f}",
                        f"{o.p50_ms:.1f}",
                        f"{o.p99_ms:.1f}",
                        *(f"{o.cpu_us[n]:,.0f}" for n in ("risk", "desk", "broker")),
                        f"{total:,.0f}",
                        ", ".join(f"{k} {v:.2f}" for k, v in o.requests_per_signal.items()),
                    ]
                )
                print(" | ".join(rows[-1]), flush=True)
        benchlib.print_table(
            [
                "shape",
                "acked/sent",
                "acks/s",
                "p50 ms",
                "p99 ms",
                "CPU µs per ack: first relay",
                "second relay",
                "broker",
                "total",
                "relays' requests per signal",
            ],
            rows,
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
