"""Serde cost per record: Avro single-object encode + decode of a signal and an execution report.

Run: `python benchmarks/serde.py [--count N] [--repeats R]`. Each repeat times N round trips
(encode to bytes, decode back to a dict) of one example record; the table reports the median
and the spread of the repeats, never only the best. Model validation (pydantic, done at the
edges only) is timed separately for reference.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from importlib import metadata

from fillstream.schemas import examples_dir, jsonl
from fillstream.schemas.models import MODELS
from fillstream.schemas.serde import SingleObjectCodec
from fillstream.schemas.topics import find


def _example(topic: str) -> dict:
    spec = find(topic)
    line = (examples_dir() / f"{spec.name}.jsonl").read_text().splitlines()[-1]
    return MODELS[spec.record].model_validate(jsonl.loads(line)).model_dump()


def _per_call_us(action: Callable[[], object], count: int, repeats: int) -> list[float]:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            action()
        timings.append((time.perf_counter() - start) / count * 1e6)
    return timings


def _row(topic: str, count: int, repeats: int) -> str:
    spec = find(topic)
    codec = SingleObjectCodec(spec.record)
    record = _example(topic)
    payload = codec.encode(record)
    assert codec.decode(payload) == record
    round_trip = _per_call_us(lambda: codec.decode(codec.encode(record)), count, repeats)
    model = MODELS[spec.record]
    validate = _per_call_us(lambda: model.model_validate(record), count // 5, repeats)
    return (
        f"| {spec.record} | {len(payload)} | {statistics.median(round_trip):.2f} | "
        f"{min(round_trip):.2f} to {max(round_trip):.2f} | {statistics.median(validate):.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000, help="round trips per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, fastavro {metadata.version('fastavro')}, "
        f"pydantic {metadata.version('pydantic')}, {platform.processor() or platform.machine()}"
    )
    print("| record | bytes | encode+decode µs (median) | range of repeats | validate µs |")
    print("|---|---|---|---|---|")
    for topic in ("signals", "fills"):
        print(_row(topic, args.count, args.repeats))


if __name__ == "__main__":
    main()
