"""An engine configuration with three accounts in one allocation group, for the allocator's
tests: the demo's (fillstream/demo_accounts.toml, fund-a, fund-b, fund-c in group `funded`)."""

from __future__ import annotations

from pathlib import Path

from fillstream.config import EngineConfig, load_config
from fillstream.demo import with_accounts


def write_config(directory: Path, extra: str = "") -> Path:
    """The shipped configuration with the three accounts (and `extra`), as a file."""
    return with_accounts(directory, extra)


def accounts_config(directory: Path, extra: str = "") -> EngineConfig:
    return load_config(write_config(directory, extra))
