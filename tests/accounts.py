"""An engine configuration with three accounts in one allocation group, for the allocator's
tests: the shipped configuration plus the tables below."""

from __future__ import annotations

from pathlib import Path

from fillstream.config import DEFAULT_CONFIG, EngineConfig, load_config

# Capacities (adverse move 0.05, leverage 1, nothing from risk yet): fund-a min(100,000,
# 20 x 1,000) = 20,000; fund-b min(30,000, 20 x 5,000) = 30,000; fund-c min(50,000,
# 20 x 2,500) = 50,000. A group signal splits 20 : 30 : 50.
ACCOUNTS = """
[[allocation_groups]]
name = "funded"

[[accounts]]
id = "fund-a"
venue = "binance"
balance = "100000"
risk_budget = "1000"
max_drawdown = "10000"
groups = ["funded"]

[[accounts]]
id = "fund-b"
venue = "binance"
balance = "30000"
risk_budget = "5000"
groups = ["funded"]

[[accounts]]
id = "fund-c"
venue = "binance"
balance = "50000"
risk_budget = "2500"
groups = ["funded"]
"""


def write_config(directory: Path, extra: str = "") -> Path:
    """The shipped configuration with the three accounts (and `extra`), as a file."""
    path = directory / "engine.toml"
    path.write_text(DEFAULT_CONFIG.read_text() + ACCOUNTS + extra)
    return path


def accounts_config(directory: Path, extra: str = "") -> EngineConfig:
    return load_config(write_config(directory, extra))
