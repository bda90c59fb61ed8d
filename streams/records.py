"""A processor's view of one topic's records: bytes in, the stage's input out; the stage's
output in, key and bytes out. Records on the pipeline's own contracts go straight to their
typed form, unvalidated (docs/CONTRACTS.md, "Validation"); signals are an edge, and stay
fields, for the risk stage answers an invalid one with a rejection."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from fillstream.schemas.models import Record
from fillstream.schemas.serde import (
    Codec,
    RecordCodec,
    SingleObjectRecordCodec,
    codec_for,
    record_codec_for,
)
from fillstream.schemas.topics import TopicSpec, find, key_of

__all__ = ["TopicRecords", "topic_records"]


@dataclass(frozen=True)
class TopicRecords:
    spec: TopicSpec
    typed: RecordCodec
    raw: Codec | None  # set where the stage takes the decoded fields, not the record

    def decode_input(self, payload: bytes | None) -> Any:
        """The stage's input; `UndecodableRecord` when the payload is not the contract's."""
        if self.raw is not None:
            return self.raw.decode(payload)  # type: ignore[arg-type]
        return self.typed.decode(payload)  # type: ignore[arg-type]

    def encode(self, record: Record) -> bytes:
        return self.typed.encode(record)

    @cached_property
    def encoding(self) -> str:
        """What a record's bytes depend on besides the record: its contract alone in
        single-object encoding; with a registry, the topic too (its subject's schema id)."""
        if isinstance(self.typed, SingleObjectRecordCodec):
            return self.spec.record
        return self.spec.full_name

    def key(self, record: Record) -> bytes | None:
        return key_of(self.spec, record)


def topic_records(topic: str) -> TopicRecords:
    spec = find(topic)
    raw = codec_for(spec.record, spec.full_name) if topic == "signals" else None
    return TopicRecords(spec, record_codec_for(spec.record, spec.full_name), raw)
