"""Finding fillstream's processes as a user would with `ps`, for tests that kill them."""

from __future__ import annotations

from pathlib import Path


def fillstream_children(parent: int) -> dict[str, int]:
    """The processes `parent` started with `python -m fillstream ARGS`, by their first two
    arguments (`run desk`, `api`, ...)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ppid = int((proc / "stat").read_text().rpartition(")")[2].split()[1])
            argv = (proc / "cmdline").read_bytes().decode().split("\0")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if ppid == parent and argv[1:3] == ["-m", "fillstream"]:
            found[" ".join(argv[3:5]) if argv[3] == "run" else argv[3]] = int(proc.name)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, exited but not reaped, does not count)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False
