"""A bench run's figures: each phase's result, the targets, and the figures as JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from fillstream.bench.cores import CoreCost
from fillstream.bench.stats import Percentiles
from fillstream.infra.cpu import CpuPerSignal
from fillstream.records_written import RecordsPerSignal

__all__ = ["BenchReport", "PhaseResult", "highest_sustained", "targets", "to_json"]


@dataclass
class PhaseResult:
    """One run of signals at one offered rate, and what came back."""

    kind: str  # warmup, latency or sustained
    offered_rate: int
    seconds: float
    signals: int
    sent_rate: float
    acked: int
    ack_rate: float
    latency_ms: Percentiles | None
    no_report: int  # nothing on fills or orders.rejected within the drain time
    first_report_not_ack: dict[str, int]  # exec type of a first report that was no ack
    refused: dict[str, int]  # reason code on orders.rejected
    undelivered: int  # the broker did not take the signal
    no_ack_examples: list[str]
    waited_for_tick: int  # acks the venue gave only when a clock tick moved its time
    kept_pace: bool
    cpu_us_per_signal: CpuPerSignal | None = None  # from the first signal sent to the drain's end
    records_per_signal: RecordsPerSignal | None = None  # over the same window
    profile: str | None = None  # the batching profile in force, where one was asked for

    @property
    def name(self) -> str:
        return self.kind if self.profile is None else f"{self.kind} ({self.profile})"

    @property
    def without_ack(self) -> int:
        return self.signals - self.acked


@dataclass
class BenchReport:
    machine: dict[str, Any]
    settings: dict[str, Any]
    phases: list[PhaseResult] = field(default_factory=list)
    cores: list[CoreCost] = field(default_factory=list)
    failure: str | None = None  # why the phases stopped early, e.g. a processor died

    @property
    def sustained_rate(self) -> int | None:
        return highest_sustained(self.phases)

    def latency_at(self, rate: int) -> PhaseResult | None:
        return next(
            (p for p in self.phases if p.kind == "latency" and p.offered_rate == rate), None
        )

    def complete(self) -> bool:
        """Every warm-up and latency signal acknowledged: anything else is a pipeline fault."""
        return self.failure is None and all(
            p.without_ack == 0 for p in self.phases if p.kind != "sustained"
        )


def highest_sustained(results: Sequence[PhaseResult]) -> int | None:
    """The highest offered rate at which acks kept pace (warm-up excluded)."""
    rates = [r.offered_rate for r in results if r.kind != "warmup" and r.kept_pace]
    return max(rates, default=None)


def targets(report: BenchReport) -> dict[str, dict[str, Any]]:
    targets: dict[str, dict[str, Any]] = {}
    at_1000 = report.latency_at(1000)
    if at_1000 is not None and at_1000.latency_ms is not None:
        p99 = at_1000.latency_ms.p99
        targets["p99_ms_at_1000"] = {
            "target": 20,
            "value": p99,
            "met": p99 <= 20 and at_1000.without_ack == 0,
            "text": f"p99 at 1,000 signals/s {p99:.1f} ms (target ≤ 20 ms)",
        }
    if report.phases:
        rate = report.sustained_rate
        targets["sustained_rate"] = {
            "target": 5000,
            "value": rate,
            "met": rate is not None and rate >= 5000,
            "text": f"highest sustained rate {'none' if rate is None else f'{rate:,}'} "
            "signals/s (target ≥ 5,000)",
        }
    risk = next((c for c in report.cores if c.name.startswith("risk")), None)
    if risk is not None:
        targets["risk_check_us"] = {
            "target": 10,
            "value": risk.median_us,
            "met": risk.median_us <= 10,
            "text": f"risk check {risk.median_us:.2f} µs per signal (target ≤ 10 µs)",
        }
    return targets


def to_json(report: BenchReport) -> dict[str, Any]:
    """The figures as plain JSON values (latencies in ms, rates per second, costs in µs)."""
    phases = []
    for p in report.phases:
        phase = asdict(p)
        phase["without_ack"] = p.without_ack
        for rate in ("sent_rate", "ack_rate"):  # all at one instant: no finite rate (JSON has none)
            phase[rate] = phase[rate] if math.isfinite(phase[rate]) else None
        phases.append(phase)
    return {
        "machine": report.machine,
        "settings": report.settings,
        "phases": phases,
        "sustained_rate": report.sustained_rate,
        "failure": report.failure,
        "cores": [
            {
                "name": c.name,
                "median_us": c.median_us,
                "min_us": min(c.timings_us),
                "max_us": max(c.timings_us),
                "case": c.case,
            }
            for c in report.cores
        ],
        "targets": {
            name: {k: v for k, v in line.items() if k != "text"}
            for name, line in targets(report).items()
        },
    }
