"""Exact decimals on the wire: Avro strings tagged with the `decimal-string` logical type.

Why strings and not Avro's `decimal` logical type: `decimal` fixes one scale per field, but
venues quote instruments from 1e-2 to 1e-18 increments. A decimal string keeps every value
exact at its own scale, reads the same in any Avro tool (unknown logical types fall back to
the base type), and matches how venues themselves publish prices. fillstream readers get a
`decimal.Decimal`; writers accept one and always emit plain notation (never `1E-7`).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import fastavro.read
import fastavro.write

__all__ = ["LOGICAL_TYPE", "format_decimal", "parse_decimal", "register"]

LOGICAL_TYPE = "decimal-string"
_KEY = f"string-{LOGICAL_TYPE}"


def format_decimal(value: Decimal) -> str:
    """Plain-notation text of a finite decimal: the wire form of every price and quantity."""
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a Decimal, got {type(value).__name__}: {value!r}")
    if not value.is_finite():
        raise ValueError(f"a price or quantity must be finite, got {value}")
    text = str(value)  # three times cheaper than format(); plain unless the exponent is extreme
    return format(value, "f") if "E" in text else text


def parse_decimal(text: str) -> Decimal:
    """The inverse of format_decimal; refuses NaN, infinities and non-numbers."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"a price or quantity must be finite, got {text!r}")
    return value


def _write(value: Decimal, schema: Any) -> str:
    return format_decimal(value)


def _read(text: str, writer_schema: Any, reader_schema: Any) -> Decimal:
    return parse_decimal(text)


def register() -> None:
    """Teach fastavro the logical type (idempotent; done when `fillstream.schemas` loads)."""
    fastavro.write.LOGICAL_WRITERS[_KEY] = _write
    fastavro.read.LOGICAL_READERS[_KEY] = _read
