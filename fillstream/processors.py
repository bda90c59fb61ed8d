"""The pipeline's processors by name: which stage each runs, built from the engine config.

Each stage takes its own slice of the configuration; here is where the slices are cut."""

from __future__ import annotations

from collections.abc import Callable

from fillstream.config import EngineConfig
from fillstream.streams.stages import Stage
from fillstream.streams.stages.allocator import AllocatorStage
from fillstream.streams.stages.desk import DeskStage
from fillstream.streams.stages.monitor import MonitorStage
from fillstream.streams.stages.risk import RiskStage
from fillstream.streams.stages.scheduler import SchedulerStage

__all__ = ["PIPELINE", "PROCESSORS", "build_monitor", "build_stage", "running"]

# In pipeline order. The scheduler is partitioned by schedule id, the allocator by allocation
# group, risk by account, the desk by symbol (its stages: streams/stages/desk.py).
PROCESSORS: dict[str, Callable[[EngineConfig], Stage]] = {
    "scheduler": lambda config: SchedulerStage(),
    "allocator": lambda config: AllocatorStage(config.accounts, config.instruments),
    "risk": lambda config: RiskStage(config.risk),
    "desk": lambda config: DeskStage(
        config.venues, config.instruments, config.volume_profiles, config.tca, config.gateway
    ),
}
# What every pipeline runs: the demo, the bench, the tests and the replay harness. `fillstream
# up` runs the scheduler too, beside the ticker that gives it live time; and the allocator
# where the configuration declares allocation groups (fillstream/pipeline.py).
PIPELINE = ("risk", "desk")


def running(config: EngineConfig, *, scheduler: bool = False) -> list[str]:
    """The processors a pipeline under `config` runs, in pipeline order: the allocator where it
    declares allocation groups, the gateway where it names venues, the scheduler on request.
    Whoever starts processors and whoever waits for them to catch up asks here, so that the
    two agree."""
    return [
        *(["scheduler"] if scheduler else []),
        *(["allocator"] if config.accounts.groups else []),
        *PIPELINE,
        *(["gateway"] if config.gateway else []),
    ]


def build_stage(name: str, config: EngineConfig) -> Stage:
    if name not in PROCESSORS:
        raise ValueError(f"unknown processor {name!r}; the pipeline has: {', '.join(PROCESSORS)}")
    return PROCESSORS[name](config)


def build_monitor(config: EngineConfig) -> MonitorStage:
    """The monitor's stage, which watches every processor of the pipeline and the gateway."""
    return MonitorStage(config.monitor, (*PROCESSORS, "gateway"))
