"""What the API works with: the engine's configuration, its keys, the view of the output
topics, the publishers of its input topics and the cluster; the server builds them from the
environment, tests by hand."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from fillstream.api.cluster import GroupLag
from fillstream.api.security import KeyRing
from fillstream.api.view import EngineView
from fillstream.config import EngineConfig
from fillstream.domain.ids import RecentIds
from fillstream.schemas.models import AccountCorrelation, BatchingProfile, Command, Schedule, Signal

__all__ = ["Cluster", "Services"]


class Cluster(Protocol):
    def reachable(self) -> bool: ...
    def group_lag(self, group: str) -> GroupLag: ...
    def close(self) -> None: ...


@dataclass
class Services:
    """What the API works with; the server builds them from the environment, tests by hand."""

    engine: EngineConfig
    keys: KeyRing
    view: EngineView
    lock: threading.Lock
    cluster: Cluster
    publish_signals: Callable[[list[Signal]], int]
    publish_commands: Callable[[list[Command]], int]
    publish_schedules: Callable[[list[Schedule]], int]
    processors: tuple[str, ...]
    group_of: Callable[[str], str]
    rate_per_second: float = 50.0
    burst: float = 100.0
    clock_us: Callable[[], int] = field(default=lambda: time.time_ns() // 1000)
    monotonic: Callable[[], float] = time.monotonic
    # Orders submitted here that the view may not show yet: order id -> symbol.
    submitted: RecentIds = field(default_factory=RecentIds)
    # Asks the local supervisor for a processor's worker count, answering how many run now
    # (LookupError: no supervisor runs; ValueError: a count it cannot have); None: never asks.
    allocate: Callable[[str, int], int] | None = None
    # Publishes batching profiles on `profiles`; None: this API does not switch them.
    publish_profiles: Callable[[list[BatchingProfile]], int] | None = None
    # Publishes account correlations on `accounts.correlations`; None: this API does not.
    publish_correlations: Callable[[list[AccountCorrelation]], int] | None = None
