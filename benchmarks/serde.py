"""Serde cost per record: Avro single-object encode + decode of a signal and an execution report.

Run: `python benchmarks/serde.py [--count N] [--repeats R]`. Each repeat times N round trips
(encode to bytes, decode back to a dict) of one example record; the table reports the median
and the spread of the repeats, never only the best. Two codecs: fillstream's (the compiled
codec) and plain fastavro on the same schema and framing, for comparison. Model validation
(pydantic, done at the edges only) is timed separately.

A second table times the pipeline's typed records one way at a time: decoding bytes to the
record's model and encoding a model to bytes, by the dict path (`Codec` and `model_validate`,
`model_dump`) and by the typed codec (`record_codec_for`), the two taking turns within each
repeat so that both see the same machine. The first line gives the machine's speed as
`python -m timeit "sum(range(1000))"` would, to compare figures taken elsewhere.
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import timeit
from collections.abc import Callable
from functools import partial
from importlib import metadata

from fastavro import schemaless_reader, schemaless_writer

from fillstream.bench.cores import per_call_us
from fillstream.schemas import examples_dir, jsonl
from fillstream.schemas.contracts import contract
from fillstream.schemas.models import MODELS
from fillstream.schemas.serde import SINGLE_OBJECT_MAGIC, SingleObjectCodec, record_codec_for
from fillstream.schemas.topics import find

LEAN_TOPICS = ("fills", "slices", "orders.state", "market.quotes", "orders.routed")


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


def _calibration_us() -> float:
    """`python -m timeit "sum(range(1000))"`: best of 5 runs of 20,000 loops, µs per loop."""
    return min(timeit.repeat("sum(range(1000))", number=20_000, repeat=5)) / 20_000 * 1e6


def _taking_turns(actions: dict[str, Callable[[], object]], count: int, repeats: int) -> dict:
    """µs per call of each action: in every repeat each action runs `count` times in turn."""
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            timings[name] += per_call_us(action, count, 1)
    return timings


def _lean_rows(topic: str, count: int, repeats: int) -> list[str]:
    spec = find(topic)
    model_class = MODELS[spec.record]
    codec = SingleObjectCodec(spec.record)
    typed = record_codec_for(spec.record, spec.name)
    model = model_class.model_validate(_example(topic))
    payload = typed.encode(model)
    assert payload == codec.encode(model.model_dump())
    assert typed.decode(payload) == model_class.model_validate(codec.decode(payload)) == model
    timings = _taking_turns(
        {
            "decode old": lambda: model_class.model_validate(codec.decode(payload)),
            "decode new": lambda: typed.decode(payload),
            "encode old": lambda: codec.encode(model.model_dump()),
            "encode new": lambda: typed.encode(model),
        },
        count,
        repeats,
    )
    rows = []
    for way in ("decode", "encode"):
        old, new = (
            statistics.median(timings[f"{way} old"]),
            statistics.median(timings[f"{way} new"]),
        )
        spread = " / ".join(
            f"{min(timings[f'{way} {path}']):.2f} to {max(timings[f'{way} {path}']):.2f}"
            for path in ("old", "new")
        )
        rows.append(
            f"| {spec.record} | {way} | {len(payload)} | {old:.2f} | **{new:.2f}** | "
            f"{old / new:.1f}× | {spread} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000, help="calls (round trips) per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, fastavro {metadata.version('fastavro')}, "
        f"pydantic {metadata.version('pydantic')}, {platform.processor() or platform.machine()}; "
        f"calibration: sum(range(1000)) {_calibration_us():.1f} µs"
    )
    print(
        "| record | codec | bytes | encode+decode µs (median) | range of repeats "
        "| pydantic validate µs |"
    )
    print("|---|---|---|---|---|---|")
    for topic in ("signals", "fills"):
        print("\n".join(_rows(topic, args.count, args.repeats)))
    print()
    print(
        "| record | way | bytes | dict path µs (median) | typed µs (median) | speed-up "
        "| range of repeats, dict / typed |"
    )
    print("|---|---|---|---|---|---|---|")
    for topic in LEAN_TOPICS:
        print("\n".join(_lean_rows(topic, args.count, args.repeats)))
    print(f"calibration after: sum(range(1000)) {_calibration_us():.1f} µs")


if __name__ == "__main__":
    main()
