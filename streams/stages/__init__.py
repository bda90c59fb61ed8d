"""The processors' cores, composed: each stage takes one input record and returns its outputs.

A stage is what one processor does, with no Kafka in it: `handle(topic, record, now_us)`
takes a record from one of its `inputs` and returns `Emit`s for the topics it writes. The
replay harness calls stages directly in timestamp order; the live processors call the same
stages from Quix Streams, so both produce the same records from the same inputs.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel

__all__ = ["Emit", "Stage"]


class Emit(NamedTuple):
    """A record for a catalog topic (unprefixed name)."""

    topic: str
    record: BaseModel


class Stage(Protocol):
    inputs: tuple[str, ...]

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]: ...
