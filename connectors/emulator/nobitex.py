"""The emulator's Nobitex dialect: Nobitex's REST paths, token and JSON over the same exchange.

The exchange core (`exchange.py`) speaks Binance's parameters and answers; this module
translates each Nobitex request into them and each answer back, so orders, matching, balances
and faults are the very ones the Binance dialect serves. `create_app(..., dialect="nobitex")`
selects it.

What it serves, as nobitex/docs-api describes it:
- public: `GET /v2/options` (the markets' precisions and minimums), `GET /v3/orderbook/{SYMBOL}`,
  `GET /v2/trades/{SYMBOL}`, `GET /market/stats`;
- private, with `Authorization: Token <api key>` (an unknown or missing token: HTTP 401,
  `{"detail": ...}`): `GET /users/wallets/list`, `POST /market/orders/add` (limit and market),
  `POST /market/orders/status`, `POST /market/orders/update-status` (cancel),
  `GET /market/orders/list`, `POST /market/orders/cancel-old`, `GET /market/trades/list`.
POST bodies are JSON. Refusals are `{"status": "failed", "code", "message"}`, HTTP 200, with
the documented codes; an unknown order is `NotFound` (HTTP 404) and a cancel of an order no
longer open `InvalidOrderStatus`, where the documentation names no code.

Units: a market quoted in IRT (tomans in the core, as the gateway's client counts them) is
`rls` on the wire, every IRT amount in rials. A client order id is found by
`orders/status` and `update-status` only while its order is open, as at Nobitex.

Not emulated: stop orders (`FeatureUnavailable`), OCO, `DuplicateOrder` (the ten-second check
on equal orders) and pagination beyond one page; a client order id is refused as a duplicate
for as long as the exchange remembers it, not only while its order is open.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from fillstream.connectors.emulator.errors import BinanceError
from fillstream.connectors.emulator.exchange import Exchange
from fillstream.connectors.gateway.nobitex import tomans_to_rials
from fillstream.schemas.decimals import format_decimal

__all__ = ["refused", "routes", "too_many_requests"]

_IRT, _RIAL = "IRT", "rls"
_OPEN = frozenset({"NEW", "PARTIALLY_FILLED"})
_STATUSES = {"NEW": "Active", "PARTIALLY_FILLED": "Active", "FILLED": "Done"}  # else Canceled
_ORDER_PAGE, _TRADE_PAGE, _MAX_PAGE = 100, 30, 100

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Answer = Callable[[Exchange, str, dict[str, str]], dict[str, Any]]


class NobitexRefusal(Exception):
    """A refusal answered as Nobitex's `{"status": "failed", "code", "message"}`."""

    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def response(self) -> web.Response:
        body = {"status": "failed", "code": self.code, "message": self.message}
        return web.json_response(body, status=self.status)


def too_many_requests(status: int) -> web.Response:
    """Nobitex's rate-limit answer (the fault `429`, or `418` for a ban)."""
    body = {
        "status": "failed",
        "code": "TooManyRequests",
        "message": "Too many requests. Please wait 1 seconds.",
        "backOff": 1,
        "limit": 60,
    }
    return web.json_response(body, status=status)


def routes(exchange: Exchange) -> list[web.RouteDef]:
    """The dialect's endpoints over `exchange`."""
    return [
        web.get("/v2/options", _public(exchange, _options)),
        web.get("/v3/orderbook/{symbol}", _public(exchange, _order_book)),
        web.get("/v2/trades/{symbol}", _public(exchange, _trades)),
        web.get("/market/stats", _public(exchange, _stats)),
        web.get("/users/wallets/list", _private(exchange, _wallets)),
        web.post("/market/orders/add", _private(exchange, _add_order)),
        web.post("/market/orders/status", _private(exchange, _order_status)),
        web.post("/market/orders/update-status", _private(exchange, _update_status)),
        web.get("/market/orders/list", _private(exchange, _list_orders)),
        web.post("/market/orders/cancel-old", _private(exchange, _cancel_old)),
        web.get("/market/trades/list", _private(exchange, _my_trades)),
    ]


# -- the shell: parameters in, Nobitex's answers and refusals out ----------------------------


def _public(exchange: Exchange, answer: Answer) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await _answer(exchange, "", request, answer)

    return handle


def _private(exchange: Exchange, answer: Answer) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Token" or not token:
            return _unauthorized("Authentication credentials were not provided.")
        try:
            exchange.secret_of(token)
        except BinanceError:
            return _unauthorized("Invalid token.")
        return await _answer(exchange, token, request, answer)

    return handle


async def _answer(
    exchange: Exchange, token: str, request: web.Request, answer: Answer
) -> web.StreamResponse:
    params = {**request.query, **request.match_info}
    if request.method == "POST":
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return NobitexRefusal("ParseError", "send a JSON object", 400).response()
        params |= {key: str(value) for key, value in body.items() if value is not None}
    try:
        return web.json_response({"status": "ok", **answer(exchange, token, params)})
    except NobitexRefusal as refusal:
        return refusal.response()
    except BinanceError as error:
        return refused(error)


def _unauthorized(detail: str) -> web.Response:
    return web.json_response({"detail": detail}, status=401)


def refused(error: BinanceError) -> web.Response:
    """The core's Binance refusal as Nobitex answers it."""
    return _refusal(error).response()


def _refusal(error: BinanceError) -> NobitexRefusal:
    """The core's Binance refusal as Nobitex words it."""
    message = error.msg
    match error.code:
        case -2010 if "insufficient balance" in message:
            return NobitexRefusal("OverValueOrder", message)
        case -2010 if "Duplicate order" in message:
            return NobitexRefusal("DuplicateClientOrderId", message)
        case -1013 if "NOTIONAL" in message or "LOT_SIZE" in message:
            return NobitexRefusal("SmallOrder", message)
        case -1013:
            return NobitexRefusal("InvalidOrderPrice", message)
        case -2011 | -2013:
            return NobitexRefusal("NotFound", "Order not found", 404)
        case -1121:
            return NobitexRefusal("InvalidMarketPair", message)
        case -1100 | -1102 | -1115 | -1116 | -1117:
            return NobitexRefusal("ParseError", message, 400)
        case _:
            return NobitexRefusal("InvalidOrder", message)


# -- markets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pair:
    """A listed market as Nobitex names it: `BTCIRT`, `btc` and `rls`."""

    symbol: str  # the core's (Binance's) name, which is also Nobitex's: BTCIRT
    base: str
    quote: str
    tick: Decimal
    lot: Decimal
    min_notional: Decimal

    @property
    def src(self) -> str:
        return self.base.lower()

    @property
    def dst(self) -> str:
        return _RIAL if self.quote == _IRT else self.quote.lower()

    @property
    def name(self) -> str:
        """The `market` field of orders and trades: BTC-RLS."""
        return f"{self.base}-{self.dst.upper()}"

    def wire(self, amount: str | Decimal) -> str:
        """A quote amount (price, total, fee) in Nobitex's units."""
        text = amount if isinstance(amount, str) else format_decimal(amount)
        return tomans_to_rials(text) if self.quote == _IRT else text

    def core(self, amount: str) -> str:
        """A wire quote amount in the core's units."""
        value = Decimal(amount)
        return format_decimal(value.scaleb(-1) if self.quote == _IRT else value)


def _pairs(exchange: Exchange) -> list[_Pair]:
    pairs = []
    for listed in exchange.exchange_info()["symbols"]:
        filters = {entry["filterType"]: entry for entry in listed["filters"]}
        pairs.append(
            _Pair(
                listed["symbol"],
                listed["baseAsset"],
                listed["quoteAsset"],
                Decimal(filters["PRICE_FILTER"]["tickSize"]),
                Decimal(filters["LOT_SIZE"]["stepSize"]),
                Decimal(filters["NOTIONAL"]["minNotional"]),
            )
        )
    return pairs


def _pair_named(exchange: Exchange, symbol: str) -> _Pair:
    for pair in _pairs(exchange):
        if pair.symbol == symbol.upper():
            return pair
    raise NobitexRefusal("InvalidMarketPair", f"no market {symbol}")


def _pairs_of(exchange: Exchange, params: Mapping[str, str]) -> list[_Pair]:
    """The markets `srcCurrency` and `dstCurrency` (each optional, comma-separated) name."""
    src = params.get("srcCurrency")
    dst = params.get("dstCurrency")
    return [
        pair
        for pair in _pairs(exchange)
        if (not src or pair.src in src.lower().split(","))
        and (not dst or pair.dst in dst.lower().split(","))
    ]


def _options(exchange: Exchange, token: str, params: dict[str, str]) -> dict[str, Any]:
    """`v2/options`, its markets part: one minimum per quote currency, as Nobitex has."""
    pairs = _pairs(exchange)
    minimums: dict[str, Decimal] = {}
    for pair in pairs:
        low = Decimal(pair.wire(pair.min_notional))
        minimums[pair.dst] = max(minimums.get(pair.dst, low), low)
    return {
        "nobitex": {
            "allCurrencies": sorted({pair.src for pair in pairs} | set(minimums)),
            "minOrders": {dst: format_decimal(low) for dst, low in minimums.items()},
            "amountPrecisions": {pair.symbol: format_decimal(pair.lot) for pair in pairs},
            "pricePrecisions": {pair.symbol: pair.wire(pair.tick) for pair in pairs},
        }
    }


def _order_book(exchange: Exchange, token: str, params: dict[str, str]) -> dict[str, Any]:
    pair = _pair_named(exchange, params["symbol"])
    depth = exchange.depth({"symbol": pair.symbol, "limit": params.get("limit", "100")})
    last = exchange.ticker({"symbol": pair.symbol})["lastPrice"]
    return {
        "lastUpdate": exchange.now // 1_000,
        "lastTradePrice": pair.wire(last),
        "asks": [[pair.wire(price), amount] for price, amount in depth["asks"]],
        "bids": [[pair.wire(price), amount] for price, amount in depth["bids"]],
    }


def _trades(exchange: Exchange, token: str, params: dict[str, str]) -> dict[str, Any]:
    pair = _pair_named(exchange, params["symbol"])
    prints = exchange.agg_trades({"symbol": pair.symbol})
    return {
        "trades": [
            {
                "time": row["T"],
                "price": pair.wire(row["p"]),
                "volume": row["q"],
                "type": "sell" if row["m"] else "buy",
            }
            for row in reversed(prints)  # newest first
        ]
    }


def _stats(exchange: Exchange, token: str, params: dict[str, str]) -> dict[str, Any]:
    stats = {}
    for pair in _pairs_of(exchange, params):
        day = exchange.ticker({"symbol": pair.symbol})
        stats[f"{pair.src}-{pair.dst}"] = {
            "isClosed": False,
            "bestSell": pair.wire(day["askPrice"]),
            "bestBuy": pair.wire(day["bidPrice"]),
            "volumeSrc": day["volume"],
            "volumeDst": pair.wire(day["quoteVolume"]),
            "latest": pair.wire(day["lastPrice"]),
            "mark": pair.wire(day["lastPrice"]),
            "dayLow": pair.wire(day["lowPrice"]),
            "dayHigh": pair.wire(day["highPrice"]),
            "dayOpen": pair.wire(day["openPrice"]),
            "dayClose": pair.wire(day["lastPrice"]),
            "dayChange": day["priceChangePercent"],
        }
    return {"stats": stats}


# -- account -----------------------------------------------------------------------------


def _wallets(exchange: Exchange, token: str, params: dict[str, str]) -> dict[str, Any]:
    wallets = []
    for number, row in enumerate(exchange.account(token)["balances"], start=1):
        free, locked = Decimal(row["free"]), Decimal(row["locked"])
        rial = row["asset"] == _IRT

        def wire(amount: Decimal, rial: bool = rial) -> str:
            return tomans_to_rials(format_decimal(amount)) if rial else format_decimal(amount)

        wallets.append(
            {
                "id": number,
                "currency": _RIAL if rial else row["asset"].lower(),
                "balance": wire(free + locked),
                "blockedBalance": wire(locked),
                "activeBalance": wire(free),
            }
        )
    return {"wallets": wallets}


# -- orders ------------------------------------------------------------------------------


def _add_order(exchange: Exchange, token: str, params: dict[str, str]) -> dict[str, Any]:
    pairs = [
        pair
        for pair in _pairs(exchange)
        if pair.src == params.get("srcCurrency", "").lower()
        and pair.dst == params.get("dstCurrency", "").lower()
    ]
    if not pairs:
        raise NobitexRefusal("InvalidMarketPair", "no such market")
    (pair,) = pairs
    execution = params.get("execution", "limit")
    if execution not in ("limit", "market"):
        raise NobitexRefusal("FeatureUnavailable", f"the emulator has no {execution} orders")
    side = params.get("type", "")
    if side not in ("buy", "sell"):
        raise NobitexRefusal("ParseError", "type must be buy or sell", 400)
    request = {
        "symbol": pair.symbol,
        "side": side.upper(),
        "type": execution.upper(),
        "quantity": params.get("amount", ""),
        "newOrderRespType": "ACK",
    }
    if execution == "limit":
        if not params.get("price"):
            raise NobitexRefusal("InvalidOrderPrice", "a limit order needs a price")
        request |= {"price": pair.core(params["price"]), "timeInForce": "GTC"}
    if params.get("clientOrderId"):
        request["newClientOrderId"] = params["clientOrderId"]
    placed = exchange.create_order(token, request)
    return {"order": _render(exchange, token, pair, placed["orderId"])}


def _order_status(exchange: Exchange, token: str, params: dict[str, str]) -> dict[str, Any]:
    pair, order = _find(exchange, token, params, "id")
    return {"order": _render(exchange, token, pair, order["orderId"])}


def _update_status(exchange: Exchange, token: str, params: dict[str, str]) -> dict[str, Any]:
    if params.get("status") != "canceled":
        raise NobitexRefusal("InvalidOrderStatus", "the emulator only cancels orders")
    pair, order = _find(exchange, token, params, "order")
    if order["status"] not in _OPEN:
        raise NobitexRefusal("InvalidOrderStatus", "the order is no longer open")
    exchange.cancel_order(token, {"symbol": pair.symbol, "orderId": str(order["orderId"])})
    rendered = _render(exchange, token, pair, order["orderId"])
    return {"updatedStatus": rendered["status"], "order": rendered}


def _find(
    exchange: Exchange, token: str, params: Mapping[str, str], id_field: str
) -> tuple[_Pair, dict[str, Any]]:
    """The order named by `id_field` (any state) or `clientOrderId` (open orders only)."""
    order_id, client_order_id = params.get(id_field), params.get("clientOrderId")
    if not order_id and not client_order_id:
        raise NobitexRefusal("NullIdAndClientOrderId", "send id or clientOrderId")
    lookup = {"orderId": order_id} if order_id else {"origClientOrderId": client_order_id}
    for pair in _pairs(exchange):
        try:
            order = exchange.get_order(token, {"symbol": pair.symbol, **lookup})
        except BinanceError:
            continue
        if order_id or order["status"] in _OPEN:
            return pair, order
    raise NobitexRefusal("NotFound", "Order not found", 404)


def _list_orders(exchange: Exchange, token: str, params: dict[str, str]) -> dict[str, Any]:
    status = params.get("status", "open")
    rows = [
        (pair, order)
        for pair in _pairs_of(exchange, params)
        for order in (
            exchange.open_orders(token, {"symbol": pair.symbol})
            if status == "open"
            else exchange.all_orders(token, {"symbol": pair.symbol})
        )
        if status != "close" or order["status"] not in _OPEN
        if status != "done" or Decimal(order["executedQty"]) > 0
    ]
    rows.sort(key=lambda row: row[1]["orderId"], reverse=params.get("order", "-id") == "-id")
    rows = rows[: _page_size(params, _ORDER_PAGE)]
    return {"orders": [_render(exchange, token, pair, order["orderId"]) for pair, order in rows]}


def _cancel_old(exchange: Exchange, token: str, params: dict[str, str]) -> dict[str, Any]:
    for pair in _pairs_of(exchange, params):
        if exchange.open_orders(token, {"symbol": pair.symbol}):
            exchange.cancel_open_orders(token, {"symbol": pair.symbol})
    return {}


def _my_trades(exchange: Exchange, token: str, params: dict[str, str]) -> dict[str, Any]:
    from_id = int(params["fromId"]) if params.get("fromId") else 0
    rows = [
        (pair, trade)
        for pair in _pairs_of(exchange, params)
        for trade in exchange.my_trades(token, {"symbol": pair.symbol, "limit": "1000"})
        if trade["id"] >= from_id
    ]
    rows.sort(key=lambda row: row[1]["id"], reverse=True)  # newest first
    size = _page_size(params, _TRADE_PAGE)
    return {
        "trades": [_render_trade(pair, trade) for pair, trade in rows[:size]],
        "hasNext": len(rows) > size,
    }


def _page_size(params: Mapping[str, str], default: int) -> int:
    text = params.get("pageSize", "")
    return max(1, min(int(text), _MAX_PAGE)) if text.isdigit() else default


# -- answers -----------------------------------------------------------------------------


def _render(exchange: Exchange, token: str, pair: _Pair, order_id: int) -> dict[str, Any]:
    """Nobitex's order object of the core's order `order_id`."""
    order = exchange.get_order(token, {"symbol": pair.symbol, "orderId": str(order_id)})
    amount, matched = Decimal(order["origQty"]), Decimal(order["executedQty"])
    quote_total = Decimal(order["cummulativeQuoteQty"])
    trades = exchange.my_trades(
        token, {"symbol": pair.symbol, "orderId": str(order_id), "limit": "1000"}
    )
    fee = sum((Decimal(trade["commission"]) for trade in trades), Decimal(0))
    market = order["type"] == "MARKET"
    price = Decimal(order["price"])
    return {
        "id": order["orderId"],
        "type": order["side"].lower(),
        "execution": "Market" if market else "Limit",
        "tradeType": "Spot",
        "market": pair.name,
        "srcCurrency": pair.base,
        "dstCurrency": pair.dst.upper(),
        "price": "market" if market else pair.wire(price),
        "amount": format_decimal(amount),
        "totalPrice": pair.wire(quote_total),
        "totalOrderPrice": pair.wire(quote_total if market else amount * price),
        "matchedAmount": format_decimal(matched),
        "unmatchedAmount": format_decimal(amount - matched),
        "status": _STATUSES.get(order["status"], "Canceled"),
        "partial": 0 < matched < amount,
        "fee": pair.wire(fee) if order["side"] == "SELL" else format_decimal(fee),
        "created_at": _iso(order["time"]),
        "averagePrice": pair.wire(quote_total / matched if matched else Decimal(0)),
        "clientOrderId": order["clientOrderId"],
    }


def _render_trade(pair: _Pair, trade: Mapping[str, Any]) -> dict[str, Any]:
    """One row of `market/trades/list`; the fee is in what the trade received."""
    buyer = trade["isBuyer"]
    return {
        "id": trade["id"],
        "orderId": trade["orderId"],
        "srcCurrency": pair.base,
        "dstCurrency": pair.dst.upper(),
        "market": pair.name,
        "timestamp": _iso(trade["time"]),
        "type": "buy" if buyer else "sell",
        "price": pair.wire(trade["price"]),
        "amount": trade["qty"],
        "total": pair.wire(trade["quoteQty"]),
        "fee": trade["commission"] if buyer else pair.wire(trade["commission"]),
    }


def _iso(ms: int) -> str:
    """Nobitex's timestamps: ISO 8601 with microseconds and the UTC offset."""
    at = datetime.fromtimestamp(ms // 1_000, UTC).replace(microsecond=ms % 1_000 * 1_000)
    return at.isoformat(timespec="microseconds")
