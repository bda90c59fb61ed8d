"""What `fillstream status` reports: each process `fillstream up` runs, and how it does.

Three sources: the supervisor's record (pid, start, restarts); the heartbeats on `metrics` of
the last seconds, judged by `api/status.py`'s `health` as the API's /health judges them, and
required to come from this very process (a worker is `host:pid`), so a dead worker's last
beats cannot pass for its successor's; and the consumer groups on the broker (the partitions
their members hold, their lag). The API has no heartbeat: it is healthy when its port answers.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from confluent_kafka import KafkaException

from fillstream import settings
from fillstream.api.cluster import Cluster, GroupLag
from fillstream.api.status import HEARTBEAT_TIMEOUT, health
from fillstream.api.view import EngineView, SeriesKey, apply
from fillstream.infra.topic_io import consume, end_offsets, start_offsets
from fillstream.schemas.models import Metric
from fillstream.schemas.topics import find
from fillstream.supervisor_record import SupervisorRecord, is_fillstream_process
from fillstream.ticker import NAME as TICKER

__all__ = ["ProcessStatus", "SystemStatus", "system_status"]

HEARTBEAT_WINDOW = 3 * HEARTBEAT_TIMEOUT  # seconds of `metrics` read back
_UNGROUPED = {"monitor", TICKER}  # in no consumer group: reads from the ends, or nothing


@dataclass(frozen=True)
class ProcessStatus:
    name: str
    pid: int
    alive: bool
    uptime: float | None
    restarts: int
    heartbeat_age: float | None
    partitions: tuple[int, ...] | None
    lag: int | None
    problem: str | None
    """Why it is not healthy; None when it is."""


@dataclass(frozen=True)
class SystemStatus:
    supervisor: int
    bootstrap_servers: str
    broker_reachable: bool
    processes: tuple[ProcessStatus, ...]

    @property
    def healthy(self) -> bool:
        return self.broker_reachable and all(p.problem is None for p in self.processes)


def _recent_series(since_us: int) -> dict[SeriesKey, Metric]:
    """The latest of each `metrics` series among the records stamped since `since_us`."""
    spec, view = find("metrics"), EngineView()
    for item in consume(spec, start=start_offsets(spec, since_us), end=end_offsets(spec)):
        if item.record is not None:
            apply(view, "metrics", item.record)
    return view.series


def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.replace("0.0.0.0", "127.0.0.1"), int(port)), 1):
            return True
    except OSError:
        return False


def system_status(record: SupervisorRecord, now: float | None = None) -> SystemStatus:
    """Every process of `record`, on the cluster and under the topic prefix it runs with,
    as it stands at `now` (epoch seconds; default: once the broker has answered)."""
    environment = {
        "KAFKA_BOOTSTRAP_SERVERS": record.bootstrap_servers,
        "FILLSTREAM_TOPIC_PREFIX": record.topic_prefix,
    }
    processors = sorted({c.name.partition("#")[0] for c in record.children if c.name != "api"})
    lags: dict[str, GroupLag | str] = {}
    assigned: dict[str, tuple[int, ...]] = {}
    series: dict[SeriesKey, Metric] = {}
    with settings.environment(environment):
        cluster = Cluster(timeout=3)
        reachable = cluster.reachable()
        try:
            if reachable:
                series = _recent_series(int((time.time() - HEARTBEAT_WINDOW) * 1e6))
            for processor in set(processors) - _UNGROUPED if reachable else ():
                group = settings.processor_group(processor)
                try:
                    lags[processor] = cluster.group_lag(group)
                    assigned[processor] = tuple(sorted({p for _, p in cluster.assigned(group)}))
                except KafkaException as error:
                    lags[processor] = str(error)
        finally:
            cluster.close()
    now = time.time() if now is None else now
    report = health(now, reachable, processors, series, lags)["processors"]
    host = socket.gethostname()
    rows = []
    for child in record.children:
        alive = not child.waiting and is_fillstream_process(child.pid)
        processor = child.name.partition("#")[0]
        entry = report.get(processor, {})
        lag = entry.get("consumer_lag")
        if not alive:
            problem: str | None = "exited; restarting" if child.waiting else "not running"
        elif child.name == "api":
            problem = None if _answers(record.api or "") else f"{record.api} does not answer"
        elif f"{host}:{child.pid}" not in entry["workers"]:
            problem = "no heartbeat yet"
        elif not entry["healthy"]:
            problem = "heartbeat late"
        else:
            problem = None
        rows.append(
            ProcessStatus(
                name=child.name,
                pid=child.pid,
                alive=alive,
                uptime=now - child.started if alive else None,
                restarts=child.restarts,
                heartbeat_age=entry.get("heartbeat_age_seconds"),
                partitions=assigned.get(processor),
                lag=None if lag is None else lag["total"],
                problem=problem,
            )
        )
    return SystemStatus(record.pid, record.bootstrap_servers, reachable, tuple(rows))
