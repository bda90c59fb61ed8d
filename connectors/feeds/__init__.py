"""Market-data feeds: recorded or synthetic data as market events, in timestamp order.

Every feed is a pure generator of `MarketEvent`s (no Kafka, no wall clock), so the replay
harness, the tests and the live publisher share them. `load` opens any supported file;
the modules hold one source each (`binance`, `ibm`, `bars`, `synthetic`) and `pacing` replays
at a chosen speed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from fillstream.connectors.feeds import bars, binance, ibm, lean
from fillstream.connectors.feeds.events import MINUTE_US, MarketEvent, merge_in_time
from fillstream.connectors.feeds.files import first_line
from fillstream.connectors.feeds.report import FeedReport
from fillstream.connectors.feeds.symbols import unify_symbol

__all__ = ["FORMATS", "FeedReport", "MarketEvent", "detect_format", "load"]

FORMATS: dict[str, str] = {
    "binance-capture": "Binance raw stream capture, `<local ns> <json>` per line, gzip or plain "
    "(spot or USD-M futures)",
    "lean-equity-quotes": "Lean US-equity quote ticks `<yyyymmdd>_<symbol>_Quote_Tick.csv`, "
    "read as NBBO updates naming each side's exchange (per-venue books plus the NBBO), merged "
    "with the sibling Trade_Tick file when present",
    "lean-equity-trades": "Lean US-equity trade ticks `<yyyymmdd>_<symbol>_Trade_Tick.csv`",
    "lean-crypto-quote-bars": "Lean crypto minute quote bars (Bybit spot) "
    "`<yyyymmdd>_<symbol>_minute_quote.csv`, merged with the sibling trade bars when present",
    "lean-crypto-trade-bars": "Lean crypto minute trade bars (Bybit spot) "
    "`<yyyymmdd>_<symbol>_minute_trade.csv`",
    "ftx-bars": "FTX perpetual candles `<base>-perp-..._1m.csv` with the header "
    "timestamp,open,high,low,close,volume",
}

# Lean crypto files name no market; the only shipped source is Bybit spot.
LEAN_CRYPTO_VENUE = "bybit"
FTX_VENUE = "ftx"

_CAPTURE_LINE = re.compile(r"^\d+ \{")
_FTX_NAME = re.compile(r"^(?P<base>[a-z0-9]+)-perp\b.*?(?:_(?P<minutes>\d+)m)?\.csv$", re.I)


def detect_format(path: Path) -> str:
    """The key in `FORMATS` of a file, from its first line (names are easily changed)."""
    try:
        line = first_line(path)
    except UnicodeDecodeError:
        line = ""  # binary: none of ours
    fields = line.split(",")
    if _CAPTURE_LINE.match(line):
        return "binance-capture"
    if [field.strip().lower() for field in fields] == bars.FTX_HEADER:
        return "ftx-bars"
    if len(fields) == 8 and fields[5].strip().isalpha():
        return "lean-equity-quotes"
    if len(fields) == 6 and fields[3].strip().isalpha():
        return "lean-equity-trades"
    if all(_is_number(field) for field in fields):
        if len(fields) == 11:
            return "lean-crypto-quote-bars"
        if len(fields) == 6:
            return "lean-crypto-trade-bars"
    supported = "\n".join(f"  - {name}: {description}" for name, description in FORMATS.items())
    raise ValueError(f"{path.name}: not a supported market-data file. Supported:\n{supported}")


def load(path: Path, *, report: FeedReport | None = None) -> Iterator[MarketEvent]:
    """Every market event in a recorded file, in timestamp order; the format is detected.

    A quote file brings its day's trade file along (same name with `trade` for `quote`), so
    one call replays the whole day. Problems met on the way go to `report`.
    """
    report = FeedReport() if report is None else report
    kind = detect_format(path)
    if kind == "binance-capture":
        return binance.read_capture(path, report=report)
    if kind in {"lean-equity-quotes", "lean-equity-trades"}:
        return _lean_equity(path, kind, report)
    if kind in {"lean-crypto-quote-bars", "lean-crypto-trade-bars"}:
        return _lean_crypto(path, kind, report)
    return _ftx(path, report)


def _lean_equity(path: Path, kind: str, report: FeedReport) -> Iterator[MarketEvent]:
    if kind == "lean-equity-trades":
        return ibm.read_trades(path, report=report)
    # Per-venue books for routing across exchanges, with their NBBO for risk and TCA.
    quotes = ibm.read_quotes(path, layout="holders", with_nbbo=True, report=report)
    trade_path = lean.sibling_trades(path)
    if trade_path is None:
        return quotes
    # trades first on equal times: a print usually moves the quote, not the other way round
    return merge_in_time(ibm.read_trades(trade_path, report=report), quotes)


def _lean_crypto(path: Path, kind: str, report: FeedReport) -> Iterator[MarketEvent]:
    trade_path: Path | None = path
    quote_bars: Iterable[bars.QuoteBar] = ()
    if kind == "lean-crypto-quote-bars":
        trade_path = lean.sibling_trades(path)
        quote_bars = bars.read_lean_quote_bars(path, report=report)
    trade_bars = () if trade_path is None else bars.read_lean_trade_bars(trade_path, report=report)
    return bars.bar_events(
        symbol=unify_symbol(lean.parse_name(path).symbol),
        venue=LEAN_CRYPTO_VENUE,
        trade_bars=trade_bars,
        quote_bars=quote_bars,
    )


def _ftx(path: Path, report: FeedReport) -> Iterator[MarketEvent]:
    name = _FTX_NAME.match(path.name)
    if name is None:
        raise ValueError(
            f"{path.name}: FTX candles, but the market is not in the name (`<base>-perp-...csv`)"
        )
    period_us = int(name["minutes"] or 1) * MINUTE_US
    return bars.bar_events(
        symbol=f"{name['base'].upper()}/USD:USD",
        venue=FTX_VENUE,
        trade_bars=bars.read_ftx_bars(path, report=report),
        period_us=period_us,
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
