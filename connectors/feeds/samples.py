"""Where the recorded sample data lives: for tests, benchmarks and demos, never shipped.

The files (Binance, AlgoSeek, Bybit, FTX recordings) belong to their sources and stay out of
the repository, in a `shared/data` folder beside the checkout; `FILLSTREAM_SAMPLE_DATA` points
elsewhere. Callers skip, not fail, when a file is missing, since users without it rely on
the synthetic feed.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENVIRONMENT_VARIABLE", "sample_dir", "sample_file"]

ENVIRONMENT_VARIABLE = "FILLSTREAM_SAMPLE_DATA"


def sample_dir() -> Path:
    """`$FILLSTREAM_SAMPLE_DATA`, else `shared/data` next to the checkout."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def sample_file(name: str) -> Path | None:
    """The sample file `name`, or None when this machine does not have it."""
    path = sample_dir() / name
    return path if path.is_file() else None
