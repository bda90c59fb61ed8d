"""A synthetic market for users without recorded data: deterministic for a seed.

The model is small on purpose, enough to exercise routing, algorithms and the simulated venue
with realistic orders of magnitude, not to study microstructure:

- the mid price is a geometric random walk in event time (annualised volatility, moved at
  every event by the time elapsed since the last one, over a 365.25-day year: crypto trades
  around the clock);
- whenever the mid leaves the spread, the book is re-centred: a spread of 1 to
  `max_spread_ticks` ticks, `levels` price levels each side one tick apart, each with a
  lognormal size (a level already in the book keeps its size);
- trades arrive as a Poisson process with lognormal sizes, on a random side, at the touch,
  and consume displayed size (no walking the book: a trade takes at most the touch); an
  emptied level leaves the book and a fresh one joins at the far end;
- a Quote whenever the touch (prices or sizes) changes; an L2 diff whenever the book does (a
  re-centre, a trade taking from the touch), as a venue's depth stream gives it, with the
  levels that changed and a size 0 for those that left; and a full L2 snapshot every
  `snapshot_interval_us`. Without the diffs, a venue simulated on this market (it matches
  against L2 once it has seen any) would see trades print through a book a second stale, and
  empty a side of it until the next snapshot.

Prices are whole ticks and sizes whole lots of the instrument, computed in integers and turned
into exact decimals. Only `random.Random(seed)` draws numbers, so a seed replays the same market.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from fillstream.connectors.feeds.events import MarketEvent
from fillstream.domain.instruments import Instrument
from fillstream.schemas.models import BookUpdate, BookUpdateKind, PriceLevel, Quote, Side, Trade

__all__ = ["BTC_USDT", "SyntheticParams", "synthetic_events"]

BTC_USDT = Instrument("binance", "BTC/USDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"))
_YEAR_US = 365.25 * 24 * 3600 * 1_000_000


@dataclass(frozen=True)
class SyntheticParams:
    """The market to simulate; the defaults resemble Binance spot BTC/USDT in 2024."""

    instrument: Instrument = BTC_USDT
    start: int = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z, µs
    duration_us: int = 60_000_000
    initial_price: Decimal = Decimal("60000")
    annual_volatility: float = 0.5  # BTC's long-run realised volatility
    mean_trade_interval_us: float = 50_000.0  # about 20 trades a second
    levels: int = 10  # per side
    max_spread_ticks: int = 3
    level_size_median: Decimal = Decimal("0.5")  # base units, lognormal ...
    level_size_sigma: float = 1.0  # ... with this standard deviation of the log
    trade_size_median: Decimal = Decimal("0.002")  # about 120 USDT: retail-heavy flow
    trade_size_sigma: float = 1.2
    snapshot_interval_us: int = 1_000_000

    def __post_init__(self) -> None:
        positive: dict[str, int | float | Decimal] = {
            "duration_us": self.duration_us,
            "initial_price": self.initial_price,
            "mean_trade_interval_us": self.mean_trade_interval_us,
            "levels": self.levels,
            "max_spread_ticks": self.max_spread_ticks,
            "level_size_median": self.level_size_median,
            "trade_size_median": self.trade_size_median,
            "snapshot_interval_us": self.snapshot_interval_us,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.annual_volatility < 0 or self.level_size_sigma < 0 or self.trade_size_sigma < 0:
            raise ValueError("volatility and size dispersions cannot be negative")


def synthetic_events(params: SyntheticParams | None = None, seed: int = 0) -> Iterator[MarketEvent]:
    """Book snapshots, quotes and trades from `params.start` for `params.duration_us`."""
    market = _Market(params or SyntheticParams(), random.Random(seed))
    yield from market.run()


class _Market:
    """The simulation's state: log mid, and each side's levels as [ticks, lots], best first."""

    def __init__(self, params: SyntheticParams, rng: random.Random) -> None:
        self._params = params
        self._rng = rng
        self._tick = params.instrument.tick_size
        self._lot = params.instrument.lot_size
        self._log_mid = math.log(float(params.initial_price / self._tick))  # in ticks
        self._bids: list[list[int]] = []
        self._asks: list[list[int]] = []
        self._update_id = 0
        self._trades = 0
        self._last_touch: tuple[int, ...] = ()
        # The book as last published (bids, asks: lots by ticks) and the update id it had.
        self._shown: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self._shown_id = 0

    def run(self) -> Iterator[MarketEvent]:
        params = self._params
        now, end = params.start, params.start + params.duration_us
        self._recentre()
        yield from self._snapshot(now)
        yield from self._quote(now)
        next_trade = now + self._trade_gap()
        next_snapshot = now + params.snapshot_interval_us
        while min(next_trade, next_snapshot) < end:
            elapsed = min(next_trade, next_snapshot) - now
            now += elapsed
            self._move(elapsed)
            yield from self._changes(now)  # a re-centred book shows before anything trades on it
            if next_trade <= next_snapshot:
                yield from self._trade(now)
                yield from self._changes(now)
                next_trade = now + self._trade_gap()
            else:
                yield from self._snapshot(now)
                next_snapshot = now + params.snapshot_interval_us

    def _move(self, elapsed_us: int) -> None:
        """Geometric Brownian motion over `elapsed_us`; re-centre if the mid left the spread."""
        variance = self._params.annual_volatility**2 * elapsed_us / _YEAR_US
        self._log_mid += math.sqrt(variance) * self._rng.gauss(0.0, 1.0) - variance / 2
        mid = math.exp(self._log_mid)
        if not self._bids[0][0] < mid < self._asks[0][0]:
            self._recentre()

    def _recentre(self) -> None:
        mid = math.exp(self._log_mid)
        spread = self._rng.randint(1, self._params.max_spread_ticks)
        best_bid = max(1, math.floor(mid - spread / 2))
        best_ask = best_bid + spread
        self._bids = self._levels(self._bids, [best_bid - k for k in range(self._params.levels)])
        self._asks = self._levels(self._asks, [best_ask + k for k in range(self._params.levels)])
        self._update_id += 1

    def _levels(self, current: list[list[int]], prices: list[int]) -> list[list[int]]:
        kept = {price: lots for price, lots in current}
        return [[price, kept.get(price) or self._level_lots()] for price in prices if price > 0]

    def _trade(self, now: int) -> Iterator[MarketEvent]:
        buy = self._rng.random() < 0.5
        side = self._asks if buy else self._bids
        price, shown = side[0]
        lots = min(shown, self._lots(self._params.trade_size_median, self._params.trade_size_sigma))
        if lots == shown:
            side.pop(0)
            far = (side[-1][0] if side else price) + (1 if buy else -1)
            if far > 0:
                side.append([far, self._level_lots()])
            if not side:  # the bid side ran into price zero: start afresh
                self._recentre()
        else:
            side[0][1] -= lots
        self._update_id += 1
        self._trades += 1
        yield MarketEvent.of(
            Trade(
                symbol=self._params.instrument.symbol,
                venue=self._params.instrument.venue,
                trade_id=str(self._trades),
                price=price * self._tick,
                quantity=lots * self._lot,
                aggressor_side=Side.BUY if buy else Side.SELL,
                timestamp=now,
            )
        )

    def _changes(self, now: int) -> Iterator[MarketEvent]:
        yield from self._diff(now)
        yield from self._quote(now)

    def _diff(self, now: int) -> Iterator[MarketEvent]:
        """The levels that changed since the last diff or snapshot, if any did."""
        book = self._book()
        if book == self._shown:
            return
        bids, asks = (
            [
                self._level(price, lots)
                for price, lots in sorted(_changed(shown, current).items(), reverse=best_high)
            ]
            for best_high, shown, current in zip((True, False), self._shown, book, strict=True)
        )
        yield MarketEvent.of(
            BookUpdate(
                symbol=self._params.instrument.symbol,
                venue=self._params.instrument.venue,
                kind=BookUpdateKind.DIFF,
                bids=bids,
                asks=asks,
                first_update_id=self._shown_id + 1,
                last_update_id=self._update_id,
                timestamp=now,
            )
        )
        self._shown, self._shown_id = book, self._update_id

    def _book(self) -> tuple[dict[int, int], dict[int, int]]:
        return (
            {price: lots for price, lots in self._bids},
            {price: lots for price, lots in self._asks},
        )

    def _quote(self, now: int) -> Iterator[MarketEvent]:
        touch = (*self._bids[0], *self._asks[0])
        if touch == self._last_touch:
            return
        self._last_touch = touch
        bid, bid_lots, ask, ask_lots = touch
        yield MarketEvent.of(
            Quote(
                symbol=self._params.instrument.symbol,
                venue=self._params.instrument.venue,
                bid_price=bid * self._tick,
                bid_size=bid_lots * self._lot,
                ask_price=ask * self._tick,
                ask_size=ask_lots * self._lot,
                timestamp=now,
            )
        )

    def _snapshot(self, now: int) -> Iterator[MarketEvent]:
        self._shown, self._shown_id = self._book(), self._update_id
        yield MarketEvent.of(
            BookUpdate(
                symbol=self._params.instrument.symbol,
                venue=self._params.instrument.venue,
                kind=BookUpdateKind.SNAPSHOT,
                bids=[self._level(price, lots) for price, lots in self._bids],
                asks=[self._level(price, lots) for price, lots in self._asks],
                last_update_id=self._update_id,
                timestamp=now,
            )
        )

    def _level(self, ticks: int, lots: int) -> PriceLevel:
        return PriceLevel(price=ticks * self._tick, quantity=lots * self._lot)

    def _trade_gap(self) -> int:
        return max(1, round(self._rng.expovariate(1 / self._params.mean_trade_interval_us)))

    def _level_lots(self) -> int:
        return self._lots(self._params.level_size_median, self._params.level_size_sigma)

    def _lots(self, median: Decimal, sigma: float) -> int:
        """A lognormal size with this median, in whole lots (at least one)."""
        size = self._rng.lognormvariate(math.log(float(median)), sigma)
        return max(1, round(size / float(self._lot)))


def _changed(shown: dict[int, int], current: dict[int, int]) -> dict[int, int]:
    """Each level whose size moved: its new size, 0 where it left the book."""
    gone = {price: 0 for price in shown.keys() - current.keys()}
    return gone | {price: lots for price, lots in current.items() if shown.get(price) != lots}
