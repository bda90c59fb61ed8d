"""The load `fillstream bench` offers: one simulated venue, a market at fixed mids with ample
size, and IOC signals at the touch that fill at once (alternating sides keep positions flat).
"""

from __future__ import annotations

import itertools
import time
from decimal import Decimal
from typing import Any

from fillstream.connectors.feeds import MarketEvent
from fillstream.pipeline import wire_signal
from fillstream.schemas.models import Quote, Trade

__all__ = [
    "ACCOUNTS",
    "AMPLE",
    "MIDS",
    "QUANTITY",
    "SPREAD",
    "VENUE",
    "engine_toml",
    "market",
    "signal_templates",
    "wall_clock_us",
]

VENUE = "sim"
MIDS = {
    "BTC/USDT": Decimal("60000.00"),
    "ETH/USDT": Decimal("3000.00"),
    "SOL/USDT": Decimal("150.00"),
}
ACCOUNTS = tuple(f"acct-{n}" for n in range(8))
SPREAD = Decimal("0.01")
AMPLE = Decimal("1000000000")
QUANTITY = Decimal("0.01")

_ENGINE = f"""\
# Written by `fillstream bench`: one simulated venue that acknowledges on arrival (no latency
# of its own), and limits no benchmark signal reaches.
[[venues]]
name = "{VENUE}"
taker_fee = "0.0002"
latency_us = 0
"""
_INSTRUMENT = f"""
[[instruments]]
venue = "{VENUE}"
symbol = "{{symbol}}"
tick_size = "0.01"
lot_size = "0.001"
"""
_RISK = """
[risk.defaults]
max_order_quantity = "1000000"
max_order_notional = "1000000000"
max_position = "1000000000"
max_daily_orders = 1000000000
max_daily_notional = "1000000000000000"
price_collar_bps = "1000"
max_orders_per_second = 1000000
"""


def engine_toml() -> str:
    return _ENGINE + "".join(_INSTRUMENT.format(symbol=s) for s in MIDS) + _RISK


def wall_clock_us() -> int:
    return time.time_ns() // 1000


def market(now_us: int) -> list[MarketEvent]:
    """A quote and a trade per symbol, one tick either side of the mid, with ample size."""
    events = []
    for symbol, mid in MIDS.items():
        quote = Quote(
            symbol=symbol,
            venue=VENUE,
            bid_price=mid - SPREAD,
            bid_size=AMPLE,
            ask_price=mid + SPREAD,
            ask_size=AMPLE,
            timestamp=now_us,
        )
        trade = Trade(
            symbol=symbol,
            venue=VENUE,
            trade_id=f"{symbol}-1",
            price=mid,
            quantity=QUANTITY,
            timestamp=now_us,
        )
        events += [MarketEvent.of(quote), MarketEvent.of(trade)]
    return events


def signal_templates() -> list[dict[str, Any]]:
    """Wire-form signals over every account, symbol and side: IOC limits at the far touch,
    so each fills at once; alternating sides keep positions near zero."""
    templates = []
    for account, symbol, side in itertools.product(ACCOUNTS, MIDS, ("buy", "sell")):
        mid = MIDS[symbol]
        raw = {
            "signal_id": "template",
            "strategy_id": "bench",
            "account_id": account,
            "symbol": symbol,
            "side": side,
            "quantity": QUANTITY,
            "order_type": "limit",
            "price": mid + SPREAD if side == "buy" else mid - SPREAD,
            "time_in_force": "IOC",
            "created_at": wall_clock_us(),
        }
        templates.append(wire_signal(raw))
    return templates
