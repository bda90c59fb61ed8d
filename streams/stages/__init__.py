"""The processors' cores, composed: each stage takes one input record and returns its outputs.

A stage is what one processor does, with no Kafka in it: `handle(topic, record, now_us)`
takes a record from one of its `inputs` and returns `Emit`s for the topics it writes. The
replay harness calls stages directly in timestamp order; the live processors call the same
stages from their loop (`streams.runtime`), so both produce the same records from the same
inputs.

What a stage remembers lives in the attributes its `durable` names (its configuration does
not; a dotted name reaches into a member stage), each annotated with its type on the class:
`streams.memory` saves them as keyed entries and carries them across a restart of the live
processor. `Wiring` passes what stages emit to the stages that read it, for the replay
harness and for a processor made of several stages.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel

from fillstream.schemas.topics import event_time

__all__ = ["Emit", "Stage", "Wiring"]


class Emit(NamedTuple):
    """A record for a catalog topic (unprefixed name)."""

    topic: str
    record: BaseModel


class Stage(Protocol):
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    durable: tuple[str, ...]

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]: ...


@dataclass
class Wiring:
    """Stages wired by topic: what one emits, the readers of that topic receive."""

    stages: list[Stage]
    readers: dict[str, list[Stage]] = field(init=False)

    def __post_init__(self) -> None:
        self.readers = defaultdict(list)
        for stage in self.stages:
            for topic in stage.inputs:
                self.readers[topic].append(stage)

    def deliver(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        """Everything that follows from one input, in the order it was produced (breadth
        first). Each stage reads its input's own event time, as the live processors do;
        `now_us` stands in only for a record without one."""
        produced: list[Emit] = []
        pending: deque[Emit] = deque([Emit(topic, record)])
        while pending:
            emit = pending.popleft()
            at = event_time(emit.topic, emit.record, now_us)
            for stage in self.readers.get(emit.topic, ()):
                for output in stage.handle(emit.topic, emit.record, at):
                    produced.append(output)
                    pending.append(output)
        return produced
