"""How many workers of each processor the local supervisor should run, and how it gets there.

Scaling is declarative, as a Deployment's `replicas` is: `fillstream scale desk 3` and
`POST /api/v1/execution/resources/allocate` write the wanted count of a processor into one
small JSON file under the state dir (`workers.json`, written whole and renamed, as the
supervisor's record is), and the supervisor of `fillstream up` reconciles what runs with it
on every turn of its loop: it starts the missing workers (`desk#1`, `desk#2`, …) and stops
the surplus ones with SIGTERM, newest first. Nothing here moves partitions: each new worker
joins the processor's consumer group, and Kafka shares the partitions out again; a worker
that gains a partition restores its state from the changelog, one that stops checkpoints
first (streams/runtime.py). A file rather than a socket or a topic, like the supervisor's
record: whoever shares the state dir can ask (the API is the supervisor's child), a wish
outlives a restart of the supervisor, and there is no server to reach. On a cluster,
the orchestrator scales (infra/k8s/, KEDA on consumer lag) and there is no supervisor to ask.

`plan` is the pure part: from the processes running and the counts wanted, which workers
to start and which to stop.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from fillstream import settings
from fillstream.processors import PROCESSORS
from fillstream.supervisor_record import is_fillstream_process, read_record

__all__ = [
    "SCALABLE",
    "allocate",
    "check_workers",
    "plan",
    "read_wanted",
    "remove_wanted",
    "want",
    "wanted_path",
    "worker_counts",
]

# The processors that share their partitions out in a consumer group; the monitor sees every
# partition (a second one would only repeat its alerts) and the gateway holds venue sessions.
SCALABLE = tuple(PROCESSORS)
# Why the supervisor may run no worker of a processor that scales (fillstream/pipeline.py).
_NOT_RUN = {
    "allocator": (
        "it runs where the configuration declares allocation groups, and this one declares"
        " none; declare `[[allocation_groups]]` and their accounts (docs/ARCHITECTURE.md,"
        ' "Allocation across accounts"), then `fillstream down` and `fillstream up --config'
        " <file>`"
    ),
}


def wanted_path() -> Path:
    return settings.state_dir() / "workers.json"


def check_workers(
    processor: str, workers: int, running: Collection[str] | None = None
) -> str | None:
    """Why `workers` of `processor` cannot be asked for; None when they can. More workers
    than partitions would leave the extra ones idle, holding nothing. `running` are the
    processors the supervisor runs (None: not known here): one it does not run has nothing to
    scale, and the supervisor would wait for it in vain."""
    if processor not in SCALABLE:
        return f"{processor!r} does not scale out; these do: {', '.join(SCALABLE)}"
    if running is not None and processor not in running:
        why = _NOT_RUN.get(processor, "the supervisor was started without it")
        return f"no {processor} runs here to scale: {why}"
    most = settings.partitions()
    if not 1 <= workers <= most:
        return f"workers must be from 1 to {most} (the partitions of its inputs), not {workers}"
    return None


def read_wanted(path: Path | None = None) -> dict[str, int]:
    """The counts asked for, by processor; none (an empty dict) when nothing was asked."""
    try:
        raw = json.loads((path or wanted_path()).read_text())
        return {str(name): int(count) for name, count in raw.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def want(processor: str, workers: int, path: Path | None = None) -> dict[str, int]:
    """Ask for `workers` of `processor` (ValueError if that cannot be, the running supervisor's
    processors considered); all counts wanted now."""
    record = read_record()
    running = None if record is None else worker_counts(c.name for c in record.children)
    why = check_workers(processor, workers, running)
    if why is not None:
        raise ValueError(why)
    path = path or wanted_path()
    wanted = read_wanted(path) | {processor: workers}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(wanted, sort_keys=True) + "\n")
    partial.replace(path)
    return wanted


def allocate(processor: str, workers: int) -> int:
    """Ask the running supervisor for `workers` of `processor`: how many run now (the
    supervisor gets there within a moment). LookupError when no supervisor runs;
    ValueError for a count that cannot be."""
    record = read_record()
    if record is None or not is_fillstream_process(record.pid):
        raise LookupError(
            "no supervisor of `fillstream up` runs here: scale the processors where they run"
            " (on Kubernetes, their Deployments: infra/k8s/)"
        )
    want(processor, workers)
    return worker_counts(child.name for child in record.children).get(processor, 0)


def remove_wanted(path: Path | None = None) -> None:
    (path or wanted_path()).unlink(missing_ok=True)


def _worker(key: str) -> tuple[str, int]:
    """`desk` → (desk, 0); `desk#2` → (desk, 2): the names `Pipeline.start_one` gives."""
    name, _, number = key.partition("#")
    return name, int(number) if number else 0


def worker_counts(keys: Iterable[str]) -> dict[str, int]:
    """How many workers of each processor the process names `keys` hold."""
    counts: dict[str, int] = {}
    for key in keys:
        name = _worker(key)[0]
        counts[name] = counts.get(name, 0) + 1
    return counts


def plan(
    running: Iterable[str], wanted: Mapping[str, int]
) -> tuple[list[tuple[str, int]], list[str]]:
    """(processor, worker number) to start and process names to stop so that each processor
    in `wanted` that runs has its count: new workers take the lowest free numbers, the
    highest numbers stop first, so the worker `up` started is the last to go."""
    numbers: dict[str, set[int]] = {}
    for key in running:
        name, number = _worker(key)
        numbers.setdefault(name, set()).add(number)
    start: list[tuple[str, int]] = []
    stop: list[str] = []
    for name, count in sorted(wanted.items()):
        held = numbers.get(name)
        if not held:
            continue  # not a processor this supervisor runs
        free = (n for n in range(len(held) + count) if n not in held)
        start += [(name, next(free)) for _ in range(count - len(held))]
        surplus = sorted(held, reverse=True)[: max(0, len(held) - count)]
        stop += [name if n == 0 else f"{name}#{n}" for n in surplus]
    return start, stop
