"""What one produce request and one fetch cost the broker in CPU, and how many requests a
record to each of several partitions becomes.

Run: `python benchmarks/request_cost.py [--requests N] [--partitions 1 3 10]` beside a broker
on this machine (`KAFKA_BOOTSTRAP_SERVERS`, default the local broker; its pid is found by
`pgrep -f kafka.Kafka`). For each partition count P: N rounds of one 100-byte record to each
of P partitions of a topic of its own, the idempotent producer flushed after each round (as
the processors' journal and outputs are); then the same with a consumer reading each round
back before the next. The broker's CPU comes from /proc over the rounds, the requests from
librdkafka's own statistics.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from typing import Any

from benchlib import RequestCount, cpu_seconds, local_broker_pid
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic


def client_config(bootstrap: str, requests: RequestCount) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "statistics.interval.ms": 100, "stats_cb": requests}


def measure(bootstrap: str, pid: int, partitions: int, rounds: int, fetch: bool) -> str:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = f"request-cost-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result()
    produced, fetched = RequestCount(), RequestCount()
    producer = Producer(
        client_config(bootstrap, produced) | {"enable.idempotence": True, "linger.ms": 5}
    )
    consumer = None
    if fetch:
        consumer = Consumer(
            client_config(bootstrap, fetched)
            | {"group.id": topic, "auto.offset.reset": "earliest", "fetch.wait.max.ms": 500}
        )
        consumer.subscribe([topic])
        while not consumer.assignment():
            consumer.poll(0.1)
    try:
        time.sleep(1)
        producer.poll(0.2)
        if consumer is not None:
            consumer.poll(0.2)
        before = (cpu_seconds(pid), produced.sent.get("Produce", 0), fetched.sent.get("Fetch", 0))
        for _ in range(rounds):
            for partition in range(partitions):
                producer.produce(topic, b"x" * 100, partition=partition)
            producer.flush()
            got = 0
            while consumer is not None and got < partitions:
                got += len(consumer.consume(partitions - got, 1.0))
        used = cpu_seconds(pid) - before[0]
        time.sleep(0.3)  # one more statistics report
        producer.poll(0.2)
        if consumer is not None:
            consumer.poll(0.2)
        produce_requests = produced.sent.get("Produce", 0) - before[1]
        fetches = fetched.sent.get("Fetch", 0) - before[2]
    finally:
        if consumer is not None:
            consumer.close()
        admin.delete_topics([topic])
    requests = produce_requests + fetches
    return (
        f"| {partitions} | {'yes' if fetch else 'no'} | {rounds * partitions:,} | "
        f"{produce_requests:,} | {fetches:,} | {used:.2f} | {used / requests * 1e6:,.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="rounds of records")
    parser.add_argument("--partitions", type=int, nargs="+", default=[1, 3, 10])
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    pid = local_broker_pid()
    print(f"broker {bootstrap} (pid {pid}); {args.requests:,} rounds each")
    print(
        "| partitions a round | read back | records | produce requests | fetches | "
        "broker CPU s | µs per request |"
    )
    print("|---|---|---|---|---|---|---|")
    for partitions in args.partitions:
        for fetch in (False, True):
            print(measure(bootstrap, pid, partitions, args.requests, fetch), flush=True)


if __name__ == "__main__":
    main()
