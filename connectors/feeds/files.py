"""Opening recorded files the same way whether or not they were gzipped.

Recorders and vendors ship the same text formats plain or gzipped (the Binance capture is
`.gz`, Lean's CSVs sit in zips and are often stored unpacked), so readers sniff the gzip magic
bytes instead of trusting the file name.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TextIO

__all__ = ["first_line", "open_text"]

_GZIP_MAGIC = b"\x1f\x8b"


def open_text(path: Path) -> TextIO:
    """The file as UTF-8 text, transparently gunzipped."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == _GZIP_MAGIC
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def first_line(path: Path, limit: int = 4096) -> str:
    """The start of the first line (at most `limit` characters), for telling formats apart."""
    with open_text(path) as text:
        return text.readline(limit).rstrip("\r\n")
