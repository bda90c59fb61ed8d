"""The faust-streaming relay for `relay.py`: one agent copies topic A to topic B.

Standalone on purpose: it imports neither fillstream nor confluent-kafka, so it runs in a
virtualenv that holds only faust-streaming (`relay.py --faust-python /that/venv/bin/python`
launches it). The agent is the idiomatic one, with faust's defaults except for the consumer
starting at the earliest offset and the producer lingering 5 ms, as librdkafka does by default
for the other relays (faust's own default, 0, sends a request per record and relayed about
half as fast here):

    @app.agent(source)
    async def relay(stream):
        async for event in stream.events():
            await sink.send(key=event.key, value=event.value)

After `--count` records it flushes the producer and stops the worker, as on SIGTERM. It prints
`BENCH ready_cpu=` and `BENCH exit_cpu=` lines (the process's CPU seconds, all threads) for
`relay.py`, and its own relay rate (first record consumed to count reached) on stderr.

    python benchmarks/relay_faust.py --bootstrap 127.0.0.1:9092 --count 200000 \\
        --in-topic A --out-topic B [--group G]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from typing import Any


def _cpu_mark(name: str) -> None:
    print(f"BENCH {name}_cpu={time.process_time():.6f}", flush=True)


def build_worker(args: argparse.Namespace, datadir: str) -> Any:
    """The faust app with its one relay agent, wrapped in a `faust.Worker`."""
    import faust

    group = args.group or f"bench.relay.faust.{os.getpid()}.{int(time.time())}"
    app = faust.App(
        group,
        broker=f"kafka://{args.bootstrap}",
        datadir=datadir,
        store="memory://",
        web_enabled=False,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        producer_linger=args.linger_ms / 1000,
    )
    source = app.topic(
        args.in_topic, key_type=bytes, value_type=bytes, key_serializer="raw",
        value_serializer="raw",
    )  # fmt: skip
    sink = app.topic(args.out_topic, key_serializer="raw", value_serializer="raw")
    count = args.count
    started: list[float] = []

    @app.agent(source)
    async def relay(stream: faust.StreamT) -> None:
        relayed = 0
        async for event in stream.events():
            if not relayed:
                started.append(time.perf_counter())
            await sink.send(key=event.key, value=event.value)
            relayed += 1
            if relayed == count:
                await app.producer.flush()
                seconds = time.perf_counter() - started[0]
                print(
                    f"faust relayed {count:,} records in {seconds:.2f}s"
                    f" ({count / seconds:,.0f}/s, own clock)",
                    file=sys.stderr,
                    flush=True,
                )
                os.kill(os.getpid(), signal.SIGTERM)  # the worker's clean shutdown

    @app.task
    async def ready() -> None:
        _cpu_mark("ready")

    return faust.Worker(app, loglevel=args.loglevel, quiet=True, redirect_stdouts=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="host:port of a Kafka broker")
    parser.add_argument("--count", type=int, required=True, help="stop after this many records")
    parser.add_argument("--in-topic", required=True)
    parser.add_argument("--out-topic", required=True)
    parser.add_argument("--group", help="faust app id = consumer group (default: unique)")
    parser.add_argument(
        "--linger-ms",
        type=float,
        default=5.0,
        help="producer linger; default 5 as librdkafka's (faust's own default is 0)",
    )
    parser.add_argument("--loglevel", default="warning")
    args = parser.parse_args(argv)

    datadir = tempfile.mkdtemp(prefix="bench-faust-")
    try:
        worker = build_worker(args, datadir)
        worker.execute_from_commandline()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    finally:
        _cpu_mark("exit")
        shutil.rmtree(datadir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
