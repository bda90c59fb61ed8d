"""QuantConnect Lean's on-disk conventions, shared by the equity tick and crypto bar readers.

Lean files carry no header and no dates: the day is in the file name (`20131007_ibm_...`) and
each row's time is milliseconds since midnight of that day in the data's time zone (New York
for US equities, UTC for crypto). A day's quote and trade files sit side by side with the same
name apart from `quote`/`trade`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TypeVar

from fillstream.connectors.feeds.events import microseconds_since_epoch
from fillstream.connectors.feeds.files import open_text
from fillstream.connectors.feeds.report import FeedReport

__all__ = ["Clock", "LeanName", "RowParser", "clock", "parse_name", "parse_rows", "sibling_trades"]

T = TypeVar("T")
# ms since local midnight → µs since the epoch, UTC
Clock = Callable[[int], int]
# (line number, CSV fields) → what the row yields (nothing to skip it; ValueError if invalid)
RowParser = Callable[[int, list[str]], Iterable[T]]

_NAME = re.compile(r"^(?P<day>\d{8})_(?P<symbol>[a-z0-9.\-]+)_(?P<kind>.+)\.csv(?:\.gz)?$", re.I)
_QUOTE = re.compile(r"quote", re.I)
_TRADE_IN_CASE_OF = {"Quote": "Trade", "QUOTE": "TRADE"}


@dataclass(frozen=True)
class LeanName:
    """What a Lean file name says: the day, the symbol as written (lower case), the file kind."""

    day: date
    symbol: str
    kind: str


def parse_name(path: Path) -> LeanName:
    """`20131007_ibm_Quote_Tick.csv` → (2013-10-07, `ibm`, `Quote_Tick`)."""
    match = _NAME.match(path.name)
    if match is None:
        raise ValueError(
            f"{path.name!r} is not a Lean file name (`<yyyymmdd>_<symbol>_<kind>.csv`): "
            "the day and symbol come from it"
        )
    day = datetime.strptime(match["day"], "%Y%m%d").date()
    return LeanName(day, match["symbol"].lower(), match["kind"])


def clock(day: date, zone: tzinfo) -> Clock:
    """A converter from Lean's ms since local midnight of `day` to µs since the epoch (UTC).

    The time is wall-clock time in `zone`, as Lean reads it. That matters only on the two
    daylight-saving days of a year; on every other day the offset is one constant.
    """
    midnight = datetime.combine(day, time(), zone)
    if midnight.utcoffset() == (midnight + timedelta(days=1)).utcoffset():
        base = microseconds_since_epoch(midnight)
        return lambda ms: base + ms * 1000
    return lambda ms: microseconds_since_epoch(midnight + timedelta(milliseconds=ms))


def parse_rows(path: Path, parse: RowParser[T], report: FeedReport) -> Iterator[T]:
    """What `parse(line number, fields)` makes of each non-empty CSV row, in file order.

    A row that does not parse (wrong field count, not a number, refused by a contract model,
    a division by zero) is skipped and reported as `invalid_rows`: one bad row must not end a
    day's replay. So `parse` must change its own state only once the row has parsed.
    """
    with open_text(path) as text:
        for number, row in enumerate(csv.reader(text), start=1):
            if not row:
                continue
            try:
                parsed = list(parse(number, row))
            except (ValueError, ArithmeticError) as error:
                reason = " ".join(str(error).split())
                report.warn("invalid_rows", f"{path.name} line {number} skipped: {reason}")
                continue
            yield from parsed


def sibling_trades(quote_path: Path) -> Path | None:
    """The trade file of the same day and symbol as a quote file, when it exists."""
    name = quote_path.name
    found = list(_QUOTE.finditer(name))
    if not found:
        return None
    last = found[-1]
    trade = _TRADE_IN_CASE_OF.get(last[0], "trade")
    candidate = quote_path.with_name(name[: last.start()] + trade + name[last.end() :])
    return candidate if candidate.is_file() else None
