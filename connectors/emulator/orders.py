"""Binance orders in and out: a request's parameters, the order the emulator keeps, its JSON.

A Binance order becomes one slice for the simulated venue (`to_slice`): MARKET a market order,
LIMIT a limit order with its time in force, LIMIT_MAKER a post-only GTC limit, STOP_LOSS a stop
and STOP_LOSS_LIMIT a stop-limit at `stopPrice` (Binance's stop loss: a buy triggers when the
market trades at or above it, a sell at or below), and a LIMIT or LIMIT_MAKER with `icebergQty`
an iceberg showing that much at a time (Binance allows it on GTC orders only). The venue's
reports come back as fills and a status (`EmulatedOrder.apply`), and the order renders as
Binance's order object, its `fills`, and its rows of myTrades. Quantities and prices stay exact
decimals; times are µs inside and ms on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from fillstream.connectors.emulator.errors import BinanceError, bad_parameter, mandatory
from fillstream.connectors.simvenue.exact import EXACT
from fillstream.schemas.decimals import format_decimal
from fillstream.schemas.models import (
    ExecType,
    ExecutionReport,
    Liquidity,
    OrderStatus,
    OrderType,
    Side,
    Slice,
    SliceAction,
    TimeInForce,
)

__all__ = [
    "ORDER_TYPES",
    "EmulatedOrder",
    "Fill",
    "OrderRequest",
    "Status",
    "ms",
    "parse_order_request",
    "text",
    "to_slice",
]

_CLIENT_ORDER_ID = re.compile(r"[.A-Za-z0-9:/_-]{1,36}")
_TYPES = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
}
ORDER_TYPES = tuple(_TYPES)  # what exchangeInfo lists
_PRICED = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT"})
_WITH_TIME_IN_FORCE = frozenset({"LIMIT", "STOP_LOSS_LIMIT"})
_STOPS = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT"})
_ICEBERG_TYPES = frozenset({"LIMIT", "LIMIT_MAKER"})
_RESPONSE_TYPES = frozenset({"ACK", "RESULT", "FULL"})
_ZERO = Decimal(0)


class Status(StrEnum):
    """Binance's order statuses."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


_OPEN = frozenset({Status.NEW, Status.PARTIALLY_FILLED})
_ENDINGS = {
    OrderStatus.CANCELLED: Status.CANCELED,
    OrderStatus.EXPIRED: Status.EXPIRED,
    OrderStatus.REJECTED: Status.REJECTED,
}


def text(value: Decimal) -> str:
    """Wire text of an exact amount: plain notation without trailing zeros (`618.28`)."""
    return format_decimal(value.normalize(EXACT))


def ms(timestamp_us: int) -> int:
    """Binance's wire time (ms) of an internal time (µs)."""
    return timestamp_us // 1_000


@dataclass(frozen=True)
class OrderRequest:
    """A new order's parameters, checked as Binance checks them before matching."""

    symbol: str
    side: Side
    type: str
    quantity: Decimal
    price: Decimal | None
    time_in_force: TimeInForce
    client_order_id: str | None
    response_type: str
    stop_price: Decimal | None = None
    iceberg_quantity: Decimal | None = None

    @property
    def rests(self) -> bool:
        """Whether what does not fill at once waits in the book."""
        return self.type in _PRICED and self.time_in_force is TimeInForce.GTC


def parse_order_request(params: Mapping[str, str]) -> OrderRequest:
    """The order `params` ask for; refuse (-1102, -1100, -1115, -1116, -1117) a malformed one."""
    symbol = _required(params, "symbol")
    side = _required(params, "side")
    if side not in ("BUY", "SELL"):
        raise BinanceError(-1117, "Invalid side.")
    kind = _required(params, "type")
    if kind not in _TYPES:
        raise BinanceError(-1116, "Invalid orderType.")
    price = _decimal(params, "price") if kind in _PRICED else None
    stop_price = _decimal(params, "stopPrice") if kind in _STOPS else None
    time_in_force = TimeInForce.GTC
    if kind in _WITH_TIME_IN_FORCE:
        text = _required(params, "timeInForce")
        if text not in ("GTC", "IOC", "FOK"):
            raise BinanceError(-1115, "Invalid timeInForce.")
        time_in_force = TimeInForce(text)
    iceberg = _decimal(params, "icebergQty") if params.get("icebergQty") else None
    if iceberg is not None and kind not in _ICEBERG_TYPES:
        raise BinanceError(-1106, "Parameter 'icebergQty' sent when not required.")
    if iceberg is not None and time_in_force is not TimeInForce.GTC:
        raise BinanceError(-1130, "Data sent for parameter 'timeInForce' is not valid.")
    client_order_id = params.get("newClientOrderId") or None
    if client_order_id is not None and not _CLIENT_ORDER_ID.fullmatch(client_order_id):
        raise bad_parameter("newClientOrderId")
    default_response = "FULL" if kind in ("MARKET", "LIMIT") else "ACK"
    response_type = params.get("newOrderRespType", default_response)
    if response_type not in _RESPONSE_TYPES:
        raise bad_parameter("newOrderRespType")
    return OrderRequest(
        symbol=symbol,
        side=Side(side),
        type=kind,
        quantity=_decimal(params, "quantity"),
        price=price,
        time_in_force=time_in_force,
        client_order_id=client_order_id,
        response_type=response_type,
        stop_price=stop_price,
        iceberg_quantity=iceberg,
    )


def to_slice(
    request: OrderRequest,
    *,
    slice_id: str,
    order_id: str,
    account: str,
    symbol: str,
    venue: str,
    quantity: Decimal,
    sequence: int,
    at: int,
) -> Slice:
    """The venue's slice for `quantity` of `request` (a fill cap may send less than all of it)."""
    iceberg = request.iceberg_quantity
    return Slice(
        slice_id=slice_id,
        order_id=order_id,
        signal_id=order_id,
        account_id=account,
        symbol=symbol,
        venue=venue,
        action=SliceAction.NEW,
        sequence=sequence,
        side=request.side,
        quantity=quantity,
        order_type=OrderType.ICEBERG if iceberg is not None else _TYPES[request.type],
        price=request.price,
        stop_price=request.stop_price,
        display_quantity=None if iceberg is None else min(iceberg, quantity),
        time_in_force=request.time_in_force,
        post_only=request.type == "LIMIT_MAKER",
        created_at=at,
    )


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of an order: a row of myTrades and an entry of create_order's `fills`."""

    trade_id: int
    price: Decimal
    quantity: Decimal
    commission: Decimal
    commission_asset: str
    liquidity: Liquidity
    timestamp: int


@dataclass(eq=False)
class EmulatedOrder:
    """A Binance order as the emulator keeps it: one request, one or more venue slices."""

    order_id: int
    account: str
    request: OrderRequest
    client_order_id: str
    time: int
    status: Status = Status.NEW
    update_time: int = 0
    executed: Decimal = _ZERO
    quote: Decimal = _ZERO  # Σ quantity × price of the fills
    fills: list[Fill] = field(default_factory=list)
    locked: Decimal = _ZERO  # what the order still has locked in the asset it pays
    held: Decimal = _ZERO  # quantity a fill cap keeps from the venue for now
    live_slice: Slice | None = None
    slices: int = 0  # how many slices it has sent
    lost: bool = False  # a fault made the exchange forget it
    reason: str | None = None  # why the venue rejected it

    @property
    def is_open(self) -> bool:
        return self.status in _OPEN

    def apply(self, report: ExecutionReport) -> None:
        """Take the venue's report on this order's live slice (its fill is booked by the caller)."""
        self.update_time = report.timestamp
        if report.exec_type in (ExecType.FILL, ExecType.PARTIAL_FILL):
            assert report.last_price is not None
            self.executed += report.last_quantity
            self.quote += report.last_quantity * report.last_price
        slice_ended = report.status in (OrderStatus.FILLED, *_ENDINGS)
        if slice_ended:
            self.live_slice = None
        if report.status is OrderStatus.REJECTED:
            self.reason = report.reason
        if self.executed == self.request.quantity:
            self.status = Status.FILLED
        elif slice_ended and (report.status in _ENDINGS or not self.request.rests):
            # A capped IOC or market order ends with its slice; a capped resting one waits.
            self.status = _ENDINGS.get(report.status, Status.EXPIRED)
            self.held = _ZERO
        elif self.executed > 0:
            self.status = Status.PARTIALLY_FILLED

    def render(self) -> dict[str, Any]:
        """Binance's order object."""
        request = self.request
        return {
            "symbol": request.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": text(request.price or _ZERO),
            "origQty": text(request.quantity),
            "executedQty": text(self.executed),
            "cummulativeQuoteQty": text(self.quote),
            "status": self.status.value,
            "timeInForce": request.time_in_force.value,
            "type": request.type,
            "side": request.side.value.upper(),
            "stopPrice": text(request.stop_price or _ZERO),
            "icebergQty": text(request.iceberg_quantity or _ZERO),
            "time": ms(self.time),
            "updateTime": ms(self.update_time or self.time),
            "isWorking": True,
            "workingTime": ms(self.time),
            "origQuoteOrderQty": "0",
            "selfTradePreventionMode": "NONE",
        }

    def render_ack(self) -> dict[str, Any]:
        """create_order's answer for `newOrderRespType` ACK, RESULT or FULL."""
        ack = {
            "symbol": self.request.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "transactTime": ms(self.time),
        }
        if self.request.response_type == "ACK":
            return ack
        result = self.render() | ack
        del result["time"], result["updateTime"]
        if self.request.response_type == "FULL":
            result["fills"] = [
                {
                    "price": text(fill.price),
                    "qty": text(fill.quantity),
                    "commission": text(fill.commission),
                    "commissionAsset": fill.commission_asset,
                    "tradeId": fill.trade_id,
                }
                for fill in self.fills
            ]
        return result

    def render_trade(self, fill: Fill) -> dict[str, Any]:
        """One row of myTrades."""
        return {
            "symbol": self.request.symbol,
            "id": fill.trade_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "price": text(fill.price),
            "qty": text(fill.quantity),
            "quoteQty": text(fill.quantity * fill.price),
            "commission": text(fill.commission),
            "commissionAsset": fill.commission_asset,
            "time": ms(fill.timestamp),
            "isBuyer": self.request.side is Side.BUY,
            "isMaker": fill.liquidity is Liquidity.MAKER,
            "isBestMatch": True,
        }


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise mandatory(name)
    return value


def _decimal(params: Mapping[str, str], name: str) -> Decimal:
    text = _required(params, name)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise bad_parameter(name) from None
    if not value.is_finite() or value <= 0:
        raise BinanceError(-1013, f"Invalid {name}.")
    return value
