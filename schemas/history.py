"""Freezing contract versions, and the backward-compatibility rule each new one must pass.

A new version may be frozen only if it can read every record any earlier version wrote:
Avro's schema-resolution rules with the new schema as reader and each old one as writer.
So fields may be added with defaults, removed, or widened (int → long, new enum symbols),
never renamed or retyped, and consumers can be upgraded before producers.
"""

from __future__ import annotations

import json
from typing import Any

from fillstream.schemas.contracts import HISTORY_DIR, contract, full_name, known_versions

__all__ = ["IncompatibleSchema", "freeze", "read_problems"]

_PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}


class IncompatibleSchema(ValueError):
    """A schema change that would leave earlier records unreadable."""


def _kind(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    return schema if isinstance(schema, str) else schema["type"]


def read_problems(reader: Any, writer: Any, path: str = "") -> list[str]:
    """Why `reader` cannot decode data written with `writer` (empty when it can)."""
    where = path or "record"
    if isinstance(writer, list):
        return [p for branch in writer for p in read_problems(reader, branch, path)]
    if isinstance(reader, list):
        if any(not read_problems(branch, writer, path) for branch in reader):
            return []
        return [f"{where}: no branch of the new union reads the old {_kind(writer)}"]
    reader_kind, writer_kind = _kind(reader), _kind(writer)
    if reader_kind != writer_kind:
        if writer_kind in _PROMOTIONS and reader_kind in _PROMOTIONS[writer_kind]:
            return []
        return [f"{where}: type changed from {writer_kind} to {reader_kind}"]
    if reader_kind == "record":
        if reader["name"] != writer["name"]:
            return [f"{where}: record renamed from {writer['name']} to {reader['name']}"]
        old_fields = {field["name"]: field for field in writer["fields"]}
        problems = []
        for field in reader["fields"]:
            field_path = f"{path}.{field['name']}" if path else field["name"]
            old = old_fields.get(field["name"])
            if old is None:
                if "default" not in field:
                    problems.append(f"{field_path}: new field without a default")
                continue
            problems += read_problems(field["type"], old["type"], field_path)
        return problems
    if reader_kind == "enum":
        lost = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if lost and "default" not in reader:
            return [f"{where}: enum symbols {lost} removed without a default"]
        return []
    if reader_kind == "array":
        return read_problems(reader["items"], writer["items"], path)
    if reader_kind == "map":
        return read_problems(reader["values"], writer["values"], path)
    if reader_kind == "fixed" and reader["size"] != writer["size"]:
        return [f"{where}: fixed size changed"]
    return []


def freeze(name: str) -> str | None:
    """Write the current schema as the next version; None if it is frozen already.

    Raises IncompatibleSchema, writing nothing, if some earlier version's records would no
    longer decode.
    """
    current = contract(name)
    versions = known_versions(name)
    if versions and versions[-1].fingerprint == current.fingerprint:
        return None
    problems = [
        f"v{old.version}: {problem}"
        for old in versions
        for problem in read_problems(current.schema, old.schema)
    ]
    if problems:
        raise IncompatibleSchema(f"{name} cannot read earlier records: " + "; ".join(problems))
    folder = HISTORY_DIR / full_name(name)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"v{current.version}.avsc"
    target.write_text(json.dumps(current.schema, indent=2, ensure_ascii=False) + "\n")
    known_versions.cache_clear()
    contract.cache_clear()
    return f"{full_name(name)} v{current.version} ({target})"
