"""CPU time of processes over a window, from /proc/<pid>/stat, as a cost per signal.

A benchmark's latency says how fast; the CPU its processes spend per signal says how much
each signal costs, and so how far the machine's cores can carry a rate. Each process's user
and system time (every thread, in clock ticks) is read at a window's start and end; the
difference over the signals handled in between is the figure. Linux only: elsewhere nothing
is measured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "CLOCK_TICKS",
    "PAGE_SIZE",
    "CpuMeter",
    "CpuPerSignal",
    "ProcessTimes",
    "cpu_per_signal",
    "cpu_percent",
    "parse_stat",
    "parse_statm",
    "read_times",
    "resident_bytes",
    "ticks_between",
    "us_per_signal",
]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # ticks per second
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096  # bytes


@dataclass(frozen=True)
class ProcessTimes:
    """A process's CPU time so far, in clock ticks, and when it started (ticks since boot)."""

    pid: int
    comm: str
    user_ticks: int
    system_ticks: int
    start_ticks: int  # tells a pid reused by another process apart

    @property
    def ticks(self) -> int:
        return self.user_ticks + self.system_ticks


def parse_stat(text: str) -> ProcessTimes:
    """Fields of a /proc/<pid>/stat line (proc(5)): utime (14), stime (15), starttime (22).

    The command name (2) is in parentheses and may itself hold spaces and parentheses, so it
    runs from the first "(" to the last ")", and the other fields are counted after it.
    """
    head, closing, tail = text.rpartition(")")
    pid, opening, comm = head.partition("(")
    fields = tail.split()  # fields[0] is field 3 (state)
    if not closing or not opening or len(fields) < 20:
        raise ValueError(f"not a /proc/<pid>/stat line: {text[:80]!r}")
    return ProcessTimes(
        pid=int(pid),
        comm=comm,
        user_ticks=int(fields[14 - 3]),
        system_ticks=int(fields[15 - 3]),
        start_ticks=int(fields[22 - 3]),
    )


def read_times(pid: int) -> ProcessTimes | None:
    """The process's times now; None if it is gone (or there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
            return parse_stat(stat.read())
    except (OSError, ValueError):
        return None


def ticks_between(before: ProcessTimes | None, after: ProcessTimes | None) -> int | None:
    """Ticks spent from `before` to `after`; None unless both are of one and the same process."""
    if before is None or after is None or before.start_ticks != after.start_ticks:
        return None
    return after.ticks - before.ticks


def cpu_percent(
    ticks: int | None, seconds: float, ticks_per_second: int = CLOCK_TICKS
) -> float | None:
    """The share of one core a process used over `seconds` of wall time, in % (a process
    busy on two cores shows 200, as `top` does); None when nothing was measured."""
    if ticks is None or seconds <= 0:
        return None
    return ticks / ticks_per_second / seconds * 100


def parse_statm(text: str, page_size: int = PAGE_SIZE) -> int:
    """Resident memory in bytes from a /proc/<pid>/statm line (proc(5)): its second field is
    the resident set in pages."""
    fields = text.split()
    if len(fields) < 2:
        raise ValueError(f"not a /proc/<pid>/statm line: {text[:80]!r}")
    return int(fields[1]) * page_size


def resident_bytes(pid: int) -> int | None:
    """The process's resident memory now; None if it is gone (or there is no /proc)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return parse_statm(statm.read())
    except (OSError, ValueError):
        return None


def us_per_signal(
    ticks: int | None, signals: int, ticks_per_second: int = CLOCK_TICKS
) -> float | None:
    """CPU µs per signal; None when nothing was measured or no signal was handled."""
    if ticks is None or signals <= 0:
        return None
    return ticks * 1_000_000 / ticks_per_second / signals


@dataclass(frozen=True)
class CpuPerSignal:
    """A window's CPU per acknowledged signal, in µs: each processor, the broker and their
    total; the bench's own process (the load generator) apart, since a deployment has none.
    None where not measured: `broker` for a cluster other than the local broker, `total` when
    a processor could not be read. `resolution_us` is one clock tick per signal."""

    processors: dict[str, float | None]
    broker: float | None
    total: float | None
    bench: float | None
    resolution_us: float | None


def cpu_per_signal(
    ticks: Mapping[str, int | None],
    processors: list[str],
    broker: str | None,
    bench: str,
    signals: int,
    ticks_per_second: int = CLOCK_TICKS,
) -> CpuPerSignal:
    """Split the window's ticks per named process into the per-signal figures; the total is
    the processors' and (when measured) the broker's, never the bench's."""

    def per_signal(spent: int | None) -> float | None:
        return us_per_signal(spent, signals, ticks_per_second)

    counted = [ticks.get(name) for name in (*processors, *([broker] if broker else []))]
    summed = None if None in counted else sum(t for t in counted if t is not None)
    return CpuPerSignal(
        processors={name: per_signal(ticks.get(name)) for name in processors},
        broker=None if broker is None else per_signal(ticks.get(broker)),
        total=per_signal(summed),
        bench=per_signal(ticks.get(bench)),
        resolution_us=per_signal(1),
    )


class CpuMeter:
    """Reads named processes' times at a window's start and end."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._start: dict[str, ProcessTimes | None] = {}

    def start(self) -> None:
        self._start = {name: read_times(pid) for name, pid in self.pids.items()}

    def stop(self) -> dict[str, int | None]:
        """Ticks each process spent since `start`; None for one that was gone or replaced."""
        return {
            name: ticks_between(self._start.get(name), read_times(pid))
            for name, pid in self.pids.items()
        }
