"""Serde cost per record: Avro single-object encode + decode of a signal and an execution report.

Run: `python benchmarks/serde.py [--count N] [--repeats R]`. Each repeat times N round trips
(encode to bytes, decode back to a dict) of one example record; the table reports the median
and the spread of the repeats, never only the best. Two codecs: fillstream's (the compiled
codec, as processors use it) and plain fastavro on the same schema and framing, for
comparison. Model validation (pydantic, done at the edges only) is timed separately.
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
from collections.abc import Callable
from functools import partial
from importlib import metadata

from fastavro import schemaless_reader, schemaless_writer

from fillstream.bench import per_call_us
from fillstream.schemas import examples_dir, jsonl
from fillstream.schemas.contracts import contract
from fillstream.schemas.models import MODELS
from fillstream.schemas.serde import SINGLE_OBJECT_MAGIC, SingleObjectCodec
from fillstream.schemas.topics import find


def _example(topic: str) -> dict:
    spec = find(topic)
    line = (examples_dir() / f"{spec.name}.jsonl").read_text().splitlines()[-1]
    return MODELS[spec.record].model_validate(jsonl.loads(line)).model_dump()


def _fastavro_round_trip(record_name: str) -> Callable[[dict], dict]:
    """The same single-object framing, with fastavro writing and reading the body."""
    current = contract(record_name)
    header = SINGLE_OBJECT_MAGIC + current.fingerprint

    def round_trip(record: dict) -> dict:
        buffer = io.BytesIO()
        buffer.write(header)
        schemaless_writer(buffer, current.parsed, record)
        payload = buffer.getvalue()
        assert payload[: len(header)] == header
        return schemaless_reader(io.BytesIO(payload[len(header) :]), current.parsed, None)

    return round_trip


def _rows(topic: str, count: int, repeats: int) -> list[str]:
    spec = find(topic)
    codec = SingleObjectCodec(spec.record)
    record = _example(topic)
    payload = codec.encode(record)
    model = MODELS[spec.record]
    validate = statistics.median(
        per_call_us(lambda: model.model_validate(record), count // 5, repeats)
    )
    candidates = {
        "fillstream (compiled)": lambda: codec.decode(codec.encode(record)),
        "fastavro": partial(_fastavro_round_trip(spec.record), record),
    }
    rows = []
    for name, round_trip in candidates.items():
        assert round_trip() == record
        timings = per_call_us(round_trip, count, repeats)
        rows.append(
            f"| {spec.record} | {name} | {len(payload)} | {statistics.median(timings):.2f} | "
            f"{min(timings):.2f} to {max(timings):.2f} | {validate:.2f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000, help="round trips per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, fastavro {metadata.version('fastavro')}, "
        f"pydantic {metadata.version('pydantic')}, {platform.processor() or platform.machine()}"
    )
    print(
        "| record | codec | bytes | encode+decode µs (median) | range of repeats "
        "| pydantic validate µs |"
    )
    print("|---|---|---|---|---|---|")
    for topic in ("signals", "fills"):
        print("\n".join(_rows(topic, args.count, args.repeats)))


if __name__ == "__main__":
    main()
