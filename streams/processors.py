"""The pipeline's processors by name: which stage each runs, built from the engine config."""

from __future__ import annotations

from collections.abc import Callable

from fillstream.config import EngineConfig
from fillstream.streams.execution.parents import Rules
from fillstream.streams.stages import Stage
from fillstream.streams.stages.executor import ExecutorStage
from fillstream.streams.stages.oms import OmsStage
from fillstream.streams.stages.risk import RiskStage
from fillstream.streams.stages.router import RouterStage
from fillstream.streams.stages.tca import TcaStage
from fillstream.streams.stages.venue import VenueStage

__all__ = ["PROCESSORS", "build_stage"]

PROCESSORS: dict[str, Callable[[EngineConfig], Stage]] = {
    "risk": lambda config: RiskStage(config.risk),
    "router": RouterStage,
    "executor": lambda config: ExecutorStage(
        Rules(config.instruments, dict(config.volume_profiles))
    ),
    "venue": VenueStage,
    "oms": lambda _config: OmsStage(),
    "tca": lambda config: TcaStage(config.tca),
}


def build_stage(name: str, config: EngineConfig) -> Stage:
    if name not in PROCESSORS:
        raise ValueError(f"unknown processor {name!r}; the pipeline has: {', '.join(PROCESSORS)}")
    return PROCESSORS[name](config)
