"""Relay rate: consume 200-byte records from topic A and produce the same records to topic B.

Runtimes: a bare confluent-kafka consume/produce loop (batch consume), a Quix Streams
`Application` (`sdf = app.dataframe(topic)`, `sdf.to_topic(out)`; at-least-once and
exactly-once) and a faust-streaming agent (`relay_faust.py`, possibly in its own virtualenv).

Method: first `--warmup` records go through the broker untimed (a fresh JVM is slow until
its JIT has run). Then per runtime: fresh input and output topics and a fresh consumer group;
the input is pre-filled with `--count` (N) records, untimed; the output topic stamps every
batch with the broker's clock (`message.timestamp.type=LogAppendTime`). The relay runs in a
process of its own, from the earliest offset; Quix Streams with its defaults, the bare loop
with the two client settings Quix applies (`LOOP_*_CONFIG`), faust with a 5 ms producer
linger as librdkafka's default. Meanwhile this process polls the output's end offsets (the
last stable offset, a `read_committed` view) and, once they reach N, reads the output back
with `read_committed` to count and check it. Reported:

- relays/s = (N - 1) / (append time of the N-th record - append time of the first): the
  steady rate, free of interpreter start, imports and the group join;
- µs/record = 1e6 / relays/s (wall time per record, not CPU time);
- CPU µs/record: the relay process's own CPU time (all threads) from just before it starts
  consuming until it exits, divided by N; steadier than wall rates on a busy machine;
- launch → N visible: seconds from spawning the relay until the N-th record is readable
  with `read_committed`, found by polling every 20 ms (includes startup, group join and, with
  exactly-once, waiting for the transaction to commit).

A run that does not deliver N records within `--timeout` fails (exit status 1); the output
must hold every sequence number 0..N-1 (duplicates are reported, losses fail the run).

    python benchmarks/relay.py --runtime all --count 200000 --faust-python .venv-faust/bin/python
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import benchlib
from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

HERE = Path(__file__).resolve().parent
POLL_INTERVAL = 0.02
STOP_GRACE = 30.0
QUIX_GUARANTEES = ("at-least-once", "exactly-once")

# The bare loop runs with the two client settings Quix Streams 3.x applies by default, so the
# gap between the two rows is the framework's own cost. librdkafka's default backoff (1 s, once
# a partition's local queue passes `queued.min.messages`) starves a fast loop: on a backlog it
# made the loop's rate bimodal here (~140k or ~310k relays/s from one run to the next).
LOOP_CONSUMER_CONFIG = {"fetch.queue.backoff.ms": 100}
LOOP_PRODUCER_CONFIG = {"enable.idempotence": True}


class RunFailed(Exception):
    """A relay run that did not deliver its records (timeout, crash, or lost records)."""


@dataclass(frozen=True)
class Variant:
    runtime: str
    label: str
    guarantee: str = ""


@dataclass
class Result:
    variant: Variant
    relays_per_s: float
    cpu_us_per_record: float | None
    launch_to_visible_s: float
    span_s: float
    records_out: int
    duplicates: int


# -- the relays (each runs in a process of its own) ------------------------------------------


def _cpu_mark(name: str) -> None:
    """Tell the parent this process's CPU time so far (all threads), on stdout."""
    print(f"BENCH {name}_cpu={time.process_time():.6f}", flush=True)


def relay_confluent(
    bootstrap: str, in_topic: str, out_topic: str, group: str, count: int, batch: int
) -> None:
    """The bare loop: `consume(batch)`, `produce()` each record, `poll(0)`.

    librdkafka's defaults (acks=all, linger.ms=5, auto-commit every 5 s) but for the two
    settings in `LOOP_CONSUMER_CONFIG` and `LOOP_PRODUCER_CONFIG`.

    Stops by itself after relaying `count` records and flushing, or on SIGTERM/SIGINT.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            **LOOP_CONSUMER_CONFIG,
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, **LOOP_PRODUCER_CONFIG})
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    consumer.subscribe([in_topic])
    produce, poll, consume = producer.produce, producer.poll, consumer.consume
    relayed = 0
    _cpu_mark("ready")
    while not stopping and relayed < count:
        messages = consume(batch, 0.1)
        for message in messages:
            if message.error() is not None:
                raise KafkaException(message.error())
            while True:
                try:
                    produce(out_topic, message.value(), message.key())
                    break
                except BufferError:
                    poll(0.01)
        relayed += len(messages)
        poll(0)
    producer.flush(60)
    consumer.close()
    _cpu_mark("exit")


def relay_quix(
    bootstrap: str,
    in_topic: str,
    out_topic: str,
    group: str,
    guarantee: str,
    commit_interval: float | None,
) -> None:
    """`sdf = app.dataframe(in)`, `sdf.to_topic(out)`; `app.run()` until SIGTERM."""
    from quixstreams import Application

    state_dir = tempfile.mkdtemp(prefix="bench-quix-state-")
    try:
        options = {} if commit_interval is None else {"commit_interval": commit_interval}
        app = Application(
            broker_address=bootstrap,
            consumer_group=group,
            auto_offset_reset="earliest",
            processing_guarantee=guarantee,  # type: ignore[arg-type]
            state_dir=state_dir,
            loglevel="WARNING",
            **options,
        )
        source = app.topic(in_topic, key_deserializer="bytes", value_deserializer="bytes")
        sink = app.topic(out_topic, key_serializer="bytes", value_serializer="bytes")
        sdf = app.dataframe(source)
        sdf.to_topic(sink)
        _cpu_mark("ready")
        app.run()
        _cpu_mark("exit")
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


# -- watching the output ---------------------------------------------------------------------


class OutputReader:
    """Reads the relay's output topic with `read_committed`, as a downstream consumer would."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.partitions = [TopicPartition(topic, p) for p in range(partitions)]
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": benchlib.unique_name("bench.relay.reader"),
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "enable.partition.eof": False,
                # librdkafka pauses a partition's fetching for this long once its local queue
                # is over `queued.min.messages` (default 1 s): long enough to look like the end.
                "fetch.queue.backoff.ms": 10,
            }
        )
        self.consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)]
        )
        self.timestamps: list[int] = []
        self.seqs: set[int] = set()

    def stable_end(self) -> int:
        """Sum over partitions of the end offset a `read_committed` reader sees (the LSO).

        An upper bound of the records visible: transaction markers take offsets too.
        """
        return sum(
            self.consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1]
            for tp in self.partitions
        )

    def drain(self, until: int | None = None, idle: float = 0.5) -> int:
        """Read on until `until` records were read in all, or nothing came for `idle` s."""
        last_data = time.monotonic()
        while until is None or len(self.timestamps) < until:
            messages = self.consumer.consume(10_000, 0.1)
            if not messages:
                if time.monotonic() - last_data > idle:
                    break
                continue
            last_data = time.monotonic()
            for message in messages:
                if message.error() is not None:
                    if message.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(message.error())
                kind, stamp = message.timestamp()
                if kind != TIMESTAMP_LOG_APPEND_TIME:
                    raise RunFailed("the output topic does not use LogAppendTime")
                self.timestamps.append(stamp)
                self.seqs.add(benchlib.record_seq(message.value()))
        return len(self.timestamps)

    def close(self) -> None:
        self.consumer.close()


# -- running one variant ---------------------------------------------------------------------


def relay_command(variant: Variant, args: argparse.Namespace, topics: dict[str, str]) -> list[str]:
    common = [
        "--bootstrap", topics["bootstrap"],
        "--in-topic", topics["in"],
        "--out-topic", topics["out"],
        "--group", topics["group"],
        "--count", str(args.count),
    ]  # fmt: skip
    if variant.runtime == "faust":
        linger = ["--linger-ms", str(args.faust_linger_ms)]
        return [args.faust_python, str(HERE / "relay_faust.py"), *common, *linger]
    command = [sys.executable, str(HERE / "relay.py"), "--as-relay", variant.runtime, *common]
    if variant.runtime == "confluent":
        command += ["--batch", str(args.batch)]
    if variant.runtime == "quix":
        command += ["--guarantee", variant.guarantee]
        if args.commit_interval is not None:
            command += ["--commit-interval", str(args.commit_interval)]
    return command


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the relay (each runtime stops cleanly on it); SIGKILL after a grace period."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu_marks(stdout: str) -> dict[str, float]:
    """The relay's `BENCH <name>_cpu=<seconds>` lines (faust may prefix terminal codes)."""
    return {m[1]: float(m[2]) for m in re.finditer(r"BENCH (\w+)_cpu=([0-9.]+)", stdout)}


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_variant(kafka: benchlib.Broker, variant: Variant, args: argparse.Namespace) -> Result:
    """Fresh topics and group, pre-fill, run the relay in a subprocess, read the output."""
    n = args.count
    tag = benchlib.unique_name(f"bench.relay.{variant.runtime}{variant.guarantee[:5]}")
    topics = {"bootstrap": kafka.bootstrap, "in": f"{tag}.in", "out": f"{tag}.out", "group": tag}
    benchlib.create_topics(kafka.bootstrap, [topics["in"]], args.partitions)
    benchlib.create_topics(
        kafka.bootstrap,
        [topics["out"]],
        args.partitions,
        {"message.timestamp.type": "LogAppendTime"},
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    reader: OutputReader | None = None
    try:
        filled = benchlib.prefill(kafka.bootstrap, topics["in"], args.partitions, n)
        print(f"  {variant.label}: input pre-filled in {filled:.1f}s; relaying", flush=True)
        reader = OutputReader(kafka.bootstrap, topics["out"], args.partitions)
        out_path, err_path = workdir / "stdout", workdir / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            launched = time.time()
            process = subprocess.Popen(
                relay_command(variant, args, topics),
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
            try:
                deadline = time.monotonic() + args.timeout
                visible_at = 0.0
                while True:
                    polled_at = time.time()
                    exited = process.poll() is not None  # before the poll: it saw all output
                    if reader.stable_end() >= n and reader.drain(until=n, idle=0.2) >= n:
                        visible_at = polled_at  # the poll that saw them, not the read-back
                        break
                    if exited and reader.drain(until=n, idle=2.0) < n:
                        raise RunFailed(
                            f"the relay exited with code {process.returncode} after"
                            f" {len(reader.timestamps):,} of {n:,} records;"
                            f" its stderr ends:\n{_tail(err_path)}"
                        )
                    if time.monotonic() > deadline:
                        end = reader.stable_end()
                        stop_process(process)
                        raise RunFailed(
                            f"timeout: after {args.timeout:.0f}s the output's end offset was"
                            f" {end:,} of {n:,} records; the relay's stderr ends:\n"
                            f"{_tail(err_path)}"
                        )
                    time.sleep(POLL_INTERVAL)
            finally:
                stop_process(process)
        reader.drain()  # the rest, if any: duplicates
        missing = n - len(reader.seqs & set(range(n)))
        if missing:
            raise RunFailed(f"{missing:,} of {n:,} input records are missing from the output")
        stamps = sorted(reader.timestamps)
        span_s = (stamps[n - 1] - stamps[0]) / 1000
        marks = _cpu_marks(out_path.read_text(errors="replace"))
        cpu = marks.get("exit", 0.0) - marks.get("ready", 0.0) if len(marks) == 2 else None
        if process.returncode not in (0, -signal.SIGTERM):
            print(f"  note: the relay exited with code {process.returncode}:\n{_tail(err_path)}")
        if span_s <= 0:
            raise RunFailed("all records were appended within one millisecond: raise --count")
        return Result(
            variant=variant,
            relays_per_s=(n - 1) / span_s,
            cpu_us_per_record=None if cpu is None else cpu * 1e6 / n,
            launch_to_visible_s=visible_at - launched,
            span_s=span_s,
            records_out=len(reader.timestamps),
            duplicates=len(reader.timestamps) - len(reader.seqs),
        )
    finally:
        if reader is not None:
            reader.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep_topics:  # with any the runtime made (faust's assignor topic)
            benchlib.delete_topics(kafka.bootstrap, benchlib.list_topics(kafka.bootstrap, tag))


# -- the report ------------------------------------------------------------------------------


def find_faust_python(given: str | None) -> str | None:
    """`--faust-python`, else `$FAUST_PYTHON`, else this interpreter if it has faust."""
    if given:
        return given
    if os.environ.get("FAUST_PYTHON"):
        return os.environ["FAUST_PYTHON"]
    return sys.executable if importlib.util.find_spec("faust") else None


def faust_facts(python: str) -> str:
    probe = (
        "import sys, importlib.metadata as m; "
        "print(m.version('faust-streaming'), m.version('aiokafka'), sys.version.split()[0])"
    )
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise SystemExit(f"{python} cannot import faust-streaming:\n{done.stderr}")
    faust, aiokafka, python_version = done.stdout.split()
    return f"{faust} (aiokafka {aiokafka}, Python {python_version}, {python})"


def variants(args: argparse.Namespace) -> list[Variant]:
    chosen = ("confluent", "quix", "faust") if args.runtime == "all" else (args.runtime,)
    found: list[Variant] = []
    for runtime in chosen:
        if runtime == "confluent":
            found.append(Variant("confluent", "confluent-kafka consume/produce loop"))
        elif runtime == "quix":
            found += [
                Variant("quix", f"Quix Streams {g}", g)
                for g in args.quix_guarantees.split(",")
                if g
            ]
        else:
            found.append(Variant("faust", "faust-streaming agent"))
    return found


def row(result: Result) -> list[str]:
    cpu = result.cpu_us_per_record
    return [
        result.variant.label,
        f"{result.relays_per_s:,.0f}",
        f"{1e6 / result.relays_per_s:.1f}",
        "n/a" if cpu is None else f"{cpu:.1f}",
        f"{result.launch_to_visible_s:.2f}",
        f"{result.records_out:,}" + (f" ({result.duplicates:,} dup)" if result.duplicates else ""),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", choices=("confluent", "quix", "faust", "all"), default="all")
    parser.add_argument("--count", type=int, default=200_000, help="records to relay per run")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument("--bootstrap", help="default: $KAFKA_BOOTSTRAP_SERVERS, else ephemeral")
    parser.add_argument("--kafka-version", help="for the report, when the broker is external")
    parser.add_argument("--faust-python", help="python with faust-streaming (or $FAUST_PYTHON)")
    parser.add_argument(
        "--faust-linger-ms", type=float, default=5.0, help="faust producer linger (its own: 0)"
    )
    parser.add_argument("--quix-guarantees", default=",".join(QUIX_GUARANTEES))
    parser.add_argument(
        "--commit-interval", type=float, help="Quix commit interval, s (default: Quix's, 5 s)"
    )
    parser.add_argument("--batch", type=int, default=1000, help="confluent loop: consume(batch)")
    parser.add_argument(
        "--warmup", type=int, default=200_000, help="records through the broker first, untimed"
    )
    parser.add_argument("--keep-topics", action="store_true")
    # Internal: run one relay in this process (how the parent launches the in-project ones).
    parser.add_argument("--as-relay", choices=("confluent", "quix"), help=argparse.SUPPRESS)
    parser.add_argument("--in-topic", help=argparse.SUPPRESS)
    parser.add_argument("--out-topic", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument("--guarantee", choices=QUIX_GUARANTEES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.as_relay == "confluent":
        relay_confluent(
            args.bootstrap, args.in_topic, args.out_topic, args.group, args.count, args.batch
        )
        return 0
    if args.as_relay == "quix":
        relay_quix(
            args.bootstrap, args.in_topic, args.out_topic, args.group, args.guarantee,
            args.commit_interval,
        )  # fmt: skip
        return 0

    if unknown := set(args.quix_guarantees.split(",")) - set(QUIX_GUARANTEES):
        parser.error(f"unknown --quix-guarantees {sorted(unknown)}")
    runs = variants(args)
    extra: dict[str, str] = {}
    if any(v.runtime == "faust" for v in runs):
        args.faust_python = find_faust_python(args.faust_python)
        if args.faust_python is None:
            raise SystemExit(
                "faust-streaming is not importable here: pass --faust-python (a python with"
                " faust-streaming installed) or set FAUST_PYTHON"
            )
        extra["faust-streaming"] = faust_facts(args.faust_python)

    with benchlib.broker(args.bootstrap, args.kafka_version) as kafka:
        facts = benchlib.machine_facts(kafka, extra)
        warmed = benchlib.warm_up(kafka.bootstrap, args.warmup)
        print(f"broker warm-up: {args.warmup:,} records in {warmed:.1f}s (untimed)", flush=True)
        results: list[Result] = []
        failures: list[str] = []
        print(
            f"relaying {args.count:,} records of {benchlib.RECORD_BYTES} bytes per runtime,"
            f" {args.partitions} partition(s), timeout {args.timeout:.0f}s per run",
            flush=True,
        )
        for variant in runs:
            try:
                result = run_variant(kafka, variant, args)
            except (RunFailed, KafkaException) as exc:
                failures.append(f"{variant.label}: {exc}")
                print(f"  FAILED {variant.label}: {exc}", file=sys.stderr, flush=True)
                continue
            results.append(result)
            print(
                f"  {variant.label}: {result.relays_per_s:,.0f} relays/s over {result.span_s:.2f}s",
                flush=True,
            )
        print()
        benchlib.print_facts(facts)
        benchlib.print_table(
            [
                "runtime",
                "relays/s",
                "µs/record",
                "CPU µs/record",
                "launch → N visible (s)",
                "records out",
            ],
            [row(r) for r in results]
            + [[f.split(":")[0], "FAILED", "", "", "", ""] for f in failures],
        )
    if short := [r.variant.label for r in results if r.span_s < 1.0]:
        print(f"\nnote: under 1 s of relaying ({', '.join(short)}): raise --count for steady rates")
    if failures:
        print("\n" + "\n".join(f"FAILED {f}" for f in failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
