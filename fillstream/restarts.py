"""When a supervised process that exited is started again, and how the restart is reported.

The policy is pure: after an exit, `next_restart` says how many quick exits in a row the
process has now had and how long to wait before starting it again. The wait doubles with each
quick exit (a processor that dies at once on a bad config or an unreachable broker must not
spin), up to a cap; a process that stayed up long enough counts as healthy again, so its next
crash is restarted at once-ish. `Pipeline.supervise` applies it; `fillstream up` and the demo
both use that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import KafkaException, Producer

from fillstream.infra.topic_io import codec, make_producer, send
from fillstream.schemas.models import Metric, MetricKind
from fillstream.schemas.topics import find, key_of
from fillstream.streams.telemetry import worker_id

__all__ = ["Restart", "RestartPolicy", "RestartReport", "next_restart", "restart_metric"]

log = logging.getLogger("fillstream.restarts")


@dataclass(frozen=True)
class RestartPolicy:
    """Seconds: the first wait, the longest wait, and the uptime after which a process's
    exit counts as a first one again."""

    first_delay: float = 0.5
    max_delay: float = 30.0
    stable_after: float = 60.0


def next_restart(policy: RestartPolicy, quick_exits: int, uptime: float) -> tuple[int, float]:
    """After an exit of a process that had `quick_exits` quick exits in a row before this run
    and ran `uptime` seconds: its quick exits now, and the seconds to wait before restarting.

    0.5, 1, 2, 4, 8, 16, 30, 30, ... with the defaults; back to 0.5 after a 60 s run."""
    exits = 1 if uptime >= policy.stable_after else quick_exits + 1
    return exits, min(policy.max_delay, policy.first_delay * 2 ** (exits - 1))


@dataclass(frozen=True)
class Restart:
    """A supervised process started again: `restarts` is its count so far, this one included."""

    name: str
    exit_code: int
    pid: int
    restarts: int
    delay: float

    def line(self) -> str:
        """One line for the console or the log."""
        return f"{self.name} exited (code {self.exit_code}): restarted as pid {self.pid}"


def restart_metric(restart: Restart, supervisor: str, now_us: int) -> Metric:
    """The restart as a record on `metrics`: a counter of the process's restarts, labelled
    with the exit code that caused this one and the supervisor (host:pid) that restarted it."""
    return Metric(
        processor=restart.name.partition("#")[0],
        name="restarts",
        kind=MetricKind.COUNTER,
        value=float(restart.restarts),
        labels={
            "process": restart.name,
            "exit_code": str(restart.exit_code),
            "supervisor": supervisor,
        },
        timestamp=now_us,
    )


class RestartReport:
    """A supervised pipeline's `on_restart`: says the restart in one line (`say`) and
    publishes it on `metrics`. A broker that does not take it costs a warning, never the
    supervisor."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.supervisor = worker_id()
        self._producer: Producer | None = None

    def __call__(self, restart: Restart) -> None:
        self.say(restart.line())
        spec = find("metrics")
        value = restart_metric(restart, self.supervisor, time.time_ns() // 1000).model_dump()
        try:
            self._producer = self._producer or make_producer()
            send(self._producer, spec, codec(spec).encode(value), key_of(spec, value))
            if self._producer.flush(5):
                log.warning("the restart of %s was not published on metrics", restart.name)
        except KafkaException as error:
            log.warning("the restart of %s was not published on metrics: %s", restart.name, error)
