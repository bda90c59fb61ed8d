"""Producer throughput: 200-byte records from confluent-kafka to a real Kafka broker.

Method: first `--warmup` records go through the broker untimed (a fresh JVM is slow until
its JIT has run). Then for each mode (acks=all, acks=1, optionally idempotence): a fresh
topic and a fresh producer, which delivers one record before the clock starts (connections,
metadata, producer id). `--count` records of 200 bytes (no key, compression none) are
produced as fast as `produce()` takes them (on a full local queue: serve delivery reports and
retry), then `flush()`. The clock runs from the first `produce()` to the end of `flush()`,
so it covers the delivery of every record. Delivery reports come only for failures
(`delivery.report.only.error`); the records counted are `count - failures`, and the topic's
end offsets, read back, must equal that count or the run fails.

    python benchmarks/producer_throughput.py [--count N] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import sys
import time

import benchlib
from confluent_kafka import Producer

MODES: dict[str, dict[str, object]] = {
    "acks=all": {"acks": "all"},
    "acks=1": {"acks": "1"},
    "acks=all+idempotence": {"acks": "all", "enable.idempotence": True},
}

THROUGHPUT_CONFIG: dict[str, object] = {
    "linger.ms": 10,  # fill batches: the loop produces far faster than one request per 10 ms
    "batch.size": 1_000_000,  # bytes per partition batch (librdkafka's default and maximum)
    "batch.num.messages": 10_000,
    "compression.type": "none",
    "queue.buffering.max.messages": 500_000,  # ~100 MB of 200-byte records in flight
    "queue.buffering.max.kbytes": 1_048_576,
    "delivery.report.only.error": True,
}


def run_mode(
    bootstrap: str, topic: str, partitions: int, count: int, mode: str
) -> dict[str, float]:
    """Produce `count` records to `topic` in one mode; return delivered records and seconds."""
    producer = Producer({"bootstrap.servers": bootstrap, **THROUGHPUT_CONFIG, **MODES[mode]})
    failures: list[str] = []

    def on_delivery(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    value = benchlib.record_value(0)
    # One record before the clock starts: connections, metadata and (idempotence) a producer id.
    producer.produce(topic, value, on_delivery=on_delivery)
    if producer.flush(60) or failures:
        raise SystemExit(f"{mode}: the warm-up record was not delivered: {failures}")
    produce, poll = producer.produce, producer.poll
    started = time.perf_counter()
    for i in range(count):
        while True:
            try:
                produce(topic, value, on_delivery=on_delivery)
                break
            except BufferError:  # the local queue is full: wait for deliveries
                poll(0.001)
        if not i & 0x3FFF:
            poll(0)
    left = producer.flush(300)
    elapsed = time.perf_counter() - started
    if left:
        raise SystemExit(f"{mode}: {left} records still undelivered 300 s after the last produce")
    delivered = count - len(failures)
    stored = benchlib.end_offsets(bootstrap, topic, partitions) - 1  # the warm-up record
    if failures or stored != delivered:
        raise SystemExit(
            f"{mode}: {len(failures)} delivery failures (first: {failures[:1]}), "
            f"{stored} records in the topic for {delivered} delivered"
        )
    return {"delivered": delivered, "seconds": elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2_000_000, help="records per mode")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument(
        "--modes",
        default="acks=all,acks=1",
        help=f"comma-separated, from: {', '.join(MODES)}",
    )
    parser.add_argument("--bootstrap", help="default: $KAFKA_BOOTSTRAP_SERVERS, else ephemeral")
    parser.add_argument("--kafka-version", help="for the report, when the broker is external")
    parser.add_argument("--keep-topics", action="store_true")
    parser.add_argument(
        "--warmup", type=int, default=200_000, help="records through the broker first, untimed"
    )
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := [m for m in modes if m not in MODES]:
        parser.error(f"unknown modes {unknown}; choose from {list(MODES)}")

    with benchlib.broker(args.bootstrap, args.kafka_version) as kafka:
        benchlib.print_facts(benchlib.machine_facts(kafka))
        warmed = benchlib.warm_up(kafka.bootstrap, args.warmup)
        print(f"broker warm-up: {args.warmup:,} records in {warmed:.1f}s (untimed)")
        print(
            f"{args.count:,} records of {benchlib.RECORD_BYTES} bytes per mode, no key, "
            f"{args.partitions} partition(s), replication factor 1; producer config: "
            + ", ".join(f"{k}={v}" for k, v in THROUGHPUT_CONFIG.items())
            + "\n"
        )
        rows = []
        for mode in modes:
            topic = benchlib.unique_name("bench.produce")
            benchlib.create_topics(kafka.bootstrap, [topic], args.partitions)
            try:
                result = run_mode(kafka.bootstrap, topic, args.partitions, args.count, mode)
            finally:
                if not args.keep_topics:
                    benchlib.delete_topics(kafka.bootstrap, [topic])
            rate = result["delivered"] / result["seconds"]
            rows.append(
                [
                    f"confluent-kafka produce(), {mode}",
                    f"{result['delivered']:,.0f}",
                    f"{result['seconds']:.2f}",
                    f"{rate:,.0f}",
                    f"{rate * benchlib.RECORD_BYTES / 1e6:.1f}",
                    f"{1e6 / rate:.2f}",
                ]
            )
            print(f"{mode}: {rate:,.0f} records/s", file=sys.stderr, flush=True)
        print()
        benchlib.print_table(
            ["producer", "records delivered", "seconds", "records/s", "MB/s (values)", "µs/record"],
            rows,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
