"""Why the simulated venue refused or ended an order: one code per rule, with its message.

A report's `reason` is `"CODE: message"`, so a reader can match the code and a person can read
the rest. Codes are upper-case strings (not an Avro enum), as everywhere in fillstream.
"""

from __future__ import annotations

from fillstream.schemas.reasons import ReasonCode

__all__ = ["VenueReason"]


class VenueReason(ReasonCode):
    """A venue rule that refused or ended an order; `template` is its message."""

    # A new order the venue refuses (exec_type reject, status rejected).
    WRONG_VENUE = "WRONG_VENUE", "the slice is for {venue}, not for this venue ({here})"
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL", "{symbol} is not listed on {venue}"
    MISSING_PRICE = "MISSING_PRICE", "a {order_type} order needs a price"
    MISSING_STOP_PRICE = "MISSING_STOP_PRICE", "a {order_type} order needs a stop_price"
    BAD_DISPLAY_QUANTITY = (
        "BAD_DISPLAY_QUANTITY",
        "an iceberg needs a display_quantity no larger than its quantity {quantity}",
    )
    MISSING_EXPIRE_AT = "MISSING_EXPIRE_AT", "a GTD order needs expire_at"
    PRICE_OFF_TICK = (
        "PRICE_OFF_TICK",
        "{field} {price} is not a multiple of the tick size {tick_size}",
    )
    QUANTITY_OFF_LOT = (
        "QUANTITY_OFF_LOT",
        "{field} {quantity} is not a multiple of the lot size {lot_size}",
    )
    BELOW_MIN_QUANTITY = (
        "BELOW_MIN_QUANTITY",
        "quantity {quantity} is below the minimum of {minimum}",
    )
    BELOW_MIN_NOTIONAL = (
        "BELOW_MIN_NOTIONAL",
        "notional {notional} (at {price}) is below the minimum of {minimum}",
    )
    BELOW_VENUE_MIN_SIZE = (
        "BELOW_VENUE_MIN_SIZE",
        "quantity {quantity} is below the venue's minimum size of {minimum}",
    )
    POST_ONLY_WOULD_CROSS = (
        "POST_ONLY_WOULD_CROSS",
        "a post-only {side} at {price} would take liquidity at {touch}",
    )
    POST_ONLY_CANNOT_REST = (
        "POST_ONLY_CANNOT_REST",
        "post-only needs a limit or iceberg order that can rest (GTC, DAY or GTD), "
        "not a {time_in_force} {order_type} order",
    )
    ALREADY_EXPIRED = (
        "ALREADY_EXPIRED",
        "expire_at {expire_at} is not after the order's arrival at {arrival}",
    )
    # A cancel or replace the venue refuses (exec_type reject; the order is unchanged).
    UNKNOWN_ORDER = (
        "UNKNOWN_ORDER",
        "this venue knows no order {slice_id} (never received, or finished long ago)",
    )
    ORDER_DONE = "ORDER_DONE", "order {slice_id} is already {status}"
    REPLACE_BELOW_FILLED = (
        "REPLACE_BELOW_FILLED",
        "the new quantity {quantity} does not exceed the {filled} already filled",
    )
    # The venue ends an order (exec_type expire, status expired).
    NO_LIQUIDITY = (
        "NO_LIQUIDITY",
        "the visible book could not fill the remaining {leaves} of a market order",
    )
    IOC_REMAINDER = (
        "IOC_REMAINDER",
        "immediate-or-cancel: the remaining {leaves} could not fill on arrival",
    )
    FOK_NOT_FILLABLE = (
        "FOK_NOT_FILLABLE",
        "fill-or-kill: the visible book offers {available} of the {quantity} wanted",
    )
    # The venue cancels the rest of a collared marketable limit (exec_type cancel, status
    # cancelled): the collar is the desk's instruction, sent with the order, not a venue rule.
    SLIPPAGE_COLLAR = (
        "SLIPPAGE_COLLAR",
        "the remaining {leaves} would trade beyond {price}, the slippage collar from the "
        "reference price {reference}",
    )
    SESSION_CLOSED = "SESSION_CLOSED", "a DAY order expires at the session close"
    EXPIRE_AT_REACHED = "EXPIRE_AT_REACHED", "a GTD order expires at its expire_at"

    def text(self, **facts: object) -> str:
        """The report's `reason`: the code, then the message filled with `facts`."""
        return f"{self.value}: {self.message(**facts)}"
