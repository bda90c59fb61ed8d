"""Catalog topics as Parquet files, one per topic, for analysts to read with polars.

Each topic's columns are its contract's fields, typed from the Avro schema, so an empty topic
still exports its full set of columns:

- exact decimals (`decimal-string`) become polars `Decimal(38, s)`, `s` the largest scale in
  that column of this export: every value stays exact (a value of more than 38 digits fails
  the export rather than lose digits). bps and ratios are doubles on the wire already. Note
  that polars keeps the larger operand's scale in Decimal products; cast to Float64 for
  arithmetic where exactness does not matter.
- timestamps stay Int64 µs UTC, as on the wire (`pl.from_epoch(column, "us")` makes a datetime);
- enums are strings; records are structs; arrays are lists; bytes are binary;
- maps (`markouts_bps`, `algorithm_parameters`, metric labels) become lists of
  `{key, value}` structs, Parquet's own layout of a map: polars has no map type.

`records_frame` is the pure conversion; `export_topics` is the Kafka shell around it, and
around any other `Writer` of a topic's records (`analytics/daylog.py`: JSON lines by day). A
topic is read from its oldest record (or the first at or after `since_us`) up to where it ended
when the export started, so an export of a live topic terminates. A compacted topic
(`orders.state`) keeps every version not yet compacted away: take the highest `version` per
`order_id` for the latest state.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from fillstream.infra.topic_io import consume, end_offsets, start_offsets
from fillstream.infra.topics import admin_client, existing_partitions
from fillstream.schemas.contracts import current_schema, full_name
from fillstream.schemas.decimals import LOGICAL_TYPE
from fillstream.schemas.topics import TopicSpec

__all__ = [
    "DEFAULT_TOPICS",
    "Exported",
    "Writer",
    "export_topics",
    "parquet_path",
    "records_frame",
    "replace_whole",
    "write_parquet",
]

DEFAULT_TOPICS = ("tca", "fills", "orders.state", "slices", "market.quotes", "market.trades")

# Records decoded before they become a frame: a frame holds them in a fraction of the memory.
CHUNK_RECORDS = 100_000

_PRECISION = 38  # the most a polars Decimal holds

_PRIMITIVES: dict[str, pl.DataType] = {
    "boolean": pl.Boolean(),
    "int": pl.Int32(),
    "long": pl.Int64(),
    "float": pl.Float32(),
    "double": pl.Float64(),
    "bytes": pl.Binary(),
    "string": pl.String(),
}


def parquet_path(directory: Path, topic: str) -> Path:
    """Where an export keeps a topic: `<directory>/<catalog name>.parquet`."""
    return directory / f"{topic}.parquet"


def records_frame(record: str, records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Decoded records of contract `record` as a frame, one column per field (see above)."""
    named: dict[str, Any] = {}
    columns = []
    for field in current_schema(record)["fields"]:
        values = [row[field["name"]] for row in records]
        scale = functools.cache(lambda values=values: max(map(_scale, values), default=0))
        dtype = _dtype(field["type"], named, scale)
        if dtype.is_nested():
            values = [_plain(value, field["type"], named) for value in values]
        columns.append(pl.Series(field["name"], values, dtype=dtype, strict=True))
    return pl.DataFrame(columns)


def _dtype(avro: Any, named: dict[str, Any], scale: Callable[[], int]) -> pl.DataType:
    """The polars type of an Avro type; named types are recorded in `named` at definition."""
    if isinstance(avro, str):
        return _dtype(named[avro], named, scale) if avro in named else _PRIMITIVES[avro]
    if isinstance(avro, list):
        return _dtype(_non_null(avro), named, scale)
    kind = avro["type"]
    if kind in {"record", "enum"}:
        named[full_name(avro["name"])] = avro
    if kind == "record":
        return pl.Struct({f["name"]: _dtype(f["type"], named, scale) for f in avro["fields"]})
    if kind == "enum":
        return pl.String()
    if kind == "array":
        return pl.List(_dtype(avro["items"], named, scale))
    if kind == "map":
        value = _dtype(avro["values"], named, scale)
        return pl.List(pl.Struct({"key": pl.String(), "value": value}))
    if avro.get("logicalType") == LOGICAL_TYPE:
        return pl.Decimal(_PRECISION, scale())
    return _dtype(kind, named, scale)


def _non_null(union: list[Any]) -> Any:
    branches = [branch for branch in union if branch != "null"]
    if len(branches) != 1:
        raise ValueError(f"no polars type for the Avro union {union}")
    return branches[0]


def _plain(value: Any, avro: Any, named: dict[str, Any]) -> Any:
    """A nested value as polars takes it: maps as lists of {key, value}."""
    if value is None:
        return None
    if isinstance(avro, str):
        return _plain(value, named[avro], named) if avro in named else value
    if isinstance(avro, list):
        return _plain(value, _non_null(avro), named)
    kind = avro["type"]
    if kind == "record":
        return {f["name"]: _plain(value[f["name"]], f["type"], named) for f in avro["fields"]}
    if kind == "array":
        return [_plain(item, avro["items"], named) for item in value]
    if kind == "map":
        return [
            {"key": key, "value": _plain(item, avro["values"], named)}
            for key, item in value.items()
        ]
    if isinstance(kind, dict | list):
        return _plain(value, kind, named)
    return value


def _scale(value: Any) -> int:
    """Digits after the point that keep every decimal in `value` (nested or not) exact."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return max(0, -exponent) if isinstance(exponent, int) else 0
    if isinstance(value, Mapping):
        return max(map(_scale, value.values()), default=0)
    if isinstance(value, list):
        return max(map(_scale, value), default=0)
    return 0


# Writes one topic's decoded records under a directory; returns where they are (a file, or a
# directory of files).
Writer = Callable[[TopicSpec, Iterable[dict[str, Any]], Path], Path]


def replace_whole(path: Path, write: Callable[[Path], object]) -> None:
    """`write` a temporary sibling of `path`, then rename it over `path`: a file is written
    whole or not at all, so an interrupted export never leaves a truncated one."""
    partial = path.with_name(path.name + ".partial")
    write(partial)
    partial.replace(path)


def write_parquet(spec: TopicSpec, records: Iterable[dict[str, Any]], directory: Path) -> Path:
    """The topic's records as one Parquet file, converted a chunk at a time."""
    frames: list[pl.DataFrame] = []
    chunk: list[dict[str, Any]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == CHUNK_RECORDS:
            frames.append(records_frame(spec.record, chunk))
            chunk = []
    frames.append(records_frame(spec.record, chunk))
    path = parquet_path(directory, spec.name)
    replace_whole(path, pl.concat(frames, how="vertical_relaxed").write_parquet)
    return path


@dataclass(frozen=True)
class Exported:
    """One topic's export: where, how many records, and how many could not be decoded."""

    topic: str
    path: Path
    records: int
    undecodable: int


def export_topics(
    specs: Sequence[TopicSpec],
    directory: Path,
    console: Console,
    *,
    since_us: int | None = None,
    writer: Writer = write_parquet,
) -> list[Exported]:
    """Write each topic's records, up to its end at the start of its export, with `writer`
    (Parquet by default), with a progress bar of records per topic on `console`.

    Undecodable records are counted and left out (`fillstream tail` shows them).
    Raises ValueError when a topic is not on the cluster.
    """
    present = existing_partitions(admin_client())
    missing = [spec.full_name for spec in specs if spec.full_name not in present]
    if missing:
        raise ValueError(
            f"not on the cluster: {', '.join(missing)} (`fillstream topics create` makes them)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    columns = (
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        return [_export(spec, directory, progress, since_us, writer) for spec in specs]


def _export(
    spec: TopicSpec, directory: Path, progress: Progress, since_us: int | None, writer: Writer
) -> Exported:
    end = end_offsets(spec)
    start = start_offsets(spec, since_us)
    task = progress.add_task(spec.name, total=sum(end[p] - start[p] for p in end))
    read = undecodable = 0

    def decoded() -> Iterator[dict[str, Any]]:
        nonlocal read, undecodable
        for item in consume(spec, start=start, end=end):
            read += 1
            progress.advance(task)
            if item.record is None:
                undecodable += 1
            else:
                yield item.record

    path = writer(spec, decoded(), directory)
    # Compaction and transaction markers leave offsets without records: the bar ends full.
    progress.update(task, total=read, completed=read)
    return Exported(spec.name, path, read - undecodable, undecodable)
