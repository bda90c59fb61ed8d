"""The shipped Avro contracts: current schemas and every frozen earlier version.

`avro/` holds one file per named type (`fillstream.Signal.avsc`, ...), as fastavro's loader
expects, so shared enums and records are written once. `avro/history/<name>/v<N>.avsc` holds
each topic value schema as it was at version N, fully expanded. A reader needs the writer's
exact schema to decode Avro, so without a registry every version ever written must ship: the
decoder finds it by the fingerprint at the front of each record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastavro.schema import fingerprint, parse_schema
from fastavro.schema import to_parsing_canonical_form as canonical_form

from fillstream.schemas import decimals

__all__ = ["AVRO_DIR", "Contract", "contract", "known_versions", "version_by_fingerprint"]

AVRO_DIR = Path(__file__).parent / "avro"
HISTORY_DIR = AVRO_DIR / "history"
NAMESPACE = "fillstream"

decimals.register()


@dataclass(frozen=True, eq=False)
class Contract:
    """One version of one record schema, ready for fastavro (hashed by identity: cached)."""

    name: str
    version: int
    schema: dict[str, Any]
    parsed: dict[str, Any]
    fingerprint: bytes

    @property
    def schema_json(self) -> str:
        return json.dumps(self.schema, sort_keys=False)


def _make(name: str, version: int, schema: dict[str, Any]) -> Contract:
    parsed = parse_schema(schema)
    fp = bytes.fromhex(fingerprint(canonical_form(parsed), "CRC-64-AVRO"))
    return Contract(name=name, version=version, schema=schema, parsed=parsed, fingerprint=fp)


def full_name(name: str) -> str:
    return name if "." in name else f"{NAMESPACE}.{name}"


_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _named_type(name: str) -> dict[str, Any]:
    return json.loads((AVRO_DIR / f"{full_name(name)}.avsc").read_text())


def _inline(schema: Any, defined: set[str]) -> Any:
    """Write each named type out at its first use and refer to it by name after that."""
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return schema
        if full_name(schema) in defined:
            return full_name(schema)
        return _inline(_named_type(schema), defined)
    if isinstance(schema, list):
        return [_inline(branch, defined) for branch in schema]
    kind = schema["type"]
    if kind in {"record", "enum", "fixed"}:
        defined.add(full_name(schema["name"]))
    if kind == "record":
        fields = [{**field, "type": _inline(field["type"], defined)} for field in schema["fields"]]
        return {**schema, "fields": fields}
    if kind == "array":
        return {**schema, "items": _inline(schema["items"], defined)}
    if kind == "map":
        return {**schema, "values": _inline(schema["values"], defined)}
    if isinstance(kind, (dict, list)):
        return {**schema, "type": _inline(kind, defined)}
    return schema


@cache
def current_schema(name: str) -> dict[str, Any]:
    """The current schema of a record, self-contained: every named type it uses is inline."""
    return _inline(_named_type(name), set())  # type: ignore[no-any-return]


@cache
def known_versions(name: str) -> tuple[Contract, ...]:
    """Every frozen version of a record schema, oldest first."""
    folder = HISTORY_DIR / full_name(name)
    files = sorted(folder.glob("v*.avsc"), key=lambda p: int(p.stem[1:]))
    return tuple(_make(full_name(name), int(p.stem[1:]), json.loads(p.read_text())) for p in files)


@cache
def contract(name: str) -> Contract:
    """The current version of a record schema: what writers use and readers resolve to."""
    versions = known_versions(name)
    latest = versions[-1].version if versions else 0
    current = _make(full_name(name), latest, current_schema(name))
    if versions and versions[-1].fingerprint == current.fingerprint:
        return versions[-1]
    return Contract(current.name, latest + 1, current.schema, current.parsed, current.fingerprint)


@cache
def version_by_fingerprint() -> dict[bytes, Contract]:
    """Every shipped version of every record schema, by CRC-64-AVRO fingerprint."""
    table: dict[bytes, Contract] = {}
    for folder in sorted(HISTORY_DIR.iterdir()):
        for version in known_versions(folder.name):
            table[version.fingerprint] = version
    return table
