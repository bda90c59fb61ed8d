"""Batching profiles: what the processors trade between each hop's latency and throughput.

Four settings decide it (docs/BENCHMARKS.md measures each): how long a producer lingers to
batch records, how many records a batch holds, how long and for how many bytes the broker holds
a fetch, and how often a processor checkpoints (under exactly-once, how often its transaction
commits, which is each hop's latency floor). `balanced` is the configured defaults
(settings/__init__.py); `latency` sends at once and asks the broker for every byte as it
comes; `throughput` lets records gather, so the broker serves fewer, fuller requests, which is
what its CPU goes by.

A profile is asked for on the compacted `profiles` topic (the API's `/execution/optimize`,
`fillstream optimize`); every processor reads the latest and applies it at its next batch
boundary (streams/runtime.py). Constraints cap what a profile may choose.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from fillstream import settings
from fillstream.schemas.models import BatchingProfile, OptimizationTarget

__all__ = ["CONSTRAINTS", "SETTINGS", "Batching", "batching", "configured", "of_record"]

BATCH_MESSAGES = 10_000  # librdkafka's own default


@dataclass(frozen=True)
class Batching:
    linger_ms: int
    batch_messages: int
    fetch_wait_ms: int
    fetch_min_bytes: int
    commit_interval_ms: int


SETTINGS = tuple(f.name for f in fields(Batching))  # as a profile record names them

# The two ends of the trade, by processing guarantee. Under exactly-once a record waits for its
# transaction anyway, so the producer lingers as long as the commit interval.
_ENDS: dict[tuple[OptimizationTarget, str], Batching] = {
    (OptimizationTarget.LATENCY, "at-least-once"): Batching(0, BATCH_MESSAGES, 5, 1, 500),
    (OptimizationTarget.THROUGHPUT, "at-least-once"): Batching(
        10, BATCH_MESSAGES, 50, 16_384, 1_000
    ),
    (OptimizationTarget.LATENCY, "exactly-once"): Batching(50, BATCH_MESSAGES, 10, 1, 50),
    (OptimizationTarget.THROUGHPUT, "exactly-once"): Batching(250, BATCH_MESSAGES, 50, 16_384, 250),
}

# Constraints a request may set: each caps the setting it names.
CONSTRAINTS = {
    "max_linger_ms": "linger_ms",
    "max_batch_messages": "batch_messages",
    "max_fetch_wait_ms": "fetch_wait_ms",
    "max_fetch_min_bytes": "fetch_min_bytes",
    "max_commit_interval_ms": "commit_interval_ms",
}


def configured(guarantee: str) -> Batching:
    """The configured defaults (settings/__init__.py): `balanced`."""
    return Batching(
        linger_ms=settings.linger_ms(guarantee),
        batch_messages=BATCH_MESSAGES,
        fetch_wait_ms=settings.fetch_wait_ms(),
        fetch_min_bytes=settings.fetch_min_bytes(guarantee),
        commit_interval_ms=round(settings.commit_interval(guarantee) * 1000),
    )


def batching(
    target: OptimizationTarget,
    guarantee: str,
    defaults: Batching,
    constraints: dict[str, int] | None = None,
) -> Batching:
    """The settings of `target` under `guarantee`, `defaults` for `balanced`, each capped by
    its constraint. ValueError names a constraint that is not known or not positive."""
    chosen = defaults if target is OptimizationTarget.BALANCED else _ENDS[target, guarantee]
    caps = {}
    for name, value in (constraints or {}).items():
        setting = CONSTRAINTS.get(name)
        if setting is None:
            known = ", ".join(CONSTRAINTS)
            raise ValueError(f"constraint {name!r} is not known; these are: {known}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"constraint {name}: a whole number ≥ 1, not {value!r}")
        caps[setting] = min(getattr(chosen, setting), value)
    return replace(chosen, **caps)


def of_record(profile: BatchingProfile) -> Batching:
    return Batching(**{name: getattr(profile, name) for name in SETTINGS})
