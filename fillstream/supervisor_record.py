"""The record of the running `fillstream up`: its supervisor and the processes it runs.

One small JSON file under the state dir (`settings.supervisor_record()`), rewritten whole
(write, then rename) whenever a process starts, exits or is restarted, so a reader never sees
half of one. `fillstream status` and `fillstream down` read it; `up` refuses while it names a
live supervisor. A record whose supervisor is dead (killed, the machine rebooted) is stale:
readers say so and `down` cleans up after it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from fillstream import settings
from fillstream.infra import processes

__all__ = [
    "Child",
    "SupervisorRecord",
    "is_fillstream_process",
    "read_record",
    "remove_record",
    "write_record",
]


@dataclass(frozen=True)
class Child:
    """A supervised process: `pid` of its current run, started at `started` (epoch seconds);
    `waiting` while it has exited and waits out its restart backoff."""

    name: str
    pid: int
    started: float
    restarts: int
    waiting: bool = False


@dataclass(frozen=True)
class SupervisorRecord:
    pid: int
    started: float
    bootstrap_servers: str
    topic_prefix: str
    broker_started: bool
    """Whether the supervisor started the local broker (and so stops it)."""
    log_dir: str
    api: str | None
    """host:port of the REST API, None when `up --no-api`."""
    ready: bool
    """Every process has been started once."""
    children: tuple[Child, ...] = ()


def write_record(record: SupervisorRecord, path: Path | None = None) -> None:
    path = path or settings.supervisor_record()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(asdict(record), indent=2) + "\n")
    partial.replace(path)


def read_record(path: Path | None = None) -> SupervisorRecord | None:
    """The record, or None if there is none or it cannot be read (then it is no use)."""
    try:
        raw = json.loads((path or settings.supervisor_record()).read_text())
        children = tuple(Child(**child) for child in raw.pop("children"))
        return SupervisorRecord(**raw, children=children)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_record(path: Path | None = None) -> None:
    (path or settings.supervisor_record()).unlink(missing_ok=True)


def is_fillstream_process(pid: int) -> bool:
    """Whether `pid` is a live fillstream process (`python -m fillstream` or the `fillstream`
    script): a recorded pid may be dead, a zombie, or reused by another program since."""
    return processes.runs(
        pid,
        lambda argv: any(arg == "fillstream" or arg.endswith("/fillstream") for arg in argv[:3]),
    )
