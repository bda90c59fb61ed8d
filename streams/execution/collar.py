"""Slippage control: what would take liquidity at any price goes out as a collared limit.

A market order, a stop once it triggers, and an algorithm's market child would otherwise walk
the book as far as it goes. The executor sends each as a marketable limit, immediate-or-cancel,
priced at the collar: `max_slippage_bps` from the reference price, above it for a buy, below it
for a sell, rounded onto the venue's tick towards the reference (a buy's collar down, a sell's
up), so that rounding never lets it trade further. The slice carries the reference
(`collar_reference`), and the venue ends what does not fill inside the collar cancelled with
`SLIPPAGE_COLLAR`.

The reference is the mid (else the last trade) when the order arrives: a direct order's
arrival price P₀ (what risk saw when it approved it, TCA's benchmark); an algorithm child's,
the executor's market when it sends the child; a stop's, its stop price (it arrives in the
market when a trade reaches that price, where the desk does not see it).

The width, by precedence: the signal's `max_slippage_bps` parameter; else the risk config's
for the account and symbol, which risk carries on the approved order; else the default.
"""

from __future__ import annotations

from decimal import Decimal

from fillstream.domain.instruments import Instrument
from fillstream.schemas.models import ParentOrder, Side

__all__ = ["DEFAULT_MAX_SLIPPAGE_BPS", "PARAMETER", "collar_price", "max_slippage_bps"]

PARAMETER = "max_slippage_bps"  # the signal's parameter (in every taking algorithm's catalog)
DEFAULT_MAX_SLIPPAGE_BPS = Decimal(50)
_BPS = Decimal("0.0001")


def max_slippage_bps(order: ParentOrder) -> Decimal:
    """The order's collar width: the signal's parameter (risk validated it against the
    catalog), else the account's and symbol's from risk's config, else the default."""
    text = order.signal.algorithm_parameters.get(PARAMETER)
    if text is not None:
        return Decimal(text)
    if order.max_slippage_bps is not None:
        return order.max_slippage_bps
    return DEFAULT_MAX_SLIPPAGE_BPS


def collar_price(
    side: Side, reference: Decimal, bps: Decimal, instrument: Instrument | None
) -> Decimal:
    """reference × (1 ± bps/10,000), on the tick grid towards the reference."""
    buy = side is Side.BUY
    price = reference * (1 + bps * _BPS if buy else 1 - bps * _BPS)
    return price if instrument is None else instrument.round_price(price, up=not buy)
