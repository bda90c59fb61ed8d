"""The risk monitor's stage: `metrics` and `tca` in, alerts out on `metrics` and in the log.

It runs on the processor loop like every processor (`fillstream run monitor`), as one shard
over every partition of its inputs (`sees_all`), starting at their ends: a live monitor sees
the pipeline from when it starts. The thresholds are `streams/monitor.py`'s, evaluated at most
once a second of event time. Its clock is the records it reads, its own heartbeat among them
(every processor's telemetry beats every second on `metrics`), so a silent pipeline is still
judged every second. It does not judge itself: its own figures (the latency of its reading of
telemetry, say) could only alert about the monitor, which a dead one cannot tell. Each alert
that fires or resolves is published once as a `Metric` (processor `monitor`, gauge `alert`, 1
firing and 0 resolved, labelled with the rule, severity, message and the alert's own labels)
and logged: WARNING when it fires, INFO when it resolves.

Its window is not saved (`durable` is empty): a restarted monitor goes on from where its inputs
stood and judges from there, as a newly started one does.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from fillstream.schemas.models import Metric, MetricKind, TcaResult
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
from fillstream.streams.stages import Emit

__all__ = ["MonitorStage"]

log = logging.getLogger("fillstream.monitor")

EVALUATE_EVERY_US = 1_000_000


class MonitorStage:
    inputs = ("metrics", "tca")
    outputs = ("metrics",)
    durable = ()
    sees_all = True

    def __init__(self, config: MonitorConfig, processors: Collection[str]) -> None:
        """`processors`: the pipeline's, which `max_latency_ms_by_processor` may name."""
        known = set(processors)
        for processor in config.max_latency_ms_by_processor:
            if processor not in known:
                raise ValueError(
                    f"monitor.max_latency_ms_by_processor: no processor is named {processor!r} "
                    f"(there are {', '.join(sorted(known))})"
                )
        self.config = config
        self.state = MonitorState()
        self.firing: dict[AlertKey, Alert] = {}
        self.now_us = 0  # the latest event time read: records of several partitions interleave
        self.next_evaluation = 0

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if topic == "metrics":
            metric: Metric = record
            if metric.processor != "monitor":  # its own figures only keep its time
                observe_metric(self.state, metric)
        else:
            result: TcaResult = record
            observe_tca(self.state, result, now_us)
        self.now_us = max(self.now_us, now_us)
        if self.now_us < self.next_evaluation:
            return []
        self.next_evaluation = self.now_us + EVALUATE_EVERY_US
        return self._evaluate(self.now_us)

    def _evaluate(self, now_us: int) -> list[Emit]:
        changes = transition(self.firing, evaluate(self.state, now_us, self.config))
        self.firing = dict(changes.firing)
        for alert in changes.fired:
            log.warning("alert %s (%s): %s", alert.rule, alert.severity, alert.message)
        for alert in changes.resolved:
            log.info("alert %s (%s) resolved: %s", alert.rule, alert.severity, alert.message)
        forget(self.state, now_us, self.config)
        announced = [(alert, 1.0) for alert in changes.fired]
        announced += [(alert, 0.0) for alert in changes.resolved]
        return [Emit("metrics", _alert_record(alert, value, now_us)) for alert, value in announced]


def _alert_record(alert: Alert, value: float, now_us: int) -> Metric:
    """The alert as ops read it on `metrics`: 1 when it fires, 0 when it resolves. Nothing in
    it names the worker: the same records, read again after a restart, announce it alike."""
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
        },
        timestamp=now_us,
    )
