"""The example records shipped with the contracts, per catalog topic."""

from __future__ import annotations

from typing import Any

from fillstream.schemas import examples_dir, jsonl
from fillstream.schemas.models import MODELS
from fillstream.schemas.topics import TopicSpec


def example_records(spec: TopicSpec) -> list[dict[str, Any]]:
    """The topic's examples, validated by its model, as encodable records."""
    lines = (examples_dir() / f"{spec.name}.jsonl").read_text().splitlines()
    model = MODELS[spec.record]
    return [model.model_validate(jsonl.loads(line)).model_dump() for line in lines if line.strip()]
