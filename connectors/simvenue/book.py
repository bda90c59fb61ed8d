"""The venue's view of one symbol's book: the recorded market, less the liquidity we took.

The recorded (or synthetic) market stands for the other participants. The view comes from
`BookUpdate`s (L2) once one has been seen; before that, from `Quote`s (top of book, one level a
side, with its size; a side whose price or size is missing is empty). Quotes after the first
`BookUpdate` are ignored, since L2 is the finer source.

Our orders never move the recorded market, but what we take from a level stays taken in our
view until the recorded data next changes that level's size (a diff or snapshot with another
size, a quote with another price or size, or the level's deletion). So two market orders in a
row cannot both take the same displayed size, and a level the data re-states unchanged stays
depleted.

A trade at price p proves that no bid above p and no ask below p is left (the aggressor would
have taken them first), so `clear_through` removes such levels from the view. Recorded streams
do not arrive in step: in a fast market the trade stream runs ahead of the book stream, and
without this a stop triggered by a trade at 61,650 would sell into a stale bid at 61,686.
The other way round, a trade stamped before the book the view holds (`as_of`, the time of the
last book update or quote applied) is already in that book and clears nothing: live, the
trades and the book come on topics of their own, and a trade taken after the newer book that
followed it would otherwise empty a side the data had re-centred elsewhere.

Sides are named by who rests there: `Side.BUY` is the bids, `Side.SELL` the asks. An order of
side `s` takes from the opposite side.

A view's memory is its levels and what we took from them (`_sizes`, `_taken`, each by side
then price), saved a level an entry (`streams.memory`): a diff of the data changes a few of
the thousands a book holds. The sorted prices are not saved; a restored view sorts again on
first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import takewhile

from fillstream.schemas.models import BookUpdate, BookUpdateKind, PriceLevel, Quote, Side

__all__ = ["OPPOSITE", "BookView", "Match", "accepts", "total"]

OPPOSITE = {Side.BUY: Side.SELL, Side.SELL: Side.BUY}

# (price, quantity) an order takes at one level.
Match = tuple[Decimal, Decimal]

_ZERO = Decimal(0)


def accepts(side: Side, limit: Decimal, price: Decimal) -> bool:
    """Whether an order of `side` limited to `limit` trades at `price`: at the limit or better."""
    return price <= limit if side is Side.BUY else price >= limit


def total(matches: Iterable[Match]) -> Decimal:
    return sum((quantity for _, quantity in matches), _ZERO)


class BookView:
    """One symbol's levels as the venue sees them (see the module docstring)."""

    __slots__ = ("_prices", "_sizes", "_taken", "as_of", "has_depth")
    _sizes: dict[Side, dict[Decimal, Decimal]]  # the recorded levels, by side then price
    _taken: dict[Side, dict[Decimal, Decimal]]  # what we took from them
    has_depth: bool
    as_of: int  # the time of the data the levels are from, µs

    def __init__(self) -> None:
        self._sizes: dict[Side, dict[Decimal, Decimal]] = {Side.BUY: {}, Side.SELL: {}}
        self._taken: dict[Side, dict[Decimal, Decimal]] = {Side.BUY: {}, Side.SELL: {}}
        # Each side's prices, best first, kept so as levels come and go; None when a whole side
        # was restated, until sorted again.
        self._prices: dict[Side, list[Decimal] | None] = {Side.BUY: [], Side.SELL: []}
        self.has_depth = False
        self.as_of = 0

    def restored(self) -> None:
        """After a restore set the levels: sort them again on first use."""
        self._prices = {Side.BUY: None, Side.SELL: None}

    def apply(self, update: BookUpdate) -> None:
        self.has_depth = True
        self.as_of = max(self.as_of, update.timestamp)
        if update.kind is BookUpdateKind.SNAPSHOT:
            self._restate(Side.BUY, _sizes(update.bids))
            self._restate(Side.SELL, _sizes(update.asks))
            return
        for side, levels in ((Side.BUY, update.bids), (Side.SELL, update.asks)):
            for level in levels:
                self._set(side, level.price, level.quantity)

    def apply_quote(self, quote: Quote) -> None:
        if self.has_depth:
            return
        self.as_of = max(self.as_of, quote.timestamp)
        self._restate(Side.BUY, _top(quote.bid_price, quote.bid_size))
        self._restate(Side.SELL, _top(quote.ask_price, quote.ask_size))

    def clear_through(self, price: Decimal, at: int) -> None:
        """After a trade at `price` stamped `at`: drop bids above it and asks below it, unless
        the view's book is newer (see the docstring)."""
        if at < self.as_of:
            return
        for side in (Side.BUY, Side.SELL):
            for level in self._crossed(side, price):
                self._set(side, level, _ZERO)

    def best(self, side: Side) -> Decimal | None:
        """The best recorded price on `side`, whatever we took from it."""
        prices = self._sorted(side)
        return prices[0] if prices else None

    def levels(self, side: Side) -> Iterator[Match]:
        """The recorded (price, size) levels on `side`, best first, whatever we took."""
        sizes = self._sizes[side]
        return ((price, sizes[price]) for price in self._sorted(side))

    def size_at(self, side: Side, price: Decimal) -> Decimal:
        """The recorded size at `price` on `side` (0 where no level is shown)."""
        return self._sizes[side].get(price, _ZERO)

    def known_size(self, side: Side, price: Decimal) -> Decimal | None:
        """The recorded size at `price`, or None where the data does not reach.

        A price at or better than the worst recorded level is known (absent means empty); a
        worse price lies beyond the depth the data shows, so its size is unknown.
        """
        prices = self._sorted(side)
        if not prices:
            return None
        worst = prices[-1]
        if (price < worst) if side is Side.BUY else (price > worst):
            return None
        return self._sizes[side].get(price, _ZERO)

    def touch(self, side: Side) -> Decimal | None:
        """The best price an order of `side` could trade at now (levels we emptied skipped)."""
        return next((price for price, _ in self._offers(side)), None)

    def match(self, side: Side, quantity: Decimal, limit: Decimal | None) -> list[Match]:
        """What an order of `side` for `quantity` would take, best first, without taking it.

        `limit` None is a market order: every level is acceptable.
        """
        matches: list[Match] = []
        for price, available in self._offers(side):
            if quantity == 0 or (limit is not None and not accepts(side, limit, price)):
                break
            taken = min(available, quantity)
            matches.append((price, taken))
            quantity -= taken
        return matches

    def take(self, side: Side, matches: Iterable[Match]) -> None:
        """Remove what an order of `side` took from the opposite side of our view."""
        taken = self._taken[OPPOSITE[side]]
        for price, quantity in matches:
            taken[price] = taken.get(price, _ZERO) + quantity

    def _offers(self, side: Side) -> Iterator[Match]:
        """(price, available) on the side an order of `side` takes from, best first."""
        resting = OPPOSITE[side]
        sizes, taken = self._sizes[resting], self._taken[resting]
        for price in self._sorted(resting):
            available = sizes[price] - taken.get(price, _ZERO)
            if available > 0:
                yield price, available

    def _crossed(self, side: Side, price: Decimal) -> list[Decimal]:
        """The levels of `side` better than `price`: a prefix of its prices, best first."""
        if side is Side.BUY:
            return list(takewhile(lambda level: level > price, self._sorted(side)))
        return list(takewhile(lambda level: level < price, self._sorted(side)))

    def _sorted(self, side: Side) -> list[Decimal]:
        prices = self._prices[side]
        if prices is None:
            prices = sorted(self._sizes[side], reverse=side is Side.BUY)
            self._prices[side] = prices
        return prices

    def _set(self, side: Side, price: Decimal, size: Decimal) -> None:
        sizes = self._sizes[side]
        previous = sizes.get(price)
        if previous == size or (previous is None and size == 0):
            return
        self._taken[side].pop(price, None)
        if size == 0:
            del sizes[price]
        else:
            sizes[price] = size
        prices = self._prices[side]
        if prices is not None and (previous is None or size == 0):  # keep them sorted
            at = _place(prices, price, best_first=side is Side.BUY)
            if size == 0:
                del prices[at]
            else:
                prices.insert(at, price)

    def _restate(self, side: Side, sizes: dict[Decimal, Decimal]) -> None:
        """Replace a whole side; what we took stays taken only at levels whose size held."""
        previous = self._sizes[side]
        if sizes == previous:
            return
        self._taken[side] = {
            price: taken
            for price, taken in self._taken[side].items()
            if sizes.get(price) == previous[price]
        }
        if sizes.keys() != previous.keys():
            self._prices[side] = None
        self._sizes[side] = sizes


def _place(prices: list[Decimal], price: Decimal, *, best_first: bool) -> int:
    """Where `price` is or belongs in `prices` (highest first when `best_first`, the bids)."""
    low, high = 0, len(prices)
    while low < high:
        middle = (low + high) // 2
        if (prices[middle] > price) if best_first else (prices[middle] < price):
            low = middle + 1
        else:
            high = middle
    return low


def _sizes(levels: list[PriceLevel]) -> dict[Decimal, Decimal]:
    return {level.price: level.quantity for level in levels if level.quantity > 0}


def _top(price: Decimal | None, size: Decimal | None) -> dict[Decimal, Decimal]:
    return {price: size} if price is not None and size is not None and size > 0 else {}
