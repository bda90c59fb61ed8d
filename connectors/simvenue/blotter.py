"""The venue's blotter: it books every event on an order and writes its execution report.

Ids are deterministic: a report's id is `"{slice_id}:{n}"`, n counting that slice's reports from
1 (a cancel or replace reuses its order's slice id, so its reports continue the count); an
accepted order's `venue_order_id` is `"{venue}-{k}"`, k counting the venue's acks from 1. The
count lives with the order, and with the venue's note of it once it finished (`venue.py`); a
refusal for a slice the venue does not know (never received, or finished and forgotten) counts
from 1 again.

The cumulative fields are exact: `filled_quantity` is the sum of the `last_quantity`s,
`commission` the sum of `last_quantity × last_price × fee` (maker fee when the order rested,
taker fee when it took liquidity), both without rounding. `leaves_quantity` is
`quantity − filled_quantity` while the order lives and 0 once it is final. `average_price` is the
exact notional over the filled quantity, divided to 28 significant digits (half-even): exact
whenever the quotient has no more digits, rounded only in the last one otherwise, and never
carried forward, since each report divides the exact totals afresh. `commission_asset` is the
symbol's quote currency: `BTC/USDT` (and `BTC/USDT:USDT`) → USDT; a symbol without one (`IBM`)
is quoted in USD.

A cancel or replace the venue refuses is reported as `reject` with the order's own status and
totals (as FIX's order-cancel-reject does), so no reader takes it for the order being rejected;
only a cancel or replace of an order the venue does not know has status `rejected`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

from fillstream.connectors.simvenue.orders import VenueOrder
from fillstream.domain.reports import report_of
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.models import ExecType, ExecutionReport, Liquidity, OrderStatus

__all__ = ["Blotter", "quote_currency"]

_AVERAGE = Context(prec=28, rounding=ROUND_HALF_EVEN)
_ENDINGS = {
    OrderStatus.CANCELLED: ExecType.CANCEL,
    OrderStatus.EXPIRED: ExecType.EXPIRE,
    OrderStatus.REJECTED: ExecType.REJECT,
}
_ZERO = Decimal(0)


def quote_currency(symbol: str) -> str:
    _, slash, quote = symbol.partition("/")
    return quote.partition(":")[0] if slash else "USD"


class Blotter:
    """Books acks, fills and endings on orders and reports each one (see the module docstring)."""

    _acks: int  # orders accepted so far: the last one's venue order id

    def __init__(self, venue: VenueConfig) -> None:
        self._venue = venue
        self._acks = 0

    def ack(self, order: VenueOrder, at: int) -> ExecutionReport:
        self._acks += 1
        order.venue_order_id = f"{self._venue.name}-{self._acks}"
        order.status = OrderStatus.ACCEPTED
        return self._report(order, ExecType.ACK, order.status, at)

    def fill(
        self, order: VenueOrder, quantity: Decimal, price: Decimal, liquidity: Liquidity, at: int
    ) -> ExecutionReport:
        venue = self._venue
        order.record_fill(
            quantity, price, venue.maker_fee if liquidity is Liquidity.MAKER else venue.taker_fee
        )
        exec_type = ExecType.FILL if order.status is OrderStatus.FILLED else ExecType.PARTIAL_FILL
        return self._report(order, exec_type, order.status, at, last=(quantity, price, liquidity))

    def end(
        self, order: VenueOrder, status: OrderStatus, at: int, reason: str | None
    ) -> ExecutionReport:
        """End an order: cancelled, expired, or rejected on arrival."""
        order.status = status
        return self._report(order, _ENDINGS[status], status, at, reason=reason)

    def replaced(self, order: VenueOrder, at: int) -> ExecutionReport:
        """The order carries on under its slice id with new terms: its status is what it was
        (as FIX reports a replace: ExecType Replaced, OrdStatus the order's own)."""
        return self._report(order, ExecType.REPLACE, order.status, at)

    def refuse(self, order: VenueOrder, at: int, reason: str) -> ExecutionReport:
        """Refuse a cancel or replace of `order`, which stays as it was."""
        return self._report(order, ExecType.REJECT, order.status, at, reason=reason)

    def _report(
        self,
        order: VenueOrder,
        exec_type: ExecType,
        status: OrderStatus,
        at: int,
        *,
        last: tuple[Decimal, Decimal, Liquidity] | None = None,
        reason: str | None = None,
    ) -> ExecutionReport:
        slice_ = order.slice
        order.reports += 1
        last_quantity, last_price, liquidity = last or (_ZERO, None, None)
        # Not validated: the venue's own orders, from slices and quotes that were.
        return report_of(
            slice_,
            validate=False,
            report_id=f"{slice_.slice_id}:{order.reports}",
            venue=self._venue.name,
            venue_order_id=order.venue_order_id,
            exec_type=exec_type,
            status=status,
            last_quantity=last_quantity,
            last_price=last_price,
            filled_quantity=order.filled,
            leaves_quantity=order.leaves if order.is_live else _ZERO,
            average_price=_AVERAGE.divide(order.notional, order.filled) if order.filled else None,
            commission=order.commission,
            commission_asset=quote_currency(slice_.symbol),
            liquidity=liquidity,
            reason=reason,
            timestamp=at,
        )
