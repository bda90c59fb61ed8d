"""One order at the venue: its slice, its fills so far, and its place in the queue.

Queue model, for an order resting at price P (the rules `Listing` applies with these methods):
- On joining the queue (placement, an iceberg refill, a replace that moves the price or raises
  the quantity), everything the recorded market shows at P on our side is ahead of us:
  `queue_ahead` = the recorded size at P.
- A trade at P whose aggressor is on the other side first consumes `queue_ahead`, then fills
  our displayed size; a trade strictly through P (or the other side's book crossing P) sweeps
  the level: nothing is left ahead and we fill up to the traded (or crossing) size.
- When the recorded size at P shrinks, the shrink is taken from behind us first:
  `queue_ahead = min(queue_ahead, new size)` (a cautious model: cancellations never move us
  up unless they must). A growing level does not move us: newcomers join behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fillstream.schemas.models import OrderStatus, OrderType, Side, Slice

__all__ = ["OpenOrder", "VenueOrder"]

_LIVE = frozenset({OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})
_STOPS = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})
_MARKET_LIKE = frozenset({OrderType.MARKET, OrderType.STOP})
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """A live order as the venue holds it: what `SimulatedVenue.open_orders` shows."""

    slice_id: str
    venue_order_id: str | None
    symbol: str
    side: Side
    order_type: OrderType
    price: Decimal | None
    stop_price: Decimal | None
    quantity: Decimal
    filled_quantity: Decimal
    displayed: Decimal
    queue_ahead: Decimal
    waiting_for_stop: bool


@dataclass(eq=False, slots=True)
class VenueOrder:
    """An order the venue has received; `slice` is its latest accepted version."""

    slice: Slice
    status: OrderStatus = OrderStatus.NEW
    venue_order_id: str | None = None
    filled: Decimal = _ZERO
    notional: Decimal = _ZERO  # Σ quantity × price of the fills, exact
    commission: Decimal = _ZERO
    triggered: bool = False
    expires_at: int | None = None  # when its scheduled expiry is due; None: none is pending
    reports: int = 0  # how many reports the venue has issued on its slice id
    shown: Decimal = _ZERO  # the displayed size still to fill
    queue_ahead: Decimal = _ZERO
    place: int = 0  # when it last joined its listing's queue or stops: the earliest, lowest

    @property
    def slice_id(self) -> str:
        return self.slice.slice_id

    @property
    def side(self) -> Side:
        return self.slice.side

    @property
    def quantity(self) -> Decimal:
        return self.slice.quantity

    @property
    def price(self) -> Decimal | None:
        return self.slice.price

    @property
    def resting_price(self) -> Decimal:
        """The price a limit, an iceberg or a triggered stop-limit rests at."""
        assert self.slice.price is not None  # the venue refuses such an order without a price
        return self.slice.price

    @property
    def leaves(self) -> Decimal:
        return self.slice.quantity - self.filled

    @property
    def is_live(self) -> bool:
        return self.status in _LIVE

    @property
    def waiting_for_stop(self) -> bool:
        return self.slice.order_type in _STOPS and not self.triggered

    @property
    def limit_price(self) -> Decimal | None:
        """The worst price the order trades at; None for a market order or a triggered stop."""
        return None if self.slice.order_type in _MARKET_LIKE else self.slice.price

    def triggers_at(self, trade_price: Decimal) -> bool:
        """Whether a trade at `trade_price` triggers this stop: at or through its stop price."""
        stop = self.slice.stop_price
        assert stop is not None  # the venue refuses a stop order without one
        return trade_price >= stop if self.side is Side.BUY else trade_price <= stop

    def display_size(self) -> Decimal:
        """The size to show when joining the queue: an iceberg's display quantity at most."""
        display = self.slice.display_quantity
        if self.slice.order_type is OrderType.ICEBERG and display is not None:
            return min(display, self.leaves)
        return self.leaves

    def consume_queue(self, volume: Decimal) -> Decimal:
        """Let `volume` traded at our price fill the queue ahead of us; return what reaches us."""
        ahead = min(self.queue_ahead, volume)
        self.queue_ahead -= ahead
        return volume - ahead

    def record_fill(self, quantity: Decimal, price: Decimal, fee: Decimal) -> None:
        """Book one execution (call in the exact decimal context)."""
        value = quantity * price
        self.filled += quantity
        self.notional += value
        self.commission += value * fee
        self.status = OrderStatus.FILLED if self.leaves == 0 else OrderStatus.PARTIALLY_FILLED

    def note(self) -> str:
        """A finished order as the venue remembers it once it leaves memory: one short text
        with what a refusal of a late cancel or replace reports (`recalled` reads it back)."""
        return " ".join(
            (
                self.status.value,
                str(self.reports),
                str(self.quantity),
                str(self.filled),
                str(self.notional),
                str(self.commission),
                self.venue_order_id or "",
            )
        )

    @classmethod
    def recalled(cls, slice_: Slice, note: str) -> VenueOrder:
        """The finished order a `note` describes, under the ids of `slice_` (a cancel or
        replace of it), with the order's own quantity."""
        status, reports, quantity, filled, notional, commission, venue_order_id = note.split(" ", 6)
        return cls(
            slice_.model_copy(update={"quantity": Decimal(quantity)}),
            status=OrderStatus(status),
            venue_order_id=venue_order_id or None,
            filled=Decimal(filled),
            notional=Decimal(notional),
            commission=Decimal(commission),
            reports=int(reports),
        )

    def view(self) -> OpenOrder:
        return OpenOrder(
            slice_id=self.slice_id,
            venue_order_id=self.venue_order_id,
            symbol=self.slice.symbol,
            side=self.side,
            order_type=self.slice.order_type,
            price=self.price,
            stop_price=self.slice.stop_price,
            quantity=self.quantity,
            filled_quantity=self.filled,
            displayed=self.shown,
            queue_ahead=self.queue_ahead,
            waiting_for_stop=self.waiting_for_stop,
        )
