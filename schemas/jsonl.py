"""JSON lines for people and scripts: numbers stay exact, bytes travel as base64."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from enum import Enum
from typing import Any

from fillstream.schemas.decimals import format_decimal

__all__ = ["dumps", "loads"]


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


def dumps(record: Any) -> str:
    """One JSON line: decimals as exact strings, bytes as base64."""
    return json.dumps(record, default=_plain, ensure_ascii=False, separators=(",", ":"))
