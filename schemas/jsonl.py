"""JSON lines for people and scripts: numbers stay exact, bytes travel as base64."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fillstream.schemas.decimals import format_decimal

__all__ = ["dumps", "explain_invalid", "loads", "parse_records"]

M = TypeVar("M", bound=BaseModel)


def loads(line: str) -> Any:
    """Parse one JSON line; fractional numbers become Decimals, never binary floats."""
    return json.loads(line, parse_float=Decimal)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(record: Any, indent: int | None = None) -> str:
    """One JSON line (or, with `indent`, an indented text): decimals as exact strings, bytes
    as base64."""
    separators = None if indent else (",", ":")
    return json.dumps(
        record, default=_plain, ensure_ascii=False, indent=indent, separators=separators
    )


def explain_invalid(error: ValueError) -> str:
    """One clause per problem, naming the field: what a producer needs to fix the record."""
    if not isinstance(error, ValidationError):
        return f"invalid JSON: {error}"
    return "; ".join(
        f"{'.'.join(map(str, item['loc'])) or 'record'}: "
        + item["msg"].removeprefix("Value error, ")
        for item in error.errors()
    )


def parse_records(model: type[M], text: str) -> tuple[list[M], list[str]]:
    """Validate every JSON line of `text`; the valid records and a message per invalid line."""
    records: list[M] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(model.model_validate(loads(line)))
        except ValueError as error:  # JSONDecodeError and ValidationError are both ValueErrors
            problems.append(f"line {number}: {explain_invalid(error)}")
    return records, problems
