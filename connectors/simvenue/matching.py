"""One symbol's matching engine: the book view, our resting orders and our waiting stops.

Taking liquidity: an order walks the opposite side of the view best level first, within its
limit (a market order or a triggered stop has none), one taker fill per level at that level's
price. Then:
- a market order (or triggered stop) expires with what the visible book could not fill
  (`NO_LIQUIDITY`), whatever its time in force;
- IOC expires the rest (`IOC_REMAINDER`); but a collared marketable limit (the slice carries
  its `collar_reference`) has the rest cancelled (`SLIPPAGE_COLLAR`): the collar is the
  desk's own instruction, as if it had cancelled what the limit left;
- FOK first checks that the view can fill the whole quantity within the limit; if not, nothing
  fills and the order expires (`FOK_NOT_FILLABLE`). Expire, not cancel: the venue ended the
  order by its own rule, as Binance reports it; `cancel` is kept for a client's cancel;
- GTC, DAY and GTD rest the rest at the limit price, at the back of the queue (`orders.py`
  has the queue model). An iceberg's marketable part takes up to its whole quantity; it then
  shows `display_quantity` at a time, and each refill joins the back of the queue.

Resting orders fill as makers, at their own price:
- from trades: one at our price whose aggressor is on the other side consumes the queue ahead
  of us, then fills us; one strictly through our price fills us up to its size, whatever its
  aggressor (a print below our bid proves a seller was there). A trade's volume is shared by
  our resting orders in price-then-time priority: what fills one order does not reach the next.
  A trade without an aggressor side gets one by the quote rule: above the recorded mid a buyer,
  below it a seller, at the mid (or with a one-sided book) none, so it fills only through;
- from the book: when the recorded other side moves to or through our price, the crossing
  size fills us at our price (a seller arriving at our bid would have traded with us) and is
  taken from the view, so it cannot fill twice.

Stops wait for a trade printed after their arrival at or through the stop price (buy: trade
price ≥ stop, sell: ≤ stop), after that trade's fills on resting orders; then a stop executes
as a market order and a stop-limit as a limit at its price with its time in force.

Our own orders never match each other: the view holds only the recorded market.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from operator import attrgetter

from fillstream.connectors.simvenue.blotter import Blotter
from fillstream.connectors.simvenue.book import OPPOSITE, BookView, accepts, total
from fillstream.connectors.simvenue.orders import VenueOrder
from fillstream.connectors.simvenue.reasons import VenueReason
from fillstream.domain.instruments import Instrument
from fillstream.schemas.models import (
    BookUpdate,
    ExecutionReport,
    Liquidity,
    OrderStatus,
    Quote,
    Side,
    Slice,
    TimeInForce,
    Trade,
)

__all__ = ["Listing", "MarketEvent", "infer_aggressor"]

MarketEvent = Quote | Trade | BookUpdate

_IMMEDIATE = frozenset({TimeInForce.IOC, TimeInForce.FOK})
_RESTING_PRICE = attrgetter("resting_price")
_PLACE = attrgetter("place")
_ZERO = Decimal(0)


def infer_aggressor(price: Decimal, book: BookView) -> Side | None:
    """The quote rule: a trade above the recorded mid was a buy, below it a sell."""
    bid, ask = book.best(Side.BUY), book.best(Side.SELL)
    if bid is None or ask is None or 2 * price == bid + ask:
        return None
    return Side.BUY if 2 * price > bid + ask else Side.SELL


class Listing:
    """One instrument as the venue lists it (see the module docstring).

    Its memory is the book and the count of orders that joined its queue or its stops (each
    order keeps its `place` in that count); the queue and the stops are the venue's live orders
    of the symbol, in their places (`relist`). An order that changes without a report of its
    own (a move in the queue, a stop triggered and resting) is passed to `moved`, so that the
    venue's next save writes it.
    """

    durable = ("book._sizes", "book._taken", "book.has_depth", "book.as_of", "_joined")
    book: BookView
    _joined: int

    def __init__(
        self,
        instrument: Instrument,
        blotter: Blotter,
        moved: Callable[[str], None] = lambda slice_id: None,
    ) -> None:
        self.instrument = instrument
        self.book = BookView()
        self._blotter = blotter
        self._moved = moved
        self._resting: dict[str, VenueOrder] = {}  # in time priority: the first joined first
        self._stops: dict[str, VenueOrder] = {}
        self._joined = 0

    def restored(self) -> None:
        """After a restore set the book's levels: sort them again on first use."""
        self.book.restored()

    def relist(self, orders: Iterable[VenueOrder]) -> None:
        """After a restore: the queue and the stops from the symbol's live orders, each in its
        place."""
        ranked = sorted(orders, key=_PLACE)
        self._resting = {order.slice_id: order for order in ranked if not order.waiting_for_stop}
        self._stops = {order.slice_id: order for order in ranked if order.waiting_for_stop}

    def on_market(self, event: MarketEvent, at: int) -> list[ExecutionReport]:
        match event:
            case Trade():
                return self._on_trade(event, at)
            case BookUpdate():
                self.book.apply(event)
            case Quote():
                self.book.apply_quote(event)
        return self._on_book_change(at)

    def place(self, order: VenueOrder, at: int) -> list[ExecutionReport]:
        """An accepted order enters: a stop waits for its trigger, any other order executes."""
        if order.waiting_for_stop:
            self._stops[order.slice_id] = order
            self._join(order)
            return []
        return self._execute(order, at)

    def withdraw(self, order: VenueOrder) -> None:
        self._resting.pop(order.slice_id, None)
        self._stops.pop(order.slice_id, None)

    def replace(self, order: VenueOrder, amended: Slice, at: int) -> list[ExecutionReport]:
        """Give a live order new terms; it keeps its place unless its price moved or it grew."""
        moved = amended.price != order.price
        grew = amended.quantity > order.quantity
        order.slice = amended
        reports = [self._blotter.replaced(order, at)]
        if order.slice_id not in self._resting:
            return reports  # a stop still waiting for its trigger
        if moved:
            del self._resting[order.slice_id]
            reports += self._execute(order, at)
        elif grew:
            self._requeue(order)
        else:
            order.shown = min(order.shown, order.leaves)
        return reports

    def _execute(self, order: VenueOrder, at: int) -> list[ExecutionReport]:
        """Take what the view offers within the order's limit, then rest the rest or end it."""
        side, leaves, tif = order.side, order.leaves, order.slice.time_in_force
        matches = self.book.match(side, leaves, order.limit_price)
        if tif is TimeInForce.FOK:
            available = total(matches)
            if available < leaves:
                reason = VenueReason.FOK_NOT_FILLABLE.text(available=available, quantity=leaves)
                return [self._blotter.end(order, OrderStatus.EXPIRED, at, reason)]
        self.book.take(side, matches)
        reports = [
            self._blotter.fill(order, quantity, price, Liquidity.TAKER, at)
            for price, quantity in matches
        ]
        if not order.is_live:
            return reports
        if order.limit_price is not None and tif not in _IMMEDIATE:
            self._requeue(order)
            return reports
        reports.append(self._end_unfilled(order, at))
        return reports

    def _end_unfilled(self, order: VenueOrder, at: int) -> ExecutionReport:
        """End what an order taking liquidity could not fill, saying why."""
        limit, reference = order.limit_price, order.slice.collar_reference
        if limit is None:
            reason = VenueReason.NO_LIQUIDITY.text(leaves=order.leaves)
        elif reference is not None:
            reason = VenueReason.SLIPPAGE_COLLAR.text(
                leaves=order.leaves, price=limit, reference=reference
            )
            return self._blotter.end(order, OrderStatus.CANCELLED, at, reason)
        else:
            reason = VenueReason.IOC_REMAINDER.text(leaves=order.leaves)
        return self._blotter.end(order, OrderStatus.EXPIRED, at, reason)

    def _requeue(self, order: VenueOrder) -> None:
        """Put an order at the back of the queue at its price, showing a fresh display."""
        self._resting.pop(order.slice_id, None)
        self._resting[order.slice_id] = order
        self._join(order)
        order.shown = order.display_size()
        order.queue_ahead = self.book.size_at(order.side, order.resting_price)

    def _join(self, order: VenueOrder) -> None:
        self._joined += 1
        order.place = self._joined
        self._moved(order.slice_id)

    def _on_trade(self, trade: Trade, at: int) -> list[ExecutionReport]:
        reports: list[ExecutionReport] = []
        aggressor = trade.aggressor_side or infer_aggressor(trade.price, self.book)
        for side in (Side.BUY, Side.SELL):
            volume = trade.quantity
            for order in self._queue(side):
                if order.resting_price == trade.price:
                    if aggressor is not OPPOSITE[side]:
                        continue  # it took the other side (or we cannot tell): not our level
                    through = False
                elif accepts(side, order.resting_price, trade.price):
                    through = True
                else:
                    break  # the trade did not reach our price, nor any worse one
                volume = self._trade_against(order, volume, through, at, reports)
                if volume == 0:
                    break
        self.book.clear_through(trade.price, trade.timestamp)
        for order in [stop for stop in self._stops.values() if stop.triggers_at(trade.price)]:
            del self._stops[order.slice_id]
            order.triggered = True
            self._moved(order.slice_id)
            reports += self._execute(order, at)
        return reports

    def _on_book_change(self, at: int) -> list[ExecutionReport]:
        if not self._resting:
            return []
        for order in self._resting.values():
            known = self.book.known_size(order.side, order.resting_price)
            if known is not None and known < order.queue_ahead:
                order.queue_ahead = known
                self._moved(order.slice_id)
        reports: list[ExecutionReport] = []
        for side in (Side.BUY, Side.SELL):
            for order in self._queue(side):
                matches = self.book.match(side, order.leaves, order.resting_price)
                if not matches:
                    break  # our later orders rest at worse prices: not crossed either
                self.book.take(side, matches)
                self._trade_against(order, total(matches), True, at, reports)
        return reports

    def _trade_against(
        self,
        order: VenueOrder,
        volume: Decimal,
        through: bool,
        at: int,
        reports: list[ExecutionReport],
    ) -> Decimal:
        """Fill a resting order from `volume` traded at (or through) its price; return the rest.

        Each displayed tranche filled is one report; an iceberg whose display is used up
        refills at the back of the queue and may fill again from the same volume.
        """
        self._moved(order.slice_id)
        while volume > 0 and order.is_live:
            if through:
                order.queue_ahead = _ZERO
            volume = order.consume_queue(volume)
            quantity = min(order.shown, volume)
            if quantity == 0:
                break
            volume -= quantity
            order.shown -= quantity
            reports.append(
                self._blotter.fill(order, quantity, order.resting_price, Liquidity.MAKER, at)
            )
            if order.shown == 0 and order.is_live:
                self._requeue(order)
        if not order.is_live:
            del self._resting[order.slice_id]
        return volume

    def _queue(self, side: Side) -> list[VenueOrder]:
        """Our resting orders on `side`, best price first, then in time priority."""
        orders = [order for order in self._resting.values() if order.side is side]
        orders.sort(key=_RESTING_PRICE, reverse=side is Side.BUY)  # stable: keeps time priority
        return orders
