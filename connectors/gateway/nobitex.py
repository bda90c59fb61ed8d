"""Nobitex (nobitex.ir) as a ccxt exchange, written from its API documentation (nobitex/docs-api).

ccxt has no Nobitex exchange, so this class gives the gateway one with ccxt's unified methods
and exceptions: the adapter, the error policy and the tracker use it as they use Binance.

**Authentication** is a token, sent as `Authorization: Token <token>` on every private call;
nothing is signed, so the token is the client's `apiKey` and its `secret` is not used.

**Symbols.** Nobitex names its spot markets `BTCIRT` and `BTCUSDT` (`btc-rls`, `btc-usdt` in
its statistics); they are `BTC/IRT` and `BTC/USDT` here. An order names the market by its
currencies, `srcCurrency=btc`, `dstCurrency=rls` or `usdt`.

**Units.** Nobitex's wire prices, balances, fees and minimums of the rial markets are in rials
(`rls`); the unified currency `IRT` is the toman, ten rials, as Nobitex's own market names
and its site show prices. Every IRT amount is converted at this edge, exactly (a power of ten:
`rials_to_tomans`, `tomans_to_rials`), so `BTC/IRT` prices, tick sizes, balances and fees all
speak tomans and no caller ever meets a rial. USDT amounts pass unchanged.

**Client order ids.** `market/orders/add` takes a `clientOrderId` (up to 32 characters,
unique among the account's open orders), and `market/orders/status` finds an order by it, but
only while it is open. `fetch_order(None, symbol, {"clientOrderId": id})` therefore asks
`orders/status` first and, when that answers "not found", looks for the id among the market's
latest orders (`market/orders/list?status=all`, newest first, one page of 100): an order that
filled at once is found there, which is what the gateway's look-up after an unknown-fate send
needs. Every create with a client order id is sent in Nobitex's `pro` mode, which turns off
its "same order within ten seconds" refusal: the client order id is the deduplication, and two
slices of equal size and price are two orders.

**Orders.** Limit and market; a `triggerPrice` (or `stopPrice`) param makes them stop-limit
and stop-market (Nobitex's `stop_limit`, `stop_market`). Nobitex has no time in force other
than good-till-cancelled and no post-only flag: IOC, FOK and post-only are refused as
`InvalidOrder` before any request.

**Errors.** Nobitex answers a refusal as `{"status": "failed", "code", "message"}`, mostly with
HTTP 200; `_ERRORS` maps its codes to ccxt's exceptions, so `errors.classify` decides as for any
venue. The documentation names no code for an unknown order; `NotFound` (HTTP 404, as the
general notes describe 404) is taken as `OrderNotFound`, and so is `InvalidOrderStatus`, the
refusal to cancel an order that is no longer open (Binance's -2011 means the same).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import ccxt
from ccxt.async_support.base.exchange import Exchange
from ccxt.base.decimal_to_precision import TICK_SIZE

from fillstream.schemas.decimals import format_decimal

__all__ = ["Nobitex", "error_for", "rials_to_tomans", "tomans_to_rials"]

_IRT, _RIAL = "IRT", "rls"
_QUOTES = ("IRT", "USDT")  # Nobitex's market ids end with one of these
_STATUSES = {
    "New": "open",
    "Active": "open",
    "Inactive": "open",  # a stop order not yet triggered
    "Done": "closed",
    "Canceled": "canceled",
}
_TYPES = {
    "Limit": ("limit", False),
    "Market": ("market", False),
    "StopLimit": ("limit", True),
    "StopMarket": ("market", True),
}
_ERRORS: dict[str, type[ccxt.BaseError]] = {
    "InvalidOrderPrice": ccxt.InvalidOrder,
    "BadPrice": ccxt.InvalidOrder,
    "PriceConditionFailed": ccxt.InvalidOrder,
    "SmallOrder": ccxt.InvalidOrder,
    "OverValueOrder": ccxt.InsufficientFunds,
    "DuplicateOrder": ccxt.DuplicateOrderId,
    "DuplicateClientOrderId": ccxt.DuplicateOrderId,
    "InvalidMarketPair": ccxt.BadSymbol,
    "MarketClosed": ccxt.MarketClosed,
    "TradingUnavailable": ccxt.PermissionDenied,
    "FeatureUnavailable": ccxt.NotSupported,
    "NullIdAndClientOrderId": ccxt.ArgumentsRequired,
    "NotFound": ccxt.OrderNotFound,
    "InvalidOrderStatus": ccxt.OrderNotFound,
    "TooManyRequests": ccxt.RateLimitExceeded,
}
_HTTP_ERRORS: dict[int, type[ccxt.BaseError]] = {
    401: ccxt.AuthenticationError,  # no token, or one expired or logged out
    403: ccxt.AuthenticationError,
    429: ccxt.RateLimitExceeded,
}
_LOOKUP_PAGE = 100  # the most orders Nobitex lists in one page


def error_for(http_status: int, answer: Any) -> type[ccxt.BaseError] | None:
    """The ccxt exception for a Nobitex answer, or None when it is no refusal. An answer
    that is not Nobitex's JSON (an HTML 503, an empty 502) is left to ccxt's HTTP table."""
    if not isinstance(answer, dict):
        return None
    code = answer.get("code")
    if answer.get("status") == "failed" and isinstance(code, str):
        return _ERRORS.get(code, _HTTP_ERRORS.get(http_status, ccxt.ExchangeError))
    return _HTTP_ERRORS.get(http_status)


def rials_to_tomans(amount: str | None) -> str | None:
    """An amount of rials in tomans (ten rials), exactly: the decimal point moves."""
    return None if amount is None else format_decimal(Decimal(amount).scaleb(-1).normalize())


def tomans_to_rials(amount: str) -> str:
    """An amount of tomans in rials, exactly."""
    return format_decimal(Decimal(amount).scaleb(1).normalize())


class Nobitex(Exchange):
    """The Nobitex spot exchange for `ccxt.async_support` (see the module docstring)."""

    # Per-endpoint costs against `rateLimit` (200 ms: the order book's 300 calls a minute),
    # from the documented limits: orders/add shares 300 calls per 10 minutes, the wallet
    # list allows 20 per 2 minutes, and so on.
    _COSTS: ClassVar[dict[str, dict[str, dict[str, float]]]] = {
        "public": {
            "get": {
                "v2/options": 1,
                "v3/orderbook/{symbol}": 1,
                "v2/trades/{symbol}": 5,
                "market/stats": 15,
            },
        },
        "private": {
            "get": {
                "users/wallets/list": 30,
                "market/orders/list": 10,
                "market/trades/list": 10,
            },
            "post": {
                "market/orders/add": 10,
                "market/orders/status": 1,
                "market/orders/update-status": 3.4,
                "market/orders/cancel-old": 10,
            },
        },
    }

    def describe(self) -> dict[str, Any]:
        return self.deep_extend(
            super().describe(),
            {
                "id": "nobitex",
                "name": "Nobitex",
                "countries": ["IR"],
                "rateLimit": 200,
                "version": "v2",
                "pro": False,
                "has": {
                    "spot": True,
                    "margin": False,
                    "swap": False,
                    "future": False,
                    "option": False,
                    "cancelAllOrders": True,
                    "cancelOrder": True,
                    "createOrder": True,
                    "createStopLimitOrder": True,
                    "createStopMarketOrder": True,
                    "fetchBalance": True,
                    "fetchCurrencies": False,
                    "fetchMarkets": True,
                    "fetchMyTrades": True,
                    "fetchOpenOrders": True,
                    "fetchOrder": True,
                    "fetchOrderBook": True,
                    "fetchTicker": True,
                    "fetchTrades": True,
                },
                "urls": {
                    "api": {
                        "public": "https://apiv2.nobitex.ir",
                        "private": "https://apiv2.nobitex.ir",
                    },
                    "test": {
                        "public": "https://testnetapiv2.nobitex.ir",
                        "private": "https://testnetapiv2.nobitex.ir",
                    },
                    "www": "https://nobitex.ir",
                    "doc": ["https://apidocs.nobitex.ir", "https://github.com/nobitex/docs-api"],
                },
                "api": self._COSTS,
                "requiredCredentials": {"apiKey": True, "secret": False},
                "precisionMode": TICK_SIZE,
                "commonCurrencies": {"RLS": _IRT},
            },
        )

    # -- requests ------------------------------------------------------------------------

    def sign(
        self,
        path: str,
        api: Any = "public",
        method: str = "GET",
        params: dict[str, Any] | None = None,
        headers: Any = None,
        body: Any = None,
    ) -> dict[str, Any]:
        """The request: GET parameters in the query, POST ones as a JSON body, and the
        token header on private calls."""
        params = params or {}
        section = api[0] if isinstance(api, list) else api
        url = f"{self.urls['api'][section]}/{self.implode_params(path, params)}"
        query = self.omit(params, self.extract_params(path))
        headers = {}
        if method == "GET":
            if query:
                url += "?" + self.urlencode(query)
        else:
            body = self.json(query)
            headers["Content-Type"] = "application/json"
        if section == "private":
            self.check_required_credentials()
            headers["Authorization"] = f"Token {self.apiKey}"
        return {"url": url, "method": method, "body": body, "headers": headers}

    def handle_errors(
        self,
        code: int,
        reason: str,
        url: str,
        method: str,
        headers: Any,
        body: str,
        response: Any,
        request_headers: Any,
        request_body: Any,
    ) -> None:
        error = error_for(code, response)
        if error is not None:
            raise error(f"{self.id} {body}")

    async def _call(
        self, api: str, method: str, path: str, params: dict[str, Any] | None = None
    ) -> Any:
        return await self.request(
            path, api, method, params or {}, {"cost": self._cost(api, method, path)}
        )

    def _cost(self, api: str, method: str, path: str) -> float:
        return self._COSTS[api][method.lower()][path]

    # -- markets and public data ---------------------------------------------------------

    async def fetch_markets(self, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every spot market `v2/options` gives a price and an amount precision."""
        options = await self._call("public", "GET", "v2/options", params)
        return self.parse_markets_from_options(options)

    def parse_markets_from_options(self, options: dict[str, Any]) -> list[dict[str, Any]]:
        settings = options.get("nobitex") or {}
        amounts = settings.get("amountPrecisions") or {}
        prices = settings.get("pricePrecisions") or {}
        minimums = settings.get("minOrders") or {}
        markets = []
        for market_id in sorted(amounts.keys() & prices.keys()):
            quote = next((q for q in _QUOTES if market_id.endswith(q)), None)
            if quote is None or market_id == quote:
                continue
            base_id = market_id[: -len(quote)].lower()
            quote_id = _RIAL if quote == _IRT else quote.lower()
            base = self.safe_currency_code(base_id.upper())
            markets.append(
                self.safe_market_structure(
                    {
                        "id": market_id,
                        "symbol": f"{base}/{quote}",
                        "base": base,
                        "quote": quote,
                        "baseId": base_id,
                        "quoteId": quote_id,
                        "type": "spot",
                        "spot": True,
                        "active": True,
                        "precision": {
                            "amount": self.parse_number(amounts[market_id]),
                            "price": self.parse_number(self._unified(quote, prices[market_id])),
                        },
                        "limits": {
                            "cost": {
                                "min": self.parse_number(
                                    self._unified(quote, minimums.get(quote_id))
                                ),
                            },
                        },
                        "info": {"id": market_id},
                    }
                )
            )
        return markets

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        await self.load_markets()
        market = self.market(symbol)
        answer = await self._call(
            "public", "GET", "v3/orderbook/{symbol}", {"symbol": market["id"], **(params or {})}
        )
        return self.parse_nobitex_order_book(answer, market, limit)

    def parse_nobitex_order_book(
        self, answer: dict[str, Any], market: dict[str, Any], limit: int | None = None
    ) -> dict[str, Any]:
        sides = {
            side: [[self._unified(market["quote"], price), amount] for price, amount in rows]
            for side, rows in (
                ("bids", answer.get("bids") or []),
                ("asks", answer.get("asks") or []),
            )
        }
        timestamp = self.safe_integer(answer, "lastUpdate")
        book = self.parse_order_book(sides, market["symbol"], timestamp)
        if limit is not None:
            book["bids"], book["asks"] = book["bids"][:limit], book["asks"][:limit]
        return book

    async def fetch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        await self.load_markets()
        market = self.market(symbol)
        answer = await self._call(
            "public", "GET", "v2/trades/{symbol}", {"symbol": market["id"], **(params or {})}
        )
        return self.parse_trades(answer.get("trades") or [], market, since, limit)

    async def fetch_ticker(
        self, symbol: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        await self.load_markets()
        market = self.market(symbol)
        request = {"srcCurrency": market["baseId"], "dstCurrency": market["quoteId"]}
        answer = await self._call("public", "GET", "market/stats", {**request, **(params or {})})
        stats = (answer.get("stats") or {}).get(f"{market['baseId']}-{market['quoteId']}")
        if stats is None:
            raise ccxt.BadSymbol(f"{self.id} has no statistics for {symbol}")
        return self.parse_ticker(stats, market)

    def parse_ticker(self, ticker: dict[str, Any], market: Any = None) -> dict[str, Any]:
        quote = market["quote"]

        def price(key: str) -> str | None:
            return self._unified(quote, self.safe_string(ticker, key))

        return self.safe_ticker(
            {
                "symbol": market["symbol"],
                "timestamp": None,
                "datetime": None,
                "high": price("dayHigh"),
                "low": price("dayLow"),
                "bid": price("bestBuy"),
                "ask": price("bestSell"),
                "open": price("dayOpen"),
                "close": price("dayClose"),
                "last": price("latest"),
                "percentage": self.safe_string(ticker, "dayChange"),
                "baseVolume": self.safe_string(ticker, "volumeSrc"),
                "quoteVolume": price("volumeDst"),
                "info": ticker,
            },
            market,
        )

    # -- account -------------------------------------------------------------------------

    async def fetch_balance(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = await self._call("private", "GET", "users/wallets/list", params)
        return self.parse_nobitex_balance(answer)

    def parse_nobitex_balance(self, answer: dict[str, Any]) -> dict[str, Any]:
        """Nobitex's wallets: `activeBalance` is free, `blockedBalance` used, `balance` the
        total; the rial wallet becomes IRT in tomans."""
        result: dict[str, Any] = {"info": answer}
        for wallet in answer.get("wallets") or []:
            currency_id = self.safe_string_lower(wallet, "currency")
            code = _IRT if currency_id == _RIAL else self.safe_currency_code(currency_id.upper())
            result[code] = {
                "free": self._unified(code, self.safe_string(wallet, "activeBalance")),
                "used": self._unified(code, self.safe_string(wallet, "blockedBalance")),
                "total": self._unified(code, self.safe_string(wallet, "balance")),
            }
        return self.safe_balance(result)

    # -- orders --------------------------------------------------------------------------

    async def create_order(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: float,
        price: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        await self.load_markets()
        market = self.market(symbol)
        request = self.order_request(market, type, side, amount, price, params or {})
        answer = await self._call("private", "POST", "market/orders/add", request)
        return self.parse_order(answer.get("order") or {}, market)

    def order_request(
        self,
        market: dict[str, Any],
        type: str,
        side: str,
        amount: float,
        price: float | None,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        """The body of `market/orders/add`, prices in Nobitex's units; a request Nobitex
        cannot express is refused here (`InvalidOrder`), before anything is sent."""
        params = dict(params)
        time_in_force = params.pop("timeInForce", None)
        if time_in_force not in (None, "GTC") or params.pop("postOnly", False):
            raise ccxt.InvalidOrder(
                f"{self.id} orders are good till cancelled only: no IOC, FOK or post-only"
            )
        if type not in ("limit", "market"):
            raise ccxt.InvalidOrder(f"{self.id} has no {type} orders")
        symbol, quote = market["symbol"], market["quote"]
        trigger = params.pop("triggerPrice", None) or params.pop("stopPrice", None)
        request: dict[str, Any] = {
            "type": side,
            "execution": f"stop_{type}" if trigger is not None else type,
            "srcCurrency": market["baseId"],
            "dstCurrency": market["quoteId"],
            "amount": self.amount_to_precision(symbol, amount),
        }
        if type == "limit":
            if price is None:
                raise ccxt.InvalidOrder(f"{self.id} a limit order needs a price")
            request["price"] = self._wire(quote, self.price_to_precision(symbol, price))
        if trigger is not None:
            request["stopPrice"] = self._wire(quote, self.price_to_precision(symbol, trigger))
        client_order_id = params.pop("clientOrderId", None)
        if client_order_id is not None:
            request["clientOrderId"] = client_order_id
            request["pro"] = "yes"
        return {**request, **params}

    async def fetch_order(
        self, id: str | None, symbol: str | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """By venue id, or by `params["clientOrderId"]` (see the module docstring)."""
        market, params, client_order_id = await self._order_ref(id, symbol, params, "fetch_order")
        request = {"id": int(id)} if id is not None else {"clientOrderId": client_order_id}
        try:
            answer = await self._call(
                "private", "POST", "market/orders/status", {**request, **params}
            )
        except ccxt.OrderNotFound:
            if id is not None or market is None:
                raise
            return await self._find_closed(market, client_order_id)
        return self.parse_order(answer.get("order") or {}, market)

    async def _order_ref(
        self, id: str | None, symbol: str | None, params: dict[str, Any] | None, call: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any], str | None]:
        """The market, the other params and the client order id an order call names; an id
        or a client order id is needed."""
        await self.load_markets()
        market = None if symbol is None else self.market(symbol)
        params = dict(params or {})
        client_order_id = params.pop("clientOrderId", None)
        if id is None and client_order_id is None:
            raise ccxt.ArgumentsRequired(f"{self.id} {call} needs an id or a clientOrderId")
        return market, params, client_order_id

    async def _find_closed(self, market: dict[str, Any], client_order_id: str) -> dict[str, Any]:
        """An order no longer open, by its client order id, among the market's latest."""
        for order in await self._list_orders(market, "all", {"pageSize": _LOOKUP_PAGE}):
            if order.get("clientOrderId") == client_order_id:
                return order
        raise ccxt.OrderNotFound(f"{self.id} order {client_order_id} not found")

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        await self.load_markets()
        market = None if symbol is None else self.market(symbol)
        orders = await self._list_orders(market, "open", params or {})
        return self.filter_by_symbol_since_limit(orders, symbol, since, limit)

    async def _list_orders(
        self, market: dict[str, Any] | None, status: str, params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        request: dict[str, Any] = {"status": status, "details": 2, "order": "-id"}
        if market is not None:
            request |= {"srcCurrency": market["baseId"], "dstCurrency": market["quoteId"]}
        answer = await self._call("private", "GET", "market/orders/list", {**request, **params})
        return [self.parse_order(order, market) for order in answer.get("orders") or []]

    async def cancel_order(
        self, id: str | None, symbol: str | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """By venue id, or by `params["clientOrderId"]` while the order is open."""
        market, params, client_order_id = await self._order_ref(id, symbol, params, "cancel_order")
        request: dict[str, Any] = {"status": "canceled"}
        request |= {"order": int(id)} if id is not None else {"clientOrderId": client_order_id}
        answer = await self._call(
            "private", "POST", "market/orders/update-status", {**request, **params}
        )
        order = answer.get("order") or {"id": id, "status": answer.get("updatedStatus")}
        return self.parse_order(order, market)

    async def cancel_all_orders(
        self, symbol: str | None = None, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """`market/orders/cancel-old` cancels the active orders; it leaves stop orders not yet
        triggered, so those still open afterwards are cancelled one by one."""
        await self.load_markets()
        market = None if symbol is None else self.market(symbol)
        request = (
            {}
            if market is None
            else {"srcCurrency": market["baseId"], "dstCurrency": market["quoteId"]}
        )
        await self._call(
            "private", "POST", "market/orders/cancel-old", {**request, **(params or {})}
        )
        return [
            await self.cancel_order(order["id"], order["symbol"])
            for order in await self._list_orders(market, "open", {})
        ]

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """The account's trades of the last three days (Nobitex keeps no more), newest page;
        `params["orderId"]` keeps one order's, as Nobitex cannot filter by order itself."""
        await self.load_markets()
        market = None if symbol is None else self.market(symbol)
        params = dict(params or {})
        order_id = params.pop("orderId", None)
        request: dict[str, Any] = {"pageSize": _LOOKUP_PAGE}
        if market is not None:
            request |= {"srcCurrency": market["baseId"], "dstCurrency": market["quoteId"]}
        answer = await self._call("private", "GET", "market/trades/list", {**request, **params})
        trades = self.parse_trades(answer.get("trades") or [], market, since, limit)
        if order_id is None:
            return trades
        return [trade for trade in trades if trade["order"] == str(order_id)]

    # -- parsing -------------------------------------------------------------------------

    def parse_order(self, order: dict[str, Any], market: Any = None) -> dict[str, Any]:
        market = self._market_of(order, market)
        quote = market["quote"] if market is not None else None
        kind, is_stop = _TYPES.get(self.safe_string(order, "execution") or "", (None, False))
        price = self.safe_string(order, "price")
        if price == "market":
            kind, price = kind or "market", None
        side = self.safe_string(order, "type")
        filled = self.safe_string(order, "matchedAmount")
        average = self.safe_string(order, "averagePrice")
        fee = self.safe_string(order, "fee")
        received = self._received(market, side)
        return self.safe_order(
            {
                "info": order,
                "id": self.safe_string(order, "id"),
                "clientOrderId": self.safe_string(order, "clientOrderId"),
                "timestamp": self.parse8601(self.safe_string(order, "created_at")),
                "datetime": self.safe_string(order, "created_at"),
                "lastTradeTimestamp": None,
                "status": _STATUSES.get(self.safe_string(order, "status") or ""),
                "symbol": market["symbol"] if market is not None else None,
                "type": kind,
                "timeInForce": "GTC" if kind == "limit" else None,
                "postOnly": False,
                "side": side,
                "price": self._unified(quote, price),
                "triggerPrice": self._unified(quote, self.safe_string(order, "param1"))
                if is_stop
                else None,
                "amount": self.safe_string(order, "amount"),
                "filled": filled,
                "remaining": self.safe_string(order, "unmatchedAmount"),
                "average": None
                if average is None or Decimal(average) == 0
                else self._unified(quote, average),
                "cost": None,
                "fee": None
                if fee is None
                else {
                    "cost": self.parse_number(self._unified(received, fee)),
                    "currency": received,
                },
                "trades": None,
            },
            market,
        )

    def parse_trade(self, trade: dict[str, Any], market: Any = None) -> dict[str, Any]:
        """A public trade (`v2/trades`: time, price, volume, type) or one of the account's
        (`market/trades/list`: id, orderId, timestamp, price, amount, fee)."""
        market = self._market_of(trade, market)
        quote = market["quote"] if market is not None else None
        side = self.safe_string(trade, "type")
        timestamp = self.safe_integer(trade, "time") or self.parse8601(
            self.safe_string(trade, "timestamp")
        )
        fee = self.safe_string(trade, "fee")
        received = self._received(market, side)
        return self.safe_trade(
            {
                "info": trade,
                "id": self.safe_string(trade, "id"),
                "order": self.safe_string(trade, "orderId"),
                "timestamp": timestamp,
                "datetime": self.iso8601(timestamp),
                "symbol": market["symbol"] if market is not None else None,
                "type": None,
                "side": side,
                "takerOrMaker": None,
                "price": self._unified(quote, self.safe_string(trade, "price")),
                "amount": self.safe_string_2(trade, "amount", "volume"),
                "cost": self._unified(quote, self.safe_string(trade, "total")),
                "fee": None
                if fee is None
                else {"cost": self._unified(received, fee), "currency": received},
            },
            market,
        )

    def _market_of(self, row: dict[str, Any], market: Any) -> Any:
        """The market a row names in its `market` field (`BTC-RLS`), else the one asked for."""
        name = self.safe_string(row, "market")
        if name is None or self.markets_by_id is None:
            return market
        base, _, quote = name.upper().partition("-")
        market_id = base + (_IRT if quote == _RIAL.upper() else quote)
        return self.safe_market(market_id, market)

    @staticmethod
    def _received(market: Any, side: str | None) -> str | None:
        """The currency a fee is charged in: what the order receives."""
        if market is None or side is None:
            return None
        return market["base"] if side == "buy" else market["quote"]

    @staticmethod
    def _unified(currency: str | None, amount: str | None) -> str | None:
        """A wire amount of `currency` in unified units: rials become tomans for IRT."""
        return rials_to_tomans(amount) if currency == _IRT else amount

    @staticmethod
    def _wire(currency: str, amount: str) -> str:
        """A unified amount of `currency` in Nobitex's units: tomans become rials for IRT."""
        return tomans_to_rials(amount) if currency == _IRT else amount
