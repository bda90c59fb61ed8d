"""The risk monitor's shell: `metrics` and `tca` in, alerts out on `metrics` and in the log.

`fillstream run monitor` runs it (one is enough however many workers the processors have;
`Pipeline.start` starts it with them). It is a live monitor: it reads from the topics' ends as
they are when it starts, and evaluates the thresholds (`streams/monitor.py`) every second on
the wall clock. Each alert that fires or resolves is published once as a `Metric` (processor
`monitor`, gauge `alert`, 1 firing and 0 resolved, labelled with the rule, severity, message
and the alert's own labels) and logged: WARNING when it fires, INFO when it resolves. Like
every processor it publishes its heartbeat and counts what it reads (`streams/telemetry.py`).
"""

from __future__ import annotations

import logging
import threading
import time

from confluent_kafka import Consumer, Message, Producer

from fillstream.infra.topics import ensure_topics
from fillstream.schemas.models import Metric, MetricKind, TcaResult
from fillstream.schemas.serde import RecordCodec, UndecodableRecord
from fillstream.schemas.topics import find, key_of
from fillstream.streams.monitor import (
    Alert,
    AlertKey,
    MonitorConfig,
    MonitorState,
    evaluate,
    forget,
    observe_metric,
    observe_tca,
    transition,
)
from fillstream.streams.processors import PROCESSORS
from fillstream.streams.telemetry import Publisher, Telemetry
from fillstream.topic_io import at_ends, codec, make_producer, send, typed_codec

__all__ = ["run_monitor"]

log = logging.getLogger("fillstream.monitor")

EVALUATE_EVERY_US = 1_000_000
MONITORED = ("metrics", "tca")


def run_monitor(config: MonitorConfig, stop: threading.Event | None = None) -> None:
    """Watch the pipeline until `stop` is set (or forever)."""
    known = {*PROCESSORS, "gateway"}
    for processor in config.max_latency_ms_by_processor:
        if processor not in known:
            raise ValueError(
                f"monitor.max_latency_ms_by_processor: no processor is named {processor!r} "
                f"(there are {', '.join(sorted(known))})"
            )
    stop = stop or threading.Event()
    telemetry = Telemetry("monitor")
    consumer = _consumer_at_ends()
    producer = make_producer()
    publisher = Publisher(telemetry).start()  # the heartbeat says: reading from here on
    try:
        _watch(config, consumer, producer, telemetry, publisher.worker, stop)
    finally:
        publisher.stop()
        consumer.close()
        producer.flush(10)


def _consumer_at_ends() -> Consumer:
    """At the monitored topics' current ends: every monitor sees everything from here on."""
    ensure_topics(find(name) for name in MONITORED)
    return at_ends(find(name) for name in MONITORED)


def _watch(
    config: MonitorConfig,
    consumer: Consumer,
    producer: Producer,
    telemetry: Telemetry,
    worker: str,
    stop: threading.Event,
) -> None:
    metrics = find("metrics")
    decoders = {find(name).full_name: (name, typed_codec(find(name))) for name in MONITORED}
    encoder = codec(metrics)
    state = MonitorState()
    firing: dict[AlertKey, Alert] = {}
    next_evaluation = 0
    while not stop.is_set():
        for message in consumer.consume(500, timeout=0.1):
            if message.error() is None:
                name, decoder = decoders[message.topic()]
                telemetry.records_in.labels(name).inc()
                _observe(state, name, decoder, message)
        now_us = time.time_ns() // 1000
        if now_us < next_evaluation:
            continue
        changes = transition(firing, evaluate(state, now_us, config))
        firing = dict(changes.firing)
        for alert in changes.fired:
            log.warning("alert %s (%s): %s", alert.rule, alert.severity, alert.message)
        for alert in changes.resolved:
            log.info("alert %s (%s) resolved: %s", alert.rule, alert.severity, alert.message)
        announced = [(alert, 1.0) for alert in changes.fired]
        announced += [(alert, 0.0) for alert in changes.resolved]
        for alert, value in announced:
            record = _alert_record(alert, value, worker, now_us).model_dump()
            send(producer, metrics, encoder.encode(record), key_of(metrics, record))
            telemetry.records_out.labels("metrics").inc()
        if announced:
            producer.flush(10)
        forget(state, now_us, config)
        next_evaluation = now_us + EVALUATE_EVERY_US


def _observe(state: MonitorState, topic: str, decoder: RecordCodec, message: Message) -> None:
    """Fold one record in; one that cannot be read is logged and skipped."""
    try:
        record = decoder.decode(message.value())
    except UndecodableRecord as error:
        log.warning("%s record at offset %s skipped: %s", topic, message.offset(), error)
        return
    if isinstance(record, Metric):
        observe_metric(state, record)
    elif isinstance(record, TcaResult):
        observe_tca(state, record, _published_us(message))


def _published_us(message: Message) -> int:
    """The record's Kafka timestamp in µs, else now."""
    kind, ms = message.timestamp()
    return ms * 1000 if kind and ms > 0 else time.time_ns() // 1000


def _alert_record(alert: Alert, value: float, worker: str, now_us: int) -> Metric:
    """The alert as ops read it on `metrics`: 1 when it fires, 0 when it resolves."""
    message = alert.message if value else f"resolved: {alert.message}"
    return Metric(
        processor="monitor",
        name="alert",
        kind=MetricKind.GAUGE,
        value=value,
        labels={
            **alert.labels,
            "rule": str(alert.rule),
            "severity": str(alert.severity),
            "message": message,
            "worker": worker,
        },
        timestamp=now_us,
    )
