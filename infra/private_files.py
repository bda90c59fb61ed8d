"""Files that hold secrets (keys, passwords): readable by their owner alone from the start."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["write_private"]


def write_private(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data`, mode 0600 from its creation: a file created and then
    chmod-ed would be readable by others in between."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data.encode() if isinstance(data, str) else data)
