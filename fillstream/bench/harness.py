"""The run on the broker: every processor as a process, on topics of a prefix of its own.

The topics are deleted at the end; the engine config has one simulated venue and limits no
signal reaches: it measures the pipeline, not refusals. Market data goes in through the live
feeder (`pipeline.feed`), as in the demo. Signals are small IOC orders at the touch, so the
venue acknowledges and fills each at once and nothing rests. Latency is wall time from
sending a signal to reading its first execution report (read-committed) on `fills`; the
simulated venue moves its clock only with its inputs, so a punctuator publishes clock ticks
at wall time, as a deployment's would, and the bench counts the acknowledgements that had to
wait for one. A rate is sustained when every signal is acknowledged within the drain time and
acknowledgements arrive at no less than 95% of the offered rate, first to last (so a steady
latency is no shortfall, a growing backlog is).
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition
from rich.console import Console

from fillstream import control, settings
from fillstream.bench.cores import core_costs
from fillstream.bench.machine import cpu_model
from fillstream.bench.plan import PATH, BenchPlan, Guarantee
from fillstream.bench.render import show_header, show_phase
from fillstream.bench.report import BenchReport, PhaseResult
from fillstream.bench.stats import Percentiles, kept_pace, rate_over
from fillstream.bench.workload import engine_toml, market, signal_templates, wall_clock_us
from fillstream.config import load_config
from fillstream.infra import demo_broker, topics
from fillstream.infra.cpu import CLOCK_TICKS, CpuMeter, cpu_per_signal
from fillstream.infra.topic_io import codec, make_producer, send
from fillstream.pipeline import Pipeline, Watcher, delete_run, feed
from fillstream.records_written import RecordsMeter
from fillstream.schemas.models import ClockTick, OptimizationTarget
from fillstream.schemas.topics import CATALOG, find, key_of
from fillstream.settings.kafka_client import client_config

__all__ = ["run_bench"]

SIGNAL_LINGER_MS = 1  # the strategy's producer: a signal waits at most this long to be sent
BROKER, BENCH = "broker", "bench"  # besides the processors, the processes whose CPU is read
WARMUP_DRAIN = 60.0  # seconds: first records meet cold caches, new transactions and state stores


@dataclass(frozen=True)
class _Answer:
    received_us: int
    exec_type: str
    venue_time_us: int


class _Listener(threading.Thread):
    """Notes, per signal, when its first execution report (or its rejection) was read.

    A thread of its own, so a report is stamped when it is read, not when the sender is idle.
    """

    def __init__(self) -> None:
        super().__init__(name="bench-listener", daemon=True)
        self.first: dict[str, _Answer] = {}
        self.refused: dict[str, str] = {}
        self._done = threading.Event()
        self._consumer = Consumer(
            client_config(
                {
                    "group.id": f"{settings.topic_prefix()}fillstream-bench",
                    "enable.auto.commit": False,
                    "isolation.level": "read_committed",
                    "fetch.wait.max.ms": 5,
                }
            )
        )
        specs = [find("fills"), find("orders.rejected")]
        self._codecs = {spec.full_name: codec(spec) for spec in specs}
        metadata = self._consumer.list_topics(timeout=10).topics
        self._consumer.assign(
            [
                TopicPartition(spec.full_name, p, OFFSET_BEGINNING)
                for spec in specs
                for p in metadata[spec.full_name].partitions
            ]
        )
        self._fills = find("fills").full_name
        self.error: KafkaError | None = None

    def answered(self, signal_id: str) -> bool:
        return signal_id in self.first or signal_id in self.refused

    def run(self) -> None:
        try:
            while not self._done.is_set():
                # poll, not consume: a batch would wait for its count or its whole timeout
                message = self._consumer.poll(0.05)
                if message is not None:
                    self._note(message, wall_clock_us())
        finally:
            self._consumer.close()

    def _note(self, message: Message, received_us: int) -> None:
        if message.error():
            self.error = message.error()
            return
        record = self._codecs[message.topic()].decode(message.value())
        signal_id = record["signal_id"]
        if message.topic() == self._fills:
            if signal_id not in self.first:
                self.first[signal_id] = _Answer(
                    received_us, record["exec_type"], record["timestamp"]
                )
        else:
            self.refused.setdefault(signal_id, record["reason_code"])

    def stop(self) -> None:
        self._done.set()
        self.join(10)


class _Clock(threading.Thread):
    """The punctuator: a tick at wall time to every partition of `clock`, every `interval`."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="bench-clock", daemon=True)
        self.interval = interval
        self.ticks = 0
        self._done = threading.Event()
        self._spec = find("clock")
        self._encoder = codec(self._spec)
        self._producer = make_producer(**{"linger.ms": 0})
        name = self._spec.full_name
        self._partitions = sorted(
            self._producer.list_topics(name, timeout=10).topics[name].partitions
        )

    def run(self) -> None:
        while not self._done.wait(self.interval):
            now_us = wall_clock_us()
            for partition in self._partitions:
                value = ClockTick(partition=partition, sequence=self.ticks, timestamp=now_us)
                tick = value.model_dump()
                self._producer.produce(
                    self._spec.full_name,
                    value=self._encoder.encode(tick),
                    key=key_of(self._spec, tick),
                    partition=partition,
                    timestamp=now_us // 1000,
                )
            self._producer.poll(0)
            self.ticks += 1
        self._producer.flush(10)

    def stop(self) -> None:
        self._done.set()
        self.join(15)


class _Run:
    """Sends the phases' signals and reads what came back for them, and what they cost."""

    def __init__(
        self,
        plan: BenchPlan,
        pipeline: Pipeline,
        listener: _Listener,
        progress: Callable[[str], None],
        broker_pid: int | None = None,
    ) -> None:
        self.plan, self.pipeline, self.listener, self.progress = plan, pipeline, listener, progress
        self.templates = signal_templates()
        self.spec = find("signals")
        self.encoder = codec(self.spec)
        self.producer = make_producer(**{"linger.ms": SIGNAL_LINGER_MS})
        self.undelivered = 0
        self.processors = sorted(pipeline.processes)
        pids = {name: process.pid for name, process in pipeline.processes.items()}
        pids[BENCH] = os.getpid()
        if broker_pid is not None:
            pids[BROKER] = broker_pid
        self.broker = None if broker_pid is None else BROKER
        self.cpu = CpuMeter(pids)
        self.records = RecordsMeter(
            settings.topic_prefix(), transactional=plan.guarantee is Guarantee.EXACTLY_ONCE
        )

    def _delivered(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self.undelivered += 1

    def send(self, label: str, rate: int, count: int) -> dict[str, int]:
        """`count` signals paced at `rate` per second; their ids and send times (µs)."""
        sent: dict[str, int] = {}
        start = time.perf_counter()
        next_check = start
        for n in range(count):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            signal_id = f"{label}-{n}"
            now_us = wall_clock_us()
            value = self.templates[n % len(self.templates)] | {
                "signal_id": signal_id,
                "created_at": now_us,
            }
            send(
                self.producer,
                self.spec,
                self.encoder.encode(value),
                key_of(self.spec, value),
                timestamp=now_us // 1000,
                on_delivery=self._delivered,
            )
            self.producer.poll(0)
            sent[signal_id] = now_us
            if time.perf_counter() >= next_check:
                next_check += 0.25
                self.pipeline.check_alive()
                acked = sum(1 for s in sent if s in self.listener.first)
                self.progress(
                    f"{label}: {rate:,} signals/s, sent {n + 1:,} of {count:,}, "
                    f"{acked:,} acknowledged"
                )
        self.producer.flush(30)
        return sent

    def drain(self, label: str, sent: Mapping[str, int], seconds: float) -> None:
        """Wait until every signal is answered, at most `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            waiting = sum(1 for s in sent if not self.listener.answered(s))
            if waiting == 0:
                return
            self.progress(f"{label}: waiting for {waiting:,} answers")
            self.pipeline.check_alive()
            time.sleep(0.05)

    def phase(
        self, kind: str, rate: int, seconds: float, profile: OptimizationTarget | None = None
    ) -> PhaseResult:
        """Send and drain one phase; its window for CPU and records is exactly that."""
        label = {"warmup": "w", "latency": "l", "sustained": "s"}[kind] + str(rate)
        label += "" if profile is None else f"-{profile.value}"
        count = max(1, round(rate * seconds))
        self.undelivered = 0
        self.records.start()
        self.cpu.start()
        sent = self.send(label, rate, count)
        self.drain(label, sent, WARMUP_DRAIN if kind == "warmup" else self.plan.drain)
        ticks = self.cpu.stop()
        written = self.records.stop()
        result = self.result(kind, rate, count / rate, sent)
        result.profile = None if profile is None else profile.value
        result.cpu_us_per_signal = cpu_per_signal(
            ticks, self.processors, self.broker, BENCH, result.acked
        )
        self.progress(f"{label}: counting the records written")
        result.records_per_signal = self.records.per_signal(written, result.acked)
        return result

    def result(self, kind: str, rate: int, seconds: float, sent: Mapping[str, int]) -> PhaseResult:
        # copies: the listener thread goes on adding answers while this counts them
        first, refused = dict(self.listener.first), dict(self.listener.refused)
        acks = {s: first[s] for s in sent if s in first and first[s].exec_type == "ack"}
        latencies = [(acks[s].received_us - sent[s]) / 1000 for s in acks]
        ack_rate = rate_over([a.received_us / 1e6 for a in acks.values()])
        without = [s for s in sent if s not in acks]
        return PhaseResult(
            kind=kind,
            offered_rate=rate,
            seconds=seconds,
            signals=len(sent),
            sent_rate=rate_over([t / 1e6 for t in sent.values()]),
            acked=len(acks),
            ack_rate=ack_rate,
            latency_ms=Percentiles.of(latencies) if latencies else None,
            no_report=sum(1 for s in without if s not in first and s not in refused),
            first_report_not_ack=dict(Counter(first[s].exec_type for s in without if s in first)),
            refused=dict(Counter(refused[s] for s in without if s in refused and s not in first)),
            undelivered=self.undelivered,
            no_ack_examples=without[:10],
            waited_for_tick=sum(1 for s, a in acks.items() if a.venue_time_us <= sent[s]),
            kept_pace=kept_pace(rate, ack_rate, len(without), self.plan.pace_threshold),
        )


def run_bench(plan: BenchPlan, console: Console) -> BenchReport:
    """Run the whole benchmark: broker, topics, processors, phases, clean-up, then the cores."""
    from fillstream.demo import ensure_broker

    ensure_broker(console)
    broker_pid = _local_broker_pid()
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    workdir = Path(tempfile.mkdtemp(prefix="fillstream-bench-"))
    (workdir / "engine.toml").write_text(engine_toml())
    load_config(workdir / "engine.toml")  # refuse a broken config before starting anything
    environment = {
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers(),  # found before state moves
        "FILLSTREAM_TOPIC_PREFIX": prefix,
        "FILLSTREAM_STATE_DIR": str(workdir / "state"),  # processor state dies with the run
        "FILLSTREAM_PROCESSING_GUARANTEE": plan.guarantee.value,
        "FILLSTREAM_COMMIT_INTERVAL": str(plan.commit_interval),
    }
    report = BenchReport(
        machine={
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        settings={
            "kafka": environment["KAFKA_BOOTSTRAP_SERVERS"],
            "topic_prefix": prefix,
            "partitions": settings.partitions(),
            "processing_guarantee": plan.guarantee.value,
            "commit_interval_s": plan.commit_interval,
            "transactional_hops": len(PATH) if plan.guarantee is Guarantee.EXACTLY_ONCE else 0,
            "clock_tick_interval_s": plan.tick_interval,
            "signal_producer_linger_ms": SIGNAL_LINGER_MS,
            "drain_s": plan.drain,
            "pace_threshold": plan.pace_threshold,
            "broker_pid": broker_pid,  # None: not the local broker, its CPU is not measured
            "cpu_clock_ticks_per_s": CLOCK_TICKS,
        },
    )
    show_header(report, console)
    failed = True
    with settings.environment(environment):
        try:
            _run_pipeline(plan, report, workdir, console, broker_pid)
            failed = False
        finally:
            with console.status("Deleting the run's topics…"):
                deleted, failures = delete_run(prefix)
            console.print(f"Deleted {deleted} topics of prefix {prefix}")
            for failure in failures:
                console.print(f"[red]Not deleted:[/] {failure}")
            if failed or not report.complete():
                console.print(f"[red]Signals went unanswered;[/] processor logs in {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    if plan.core_repeats > 0:
        with console.status("Timing the pure cores…") as status:
            for cost in core_costs(plan.core_repeats):
                report.cores.append(cost)
                status.update(f"Timing the pure cores… {cost.name}: {cost.median_us:.2f} µs")
    return report


def _local_broker_pid() -> int | None:
    """The local broker's pid when the bench talks to it; None for any other cluster, whose
    processes this machine may not even run."""
    status = demo_broker.local_status()
    if status.running and status.bootstrap_servers == settings.bootstrap_servers():
        return status.pid
    return None


def _run_pipeline(
    plan: BenchPlan,
    report: BenchReport,
    workdir: Path,
    console: Console,
    broker_pid: int | None = None,
) -> None:
    topics.ensure_topics(CATALOG)
    pipeline = Pipeline(config=workdir / "engine.toml", log_dir=workdir / "logs")
    pipeline.start()
    try:
        watcher = Watcher([spec.name for spec in CATALOG if spec.name not in ("metrics", "tca")])
        try:
            with console.status("Starting the processors and feeding market data…"):
                feed(market(wall_clock_us()), [], [])
                watcher.settle(timeout=120, pipeline=pipeline)
        finally:
            watcher.close()
        listener, clock = _Listener(), _Clock(plan.tick_interval)
        listener.start()
        clock.start()
        try:
            with console.status("") as status:
                run = _Run(plan, pipeline, listener, status.update, broker_pid)
                phases = [("warmup", 100, plan.warmup / 100, None)] if plan.warmup else []
                for profile in plan.profiles or (None,):
                    if profile is not None:  # switched, then settled by a short warm-up
                        _switch(profile)
                        phases.append(("warmup", 100, PROFILE_SETTLE_S, profile))
                    phases += [("latency", rate, plan.duration, profile) for rate in plan.rates]
                    phases += [
                        ("sustained", rate, plan.step_duration, profile) for rate in plan.ramp()
                    ]
                    if not _phases(run, phases, report, console):
                        break
                    phases = []
        finally:
            clock.stop()
            listener.stop()
        if listener.error is not None:
            console.print(f"[yellow]The listener read an error: {listener.error}[/]")
        report.settings["clock_ticks"] = clock.ticks
    finally:
        pipeline.stop()


PROFILE_SETTLE_S = 3.0  # seconds at 100/s after a profile switch, before its phases


def _switch(target: OptimizationTarget) -> None:
    """Publish the batching profile `target`: each processor applies it at its next commit."""
    control.publish_profiles([control.batching_profile(target, control.stamp(), "bench")])


def _phases(
    run: _Run,
    phases: list[tuple[str, int, float, OptimizationTarget | None]],
    report: BenchReport,
    console: Console,
) -> bool:
    """Run `phases` in turn, up to the first sustained step that lags; False if a processor
    exited, with what was measured reported."""
    for kind, rate, seconds, profile in phases:
        try:
            result = run.phase(kind, rate, seconds, profile)
        except RuntimeError as error:  # a processor exited: report what was measured
            report.failure = f"{error} during {kind} {rate:,}/s"
            console.print(f"[red]{report.failure}[/]")
            return False
        report.phases.append(result)
        show_phase(console, result)
        if kind == "sustained" and not result.kept_pace:
            break
    return True
