"""The intraday volume profile a VWAP schedule follows: each time-of-day bin's share of a day's
volume, learnt from history, so that slices are large when the market usually trades a lot.

Bins are cut from UTC midnight. An order's window is weighted by the shares of the bins it
covers, partial bins pro rata, and renormalised: the order trades its whole quantity within
its window whatever share of the day that window holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from fillstream.connectors.feeds import bars, detect_format
from fillstream.connectors.feeds.events import MINUTE_US
from fillstream.connectors.feeds.report import FeedReport

__all__ = ["VolumeProfile", "profile_from_file"]

_DAY_US = 24 * 60 * MINUTE_US
# Shares are floats; their sum may be off 1 by rounding, never by more than this.
_SUM_TOLERANCE = 1e-9


@dataclass(frozen=True)
class VolumeProfile:
    """`shares[i]` is the part of a day's volume traded in bin i, [i·bin_us, (i + 1)·bin_us)
    after UTC midnight; the shares sum to 1."""

    shares: tuple[float, ...]
    bin_us: int = MINUTE_US

    def __post_init__(self) -> None:
        bins = _bins_per_day(self.bin_us)
        if len(self.shares) != bins:
            raise ValueError(f"{self.bin_us} µs bins make {bins} a day, got {len(self.shares)}")
        if any(share < 0 for share in self.shares) or abs(sum(self.shares) - 1) > _SUM_TOLERANCE:
            raise ValueError("shares must be non-negative and sum to 1")

    @classmethod
    def flat(cls, bin_us: int = MINUTE_US) -> VolumeProfile:
        """Equal shares: with no history, VWAP is TWAP."""
        bins = _bins_per_day(bin_us)
        return cls((1 / bins,) * bins, bin_us)

    @classmethod
    def from_bars(
        cls, volume_bars: Iterable[tuple[int, Decimal]], bin_us: int = MINUTE_US
    ) -> VolumeProfile:
        """The average day of (bar start µs since the epoch, volume) bars no longer than a bin.

        Volumes are pooled by time of day over all days, not averaged as per-day shares: a
        recording's partial first or last day then weighs only what it traded, instead of
        passing its few hours off as a whole day's shape.
        """
        volumes = [Decimal(0)] * _bins_per_day(bin_us)
        for start, volume in volume_bars:
            if volume < 0:
                raise ValueError(f"negative volume {volume} in the bar starting at {start}")
            volumes[start % _DAY_US // bin_us] += volume
        total = sum(volumes)
        if total == 0:
            raise ValueError("the bars hold no volume to learn a profile from")
        return cls(tuple(float(volume / total) for volume in volumes), bin_us)

    def weights(self, start_us: int, end_us: int) -> list[tuple[int, int, float]]:
        """(offset from start_us, end offset, weight) of each bin the window [start_us, end_us)
        covers, in time order, weights summing to 1.

        A window the history never traded in (a weekend, the small hours) gets weights in
        proportion to time instead, so it still trades.
        """
        if end_us <= start_us:
            raise ValueError(f"the window ends ({end_us}) before it starts ({start_us})")
        pieces: list[tuple[int, int, float]] = []
        cut = start_us
        while cut < end_us:
            bin_start = cut - cut % self.bin_us
            until = min(bin_start + self.bin_us, end_us)
            share = self.shares[(bin_start % _DAY_US) // self.bin_us]
            pieces.append((cut - start_us, until - start_us, share * (until - cut) / self.bin_us))
            cut = until
        total = sum(weight for _, _, weight in pieces)
        if total == 0:
            length = end_us - start_us
            return [(begin, end, (end - begin) / length) for begin, end, _ in pieces]
        return [(begin, end, weight / total) for begin, end, weight in pieces]


def profile_from_file(
    path: Path, *, bin_us: int = MINUTE_US, report: FeedReport | None = None
) -> VolumeProfile:
    """The profile of a recorded bar file: Lean crypto minute trade bars or FTX candles.

    Rows the readers cannot parse are skipped and counted in `report`, as in a replay.
    """
    kind = detect_format(path)
    if kind == "lean-crypto-trade-bars":
        history = bars.read_lean_trade_bars(path, report=report)
    elif kind == "ftx-bars":
        history = bars.read_ftx_bars(path, report=report)
    else:
        raise ValueError(f"{path.name}: a volume profile needs trade bars, this is {kind}")
    return VolumeProfile.from_bars(((bar.start, bar.volume) for bar in history), bin_us)


def _bins_per_day(bin_us: int) -> int:
    if bin_us <= 0 or _DAY_US % bin_us:
        raise ValueError(f"bins must cut a day evenly, got {bin_us} µs")
    return _DAY_US // bin_us
