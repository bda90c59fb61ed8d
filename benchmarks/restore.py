"""What a desk partition with many working orders costs to save and to restore, as entries.

Run: `python benchmarks/restore.py [--orders N] [--commits C] [--rate R] [--kafka]`. The
bench's configuration (one simulated venue, three symbols, eight accounts) and its market (a
quote and a trade per symbol); then N resting limit orders, 3 to 8% away from the market so
that none fills, go through the risk and desk stages in event time, a clock tick every 100 ms,
until every one is working at the venue. Then, on the desk (one stage: one partition):

- the full image: `Memory.changes()` on a fresh memory, every entry;
- a restore: a freshly built desk given those entries (`Memory.restore`), checked to hold the
  same memory, entry for entry;
- with `--kafka`, a restore as a worker that gains the partition makes it: the image written
  as a checkpoint to a changelog partition on the broker (`KAFKA_BOOTSTRAP_SERVERS`, a topic of
  its own, deleted after), then read to its end and folded (`streams.runtime.read_changelog`)
  and restored, timed from the first read to the restored desk;
- saves under load: the bench's load (IOC limits at the touch, each filled at once, R a second
  of event time, a clock tick every 5 ms) for C commits of 100 ms, `changes()` at each.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

from fillstream import settings
from fillstream.bench import workload
from fillstream.config import EngineConfig, load_config
from fillstream.infra.topic_io import make_producer, send
from fillstream.infra.topics import admin_client, ensure_topics
from fillstream.processors import build_stage
from fillstream.replay import timeline
from fillstream.schemas.models import ClockTick
from fillstream.schemas.topics import changelog
from fillstream.streams.changelog import checkpoint_records
from fillstream.streams.memory import Memory
from fillstream.streams.runtime import changelog_reader, read_changelog
from fillstream.streams.stages import Wiring

T0 = 1_700_000_000_000_000
BUILD_TICK_US = 100_000
LOAD_TICK_US = 5_000
COMMIT_US = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="resting orders to build")
    parser.add_argument("--commits", type=int, default=30, help="commits of load to time")
    parser.add_argument("--rate", type=int, default=1000, help="load: signals a second")
    parser.add_argument(
        "--kafka", action="store_true", help="also restore through a changelog on the broker"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "engine.toml"
        path.write_text(workload.engine_toml())
        config = load_config(path)
    risk, desk = build_stage("risk", config), build_stage("desk", config)
    wiring = Wiring([risk, desk])
    for entry in timeline(workload.market(T0), []):
        wiring.deliver(entry.topic, entry.record, T0)

    started = time.perf_counter()
    now = build(wiring, args.orders)
    built = time.perf_counter() - started
    working = len(desk.oms.orders)
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.2f}; {working:,} orders working at the venue "
        f"(built in {built:.0f} s)"
    )

    memory = Memory(desk)
    started = time.perf_counter()
    image, _ = memory.changes()
    imaged = time.perf_counter() - started
    size = sum(map(len, image.values())) + sum(map(len, image))
    fresh = build_stage("desk", config)
    started = time.perf_counter()
    Memory(fresh).restore(image)
    restored = time.perf_counter() - started
    assert Memory(fresh).changes()[0] == image, "the restored desk holds another memory"
    print(f"\nthe desk's whole memory: {len(image):,} entries, {size / 1e6:.1f} MB (keys included)")
    print("| | s | µs per entry |")
    print("|---|---|---|")
    print(f"| the full image (`changes()`) | {imaged:.2f} | {imaged / len(image) * 1e6:.1f} |")
    print(f"| a restore (`restore()`) | {restored:.2f} | {restored / len(image) * 1e6:.1f} |")
    parts = Counter(key.split(b"/")[0].decode() for key in image)
    venue = Counter(key.split(b"/")[2].decode() for key in image if key.startswith(b"venue."))
    print("entries by part:", dict(parts.most_common()), "; the venue's:", dict(venue))
    if args.kafka:
        from_kafka(config, image)

    saves, puts, sizes, removals, handled = load(wiring, memory, now, args.rate, args.commits)
    print(
        f"\nsaves under load: {args.commits} commits of {COMMIT_US // 1000} ms, {args.rate:,} "
        f"signals a second, {working:,} orders resting"
    )
    print("| per commit | mean | median | max |")
    print("|---|---|---|---|")
    print(row("`changes()`, ms", [s * 1e3 for s in saves]))
    print(row("entries set", puts))
    print(row("keys removed", removals))
    print(row("bytes", sizes))
    print(row("the stages' own work, ms", [s * 1e3 for s in handled]))


def from_kafka(config: EngineConfig, image: dict[bytes, bytes]) -> None:
    """The image as a checkpoint on a changelog partition of the broker, then restored from
    there as a worker gaining the partition does it."""
    os.environ["FILLSTREAM_TOPIC_PREFIX"] = f"restore-{uuid.uuid4().hex[:8]}."
    spec = changelog("desk")
    ensure_topics([spec])
    producer = make_producer()
    started = time.perf_counter()
    for key, value in checkpoint_records(1, {}, image, []):
        send(producer, spec, value, key, partition=0)
        producer.poll(0)
    producer.flush()
    written = time.perf_counter() - started
    reader = changelog_reader(f"restore-{uuid.uuid4().hex[:8]}")
    try:
        started = time.perf_counter()
        recovered = read_changelog(reader, spec, 0)
        read = time.perf_counter() - started
        fresh = build_stage("desk", config)
        Memory(fresh).restore(recovered.entries)
        restored = time.perf_counter() - started
    finally:
        reader.close()
        admin_client().delete_topics([spec.full_name])
    assert recovered.entries == image, "the changelog gave back another memory"
    print(f"\nthrough the broker ({settings.bootstrap_servers()}), partition 0 of {spec.name}:")
    print("| | s |")
    print("|---|---|")
    print(f"| written (checkpoint, then {len(image):,} entries) | {written:.2f} |")
    print(f"| read to its end and folded | {read:.2f} |")
    print(f"| read, folded and restored: the partition's restore | {restored:.2f} |")


def build(wiring: Wiring, orders: int) -> int:
    """`orders` resting limits through risk and the desk, then a tick so that all arrive."""
    templates = [t for t in workload.signal_templates() if t["account_id"] in workload.ACCOUNTS]
    now, next_tick, sequence = T0, T0 + BUILD_TICK_US, 0
    for n in range(orders):
        now = T0 + n * 10  # 100,000 a second of event time
        while next_tick <= now:
            tick(wiring, sequence, next_tick)
            sequence, next_tick = sequence + 1, next_tick + BUILD_TICK_US
        template = templates[n % len(templates)]
        mid = workload.MIDS[template["symbol"]]
        away = Decimal(300 + n % 500) / 10_000  # 3 to 8%, each order at one of 500 prices
        price = mid * (1 - away if template["side"] == "buy" else 1 + away)
        signal = template | {
            "signal_id": f"rest-{n}",
            "price": price.quantize(Decimal("0.01")),
            "time_in_force": "GTC",
            "created_at": now,
        }
        wiring.deliver("signals", signal, now)
    tick(wiring, sequence, now + 1)
    return now + 1


def load(
    wiring: Wiring, memory: Memory, start: int, rate: int, commits: int
) -> tuple[list[float], list[int], list[int], list[int], list[float]]:
    """The bench's load for `commits` commits; per commit, the save's time, entries, bytes
    and removals, and the stages' own time."""
    templates = workload.signal_templates()
    saves, puts, sizes, removals, handled = [], [], [], [], []
    sequence, n, now = 10**6, 0, start
    for commit in range(commits):
        end = start + (commit + 1) * COMMIT_US
        began = time.perf_counter()
        for at in range(now, end, LOAD_TICK_US):
            tick(wiring, sequence, at)
            sequence += 1
            while n * 1_000_000 // rate < at - start + LOAD_TICK_US:
                signal = templates[n % len(templates)] | {
                    "signal_id": f"load-{n}",
                    "created_at": at,
                }
                wiring.deliver("signals", signal, at)
                n += 1
        now = end
        handled.append(time.perf_counter() - began)
        began = time.perf_counter()
        changed, removed = memory.changes()
        saves.append(time.perf_counter() - began)
        puts.append(len(changed))
        sizes.append(sum(map(len, changed.values())))
        removals.append(len(removed))
    return saves, puts, sizes, removals, handled


def tick(wiring: Wiring, sequence: int, at: int) -> None:
    wiring.deliver("clock", ClockTick(partition=0, sequence=sequence, timestamp=at), at)


def row(name: str, values: list[float] | list[int]) -> str:
    mean, median = statistics.fmean(values), statistics.median(values)
    return f"| {name} | {mean:,.1f} | {median:,.1f} | {max(values):,.1f} |"


if __name__ == "__main__":
    main()
