"""What a `fillstream bench` run does: its phases, rates, guarantee and batching profiles."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fillstream.schemas.models import OptimizationTarget

__all__ = ["PATH", "BenchPlan", "Guarantee"]


class Guarantee(StrEnum):
    EXACTLY_ONCE = "exactly-once"
    AT_LEAST_ONCE = "at-least-once"


# Processors a signal crosses before its acknowledgement is on `fills`: under exactly-once,
# each one's output becomes readable only when its transaction commits.
PATH = ("risk", "desk")


@dataclass(frozen=True)
class BenchPlan:
    """What to run. Ramp steps go up from `ramp_start` by `ramp_step` and stop at the first
    step whose acks did not keep pace, or after `max_steps`."""

    rates: tuple[int, ...] = (100, 1000)
    duration: float = 10.0
    warmup: int = 100
    ramp_start: int = 2000
    ramp_step: int = 2000
    max_steps: int = 5
    step_duration: float = 5.0
    drain: float = 5.0
    pace_threshold: float = 0.95
    guarantee: Guarantee = Guarantee.AT_LEAST_ONCE
    commit_interval: float = 0.5
    tick_interval: float = 0.005
    core_repeats: int = 5
    # Batching profiles to run the latency and sustained phases under, in turn (none: the
    # configured batching only).
    profiles: tuple[OptimizationTarget, ...] = ()

    def __post_init__(self) -> None:
        positive = {
            "rate": min(self.rates, default=1),
            "duration": self.duration,
            "step duration": self.step_duration,
            "tick interval": self.tick_interval,
            "commit interval": self.commit_interval,
        }
        if self.max_steps > 0:
            positive["ramp start"] = self.ramp_start
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"the {name} must be above 0, not {value}")
        if min(self.warmup, self.ramp_step, self.max_steps, self.drain, self.core_repeats) < 0:
            raise ValueError("warm-up, ramp step, steps, drain and core repeats cannot be negative")

    def ramp(self) -> list[int]:
        return [self.ramp_start + n * self.ramp_step for n in range(self.max_steps)]
