"""Each processor's workers as their figures on `metrics` describe them (pure).

A worker is `host:pid` (its `worker` label). It is listed while its heartbeat is fresh (the
health's `HEARTBEAT_TIMEOUT`): the view keeps every series it ever saw, a stopped worker's
among them. Beside the heartbeat, each worker publishes its CPU and resident memory every
second and, every metrics interval, which partitions it holds (`partition_assigned`, 1 or 0
per partition) and its group's lag per partition (streams/telemetry.py). A worker's lag is
the lag of the partitions it holds; a processor's CPU and memory are its workers' sums.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fillstream.api.status import HEARTBEAT_TIMEOUT
from fillstream.api.view import SeriesKey
from fillstream.schemas.models import Metric

__all__ = ["processor_usage", "workers"]


@dataclass
class _Worker:
    heartbeat: float = 0.0
    cpu_percent: float | None = None
    resident_memory_bytes: int | None = None
    assigned: dict[int, bool] = field(default_factory=dict)
    lag: dict[tuple[str, int], float] = field(default_factory=dict)

    def partitions(self) -> list[int] | None:
        """The partitions held; None before the worker has said (it is not in the group yet,
        or its first figures are still to come)."""
        return sorted(p for p, held in self.assigned.items() if held) if self.assigned else None


def _collect(series: Mapping[SeriesKey, Metric]) -> dict[str, dict[str, _Worker]]:
    found: dict[str, dict[str, _Worker]] = {}
    for (processor, name, labels), metric in series.items():
        tags = dict(labels)
        if "worker" not in tags:
            continue
        worker = found.setdefault(processor, {}).setdefault(tags["worker"], _Worker())
        if name == "heartbeat":
            worker.heartbeat = metric.value
        elif name == "process_cpu_percent":
            worker.cpu_percent = metric.value
        elif name == "process_resident_memory_bytes":
            worker.resident_memory_bytes = int(metric.value)
        elif name == "partition_assigned":
            worker.assigned[int(tags["partition"])] = metric.value > 0
        elif name == "consumer_lag":
            worker.lag[tags["topic"], int(tags["partition"])] = metric.value
    return found


def _live(workers: Mapping[str, _Worker], now_s: float) -> dict[str, _Worker]:
    return {
        name: worker
        for name, worker in sorted(workers.items())
        if now_s - worker.heartbeat < HEARTBEAT_TIMEOUT
    }


def workers(
    now_s: float, processors: Iterable[str], series: Mapping[SeriesKey, Metric]
) -> dict[str, list[dict[str, Any]]]:
    """Each processor's live workers: host, pid, partitions, lag, CPU %, resident memory."""
    found = _collect(series)
    listing: dict[str, list[dict[str, Any]]] = {}
    for processor in processors:
        entries = []
        for name, worker in _live(found.get(processor, {}), now_s).items():
            host, _, pid = name.rpartition(":")
            partitions = worker.partitions()
            lag = (
                None
                if partitions is None
                else int(sum(v for (_, p), v in worker.lag.items() if p in partitions))
            )
            entries.append(
                {
                    "worker": name,
                    "host": host,
                    "pid": int(pid) if pid.isdigit() else None,
                    "partitions": partitions,
                    "lag": lag,
                    "cpu_percent": worker.cpu_percent,
                    "resident_memory_bytes": worker.resident_memory_bytes,
                    "heartbeat_age_seconds": now_s - worker.heartbeat,
                }
            )
        listing[processor] = entries
    return listing


def processor_usage(
    now_s: float, processors: Iterable[str], series: Mapping[SeriesKey, Metric]
) -> dict[str, dict[str, Any]]:
    """Each processor's live workers, and the CPU % and resident memory they use together
    (None when none of them has reported it)."""
    usage = {}
    for processor, entries in workers(now_s, processors, series).items():
        cpu = [e["cpu_percent"] for e in entries if e["cpu_percent"] is not None]
        memory = [e["resident_memory_bytes"] for e in entries]
        memory = [m for m in memory if m is not None]
        usage[processor] = {
            "workers": len(entries),
            "cpu_percent": sum(cpu) if cpu else None,
            "resident_memory_bytes": sum(memory) if memory else None,
        }
    return usage
