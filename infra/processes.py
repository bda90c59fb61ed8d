"""Whether a recorded pid is still the process that was recorded.

A pid written to a file can outlive its process (a crash, a reboot) and be taken by an
unrelated program, which must never be signalled; and a child its parent does not reap lingers
as a zombie that `kill -0` still sees. Where /proc exists, the process must be live and its
command line must say what it runs; elsewhere only that the pid exists can be told.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["runs"]


def runs(pid: int, command: Callable[[list[str]], bool]) -> bool:
    """Whether `pid` is a live process whose arguments (argv) `command` recognises."""
    if not Path("/proc/self").exists():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    proc = Path("/proc") / str(pid)
    try:
        state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
        argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return state not in ("Z", "X") and command(argv)
